// The benchmark page (#bench): runs our engine and a comparison backend in the page, draws its chart, and
// exports the JSON that `npm run bench -- --browser` writes (same code: src/bench/page-bench.ts), in the same shape.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';

/** The shape of a JSON value: keys (sorted) and the types of the leaves, every array element's. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]));
  return typeof value;
}

type Measurements = Record<string, { variant: string }[]>;

/**
 * The JSON with each autotuned class's measurements as its candidates' names (compared on their own): what the
 * tuner found of a candidate (timed, untimed, rejected) depends on that run's timings, not on the format. Their
 * fields are checked here.
 */
function candidatesOnly(json: { autotune: Record<string, { measurements: Measurements }> }) {
  const autotune = Object.fromEntries(
    Object.entries(json.autotune).map(([model, report]) => {
      const measurements = Object.values(report.measurements).flat();
      for (const m of measurements) expect(Object.keys(m).every((k) => ['variant', 'ms', 'compileMs', 'untimed', 'rejected'].includes(k)), JSON.stringify(m)).toBe(true);
      return [model, { ...report, measurements: Object.fromEntries(Object.entries(report.measurements).map(([cls, ms]) => [cls, ms.map((m) => m.variant)])) }];
    }),
  );
  return { ...json, autotune };
}

test('the benchmark page draws its chart and exports the CLI bench JSON', async ({ page }) => {
  test.setTimeout(600_000);
  await page.context().route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));
  await page.goto('/?model=/models/tiny-divided#bench');
  const bench = page.getByTestId('bench');
  await expect(bench).toBeVisible();
  // The app's loaded model is offered beside the random ones, once it is loaded.
  await expect(page.getByTestId('bench-option-loaded')).toBeChecked({ timeout: 120_000 });
  await page.getByTestId('bench-option-small').uncheck();
  for (const b of ['onnx-webgpu', 'tfjs-webgpu', 'tfjs-cpu']) await page.getByTestId(`bench-option-${b}`).uncheck();
  await page.getByTestId('bench-iterations').fill('2');
  await page.getByTestId('bench-run').click();
  await expect(bench).toHaveAttribute('data-state', 'done', { timeout: 300_000 });

  const bars = page.getByTestId('bench-bar');
  await expect(bars).toHaveCount(4);
  expect(await bars.evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-model')} ${g.getAttribute('data-backend')}`))).toEqual(['tiny-divided wgsl', 'tiny-divided onnx-wasm', 'tiny wgsl', 'tiny onnx-wasm']);
  const widths = await bars.locator('rect').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().width));
  widths.forEach((w) => expect(w).toBeGreaterThan(0));
  const ms = await bars.evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-ms'))));
  ms.forEach((m) => expect(m).toBeGreaterThan(0));

  const pageJson = JSON.parse((await page.getByTestId('bench-json').textContent())!);
  const href = await page.getByTestId('bench-export').getAttribute('href');
  expect(JSON.parse(await page.evaluate((url) => fetch(url!).then((r) => r.text()), href))).toEqual(pageJson);

  // The same run from the command line: the same JSON shape (keys and types, every row included), but for
  // the loaded model's rows, which the command line (random models only) has not.
  const loadedRows = (r: { name: string }) => r.name.startsWith('timesformer-tiny-divided');
  expect(pageJson.results.filter(loadedRows).length).toBeGreaterThan(0);
  const randomOnly = {
    ...pageJson,
    results: pageJson.results.filter((r: { name: string }) => !loadedRows(r)),
    autotune: { tiny: pageJson.autotune.tiny },
    ...(pageJson.profiles && { profiles: { tiny: pageJson.profiles.tiny } }),
  };
  const out = join(mkdtempSync(join(tmpdir(), 'bench-')), 'bench.json');
  execFileSync('npx', ['tsx', 'src/cli/bench.ts', '--browser', '--models', 'tiny', '--backends', 'onnx-wasm', '--models-only', '--iterations', '2', '--out', out], { stdio: 'inherit', timeout: 400_000 });
  const cliJson = JSON.parse(readFileSync(out, 'utf8'));
  const [fromPage, fromCli] = [candidatesOnly(randomOnly), candidatesOnly(cliJson)];
  expect(shape(fromPage)).toEqual(shape(fromCli));
  expect(fromPage.autotune.tiny.measurements).toEqual(fromCli.autotune.tiny.measurements);
  expect(randomOnly.results.map((r: { name: string }) => r.name)).toEqual(cliJson.results.map((r: { name: string }) => r.name));
});
