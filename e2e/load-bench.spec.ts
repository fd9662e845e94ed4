import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { chromiumArgs } from '../src/cli/browser/chromium';
import { standInHub } from './app-page';
import { browserProcesses } from './processes';

// A TimeSformer-base checkpoint (random f32 weights, 486 MB) loaded in the app on our engine from a stand-in hub,
// three times in one browser profile, each in a fresh browser: the download, then two visits from the caches (the
// engine-ready copy). Prints
// each load's stages as the app reports them and the peak resident memory of the browser's processes during it.
// Only with BENCH=1: `BENCH=1 npx playwright test e2e/load-bench.spec.ts`. Writes test-results/bench-load.json.

test.skip(process.env.BENCH !== '1', 'set BENCH=1 to run the model load benchmark');

/** Resident memory (bytes) of the browser started with `profile` and its descendants, in all and by process type. */
function browserRss(profile: string): Record<string, number> {
  const byType: Record<string, number> = { total: 0 };
  for (const p of browserProcesses(`--user-data-dir=${profile}`)) {
    byType[p.type] = (byType[p.type] ?? 0) + p.rssKB * 1024;
    byType.total += p.rssKB * 1024;
  }
  return byType;
}

test('a cached TimeSformer-base is ready on our engine: stages and peak memory', async ({ playwright, baseURL }) => {
  test.setTimeout(900_000);
  const dir = 'bench-results/load-base';
  execFileSync('npx', ['tsx', 'src/cli/bench.ts', '--load', '--model', 'base', '--prepare-only'], { stdio: 'inherit', timeout: 300_000 });
  const weightsBytes = readFileSync(join(dir, 'model.safetensors')).byteLength;
  const { hub, close } = await standInHub({ 'config.json': join(dir, 'config.json'), 'model.safetensors': join(dir, 'model.safetensors') });
  hub.chunkDelayMs = 0;
  const profile = join(tmpdir(), `load-bench-${process.pid}`);
  const loads = [];
  try {
    // A fresh browser on the same profile for each visit: every peak is measured from that browser's own start.
    for (const visit of ['first', 'cached', 'cached again']) {
      const context = await playwright.chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs, baseURL });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const before = browserRss(profile);
        const peak = { ...before };
        const sampler = setInterval(() => {
          for (const [type, bytes] of Object.entries(browserRss(profile))) peak[type] = Math.max(peak[type] ?? 0, bytes);
        }, 50);
        const t0 = Date.now();
        await page.goto(`/?hub=${encodeURIComponent(hub.url)}&model=facebook/timesformer-base-finetuned-k400&backend=wgsl`);
        const report = page.getByTestId('load-report');
        await expect(report).toBeVisible({ timeout: 600_000 });
        clearInterval(sampler);
        const load = await report.evaluate((e) => ({ ...(e as HTMLElement).dataset }));
        const text = await report.textContent();
        const above = Object.fromEntries(Object.entries(peak).map(([type, bytes]) => [type, bytes - (before[type] ?? 0)]));
        loads.push({ visit, wallMs: Date.now() - t0, report: text, load, peakRssAboveStart: above });
        const types = Object.entries(above).filter(([type]) => type !== 'total').map(([type, bytes]) => `${type} +${(bytes / 1e6).toFixed(0)}`).join(', ');
        console.log(`${visit}: ${text} — page load to ready ${Date.now() - t0} ms; browser peak RSS +${(above.total / 1e6).toFixed(0)} MB = ${(above.total / weightsBytes).toFixed(2)}× the weights (${types} MB)`);
      } finally {
        await context.close();
      }
    }
    mkdirSync('test-results', { recursive: true });
    writeFileSync('test-results/bench-load.json', JSON.stringify({ date: new Date().toISOString(), weightsBytes, loads }, null, 2));
  } finally {
    await close();
  }
});
