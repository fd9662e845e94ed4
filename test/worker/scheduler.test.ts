// The worker's scheduler: one GPU run at a time by priority, replacement by purpose, cancellation of queued and
// running work, and every task saying how it ended.
import { describe, expect, it } from 'vitest';
import { Scheduler, TaskEnded, type Priority } from '../../src/worker/scheduler';

/** A GPU run the test finishes by hand, recording when it starts. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { run: () => (log.push(`start ${name}`), done.then(() => (log.push(`end ${name}`), name))), open };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return `completed ${await p}`;
  } catch (e) {
    return e instanceof TaskEnded ? e.outcome : `failed ${(e as Error).message}`;
  }
}

describe('Scheduler', () => {
  it('runs one GPU turn at a time, the most urgent waiting first, first come first served within a priority', async () => {
    const s = new Scheduler();
    const log: string[] = [];
    const first = gate(log, 'first');
    const submit = (purpose: string, priority: Priority, g: ReturnType<typeof gate>) => s.submit({ purpose, priority }, (t) => t.gpu(g.run));
    const running = submit('a', 'background', first);
    await tick();
    const gates = { bg: gate(log, 'bg'), user1: gate(log, 'user1'), live: gate(log, 'live'), user2: gate(log, 'user2') };
    const waiting = [submit('b', 'background', gates.bg), submit('c', 'user', gates.user1), submit('d', 'live', gates.live), submit('e', 'user', gates.user2)];
    await tick();
    expect(log).toEqual(['start first']); // nothing else starts while a run is on the GPU
    first.open();
    for (const g of [gates.live, gates.user1, gates.user2, gates.bg]) {
      await tick();
      g.open();
    }
    expect(await Promise.all([running, ...waiting])).toEqual(['first', 'bg', 'user1', 'live', 'user2']);
    expect(log).toEqual(['start first', 'end first', 'start live', 'end live', 'start user1', 'end user1', 'start user2', 'end user2', 'start bg', 'end bg']);
    expect(s.tasks).toEqual([]);
  });

  it('a newer task for the same purpose replaces the older: a queued run never starts, a running one ends at once', async () => {
    const s = new Scheduler();
    const log: string[] = [];
    const blocker = gate(log, 'blocker');
    const blocking = s.submit({ purpose: 'timeline', priority: 'background' }, (t) => t.gpu(blocker.run));
    await tick();
    const old = gate(log, 'old');
    const queued = outcome(s.submit({ purpose: 'classify', priority: 'user' }, (t) => t.gpu(old.run)));
    await tick();
    const fresh = gate(log, 'new');
    const newer = s.submit({ purpose: 'classify', priority: 'user' }, (t) => t.gpu(fresh.run));
    expect(await queued).toBe('replaced');
    // The running timeline is replaced by a newer timeline: it ends now, though its GPU run goes on.
    const nextTimeline = outcome(s.submit({ purpose: 'timeline', priority: 'background' }, async () => 'timeline 2'));
    expect(await outcome(blocking)).toBe('replaced');
    expect(await nextTimeline).toBe('completed timeline 2');
    await tick();
    expect(log).toEqual(['start blocker']); // the next run waits for the one on the GPU
    blocker.open();
    await tick();
    fresh.open();
    expect(await newer).toBe('new');
    expect(log).toEqual(['start blocker', 'end blocker', 'start new', 'end new']);
  });

  it('cancels queued and running tasks through their signal, and removes its listener from that signal when a task ends', async () => {
    const s = new Scheduler();
    const log: string[] = [];
    const running = gate(log, 'running');
    const c1 = new AbortController();
    const first = outcome(s.submit({ purpose: 'a', priority: 'user', signal: c1.signal }, (t) => t.gpu(running.run)));
    await tick();
    const c2 = new AbortController();
    const second = outcome(s.submit({ purpose: 'b', priority: 'user', signal: c2.signal }, (t) => t.gpu(gate(log, 'never').run)));
    await tick();
    c2.abort();
    c1.abort();
    expect(await first).toBe('cancelled');
    expect(await second).toBe('cancelled');
    running.open();
    await tick();
    expect(log).toEqual(['start running', 'end running']);

    // A caller's signal that outlives its request keeps no listener of ours.
    const signal = new AbortController().signal;
    let listeners = 0;
    const add = signal.addEventListener.bind(signal), remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
    expect(await s.submit({ purpose: 'c', priority: 'user', signal }, (t) => t.gpu(async () => 'ok'))).toBe('ok');
    expect(await outcome(s.submit({ purpose: 'c', priority: 'user', signal }, async () => Promise.reject(new Error('boom'))))).toBe('failed boom');
    expect(listeners).toBe(0);
  });

  it('replaceAll ends every other task (the model they ran on is gone), and a failure in a body is that task’s alone', async () => {
    const s = new Scheduler();
    const never = new Promise<string>(() => {});
    const a = outcome(s.submit({ purpose: 'classify', priority: 'user' }, () => never));
    const b = outcome(s.submit({ purpose: 'timeline', priority: 'background' }, () => never));
    const swap = s.submit({ purpose: 'load-model', priority: 'user' }, async (task) => {
      s.replaceAll('the model changed', (t) => t !== task);
      return task.gpu(async () => 'swapped');
    });
    expect(await swap).toBe('swapped');
    expect([await a, await b]).toEqual(['replaced', 'replaced']);
    const failing = outcome(s.submit({ purpose: 'x', priority: 'user' }, (t) => t.gpu(async () => Promise.reject(new Error('GPU said no')))));
    expect(await failing).toBe('failed GPU said no');
    expect(await s.submit({ purpose: 'y', priority: 'user' }, (t) => t.gpu(async () => 'still works'))).toBe('still works');
  });
});
