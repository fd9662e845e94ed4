// Chromium's processes as /proc shows them: for the memory checks of the live and load tests.
import { readdirSync, readFileSync } from 'node:fs';

export interface BrowserProcess {
  pid: string;
  /** 'browser', or Chromium's --type: 'gpu-process', 'renderer', 'utility', 'zygote'. */
  type: string;
  rssKB: number;
}

/** The browser started with `marker` on its command line and every process descending from it (through zygotes). */
export function browserProcesses(marker: string): BrowserProcess[] {
  const procs = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        // Chromium's child processes rewrite their argv into one string: read it as one line either way.
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        const ppid = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1];
        const rssKB = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        return [{ pid, ppid, command, rssKB }];
      } catch {
        return []; // gone meanwhile
      }
    });
  const ours = new Set(procs.filter((p) => p.command.includes(marker) && !p.command.includes('--type=')).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) grew = !!ours.add(p.pid);
  }
  return procs.filter((p) => ours.has(p.pid)).map((p) => ({ pid: p.pid, type: /--type=([\w-]+)/.exec(p.command)?.[1] ?? 'browser', rssKB: p.rssKB }));
}
