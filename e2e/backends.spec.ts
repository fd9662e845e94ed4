// The comparison backends in headless Chromium (WebGPU on SwiftShader without a GPU) against the Hugging Face
// fixtures: onnxruntime-web's wasm and WebGPU EPs on the fixtures' ONNX exports (logits: an export has nothing
// else), and the TensorFlow.js forward pass on tfjs-backend-webgpu (logits, hidden states, attention), all at
// the WGSL engine's tolerances, on the page's one GPUDevice.
import { expect, test, type Page } from '@playwright/test';
import type { BackendName } from '../src/backends/backend';

const fixtures = ['tiny-divided', 'small-divided'];
const backends: BackendName[] = ['onnx-wasm', 'onnx-webgpu', 'tfjs-webgpu'];

async function open(page: Page) {
  page.on('console', (m) => {
    // (A 404 is expected: the fixtures have no preprocessor_config.json, which the model loader asks for.)
    if (m.type() === 'error' && !/status of 404/.test(m.text())) console.log(`[page] ${m.text()}`);
  });
  await page.goto('/e2e/harness/backends.html');
  await page.waitForFunction(() => 'backends' in window);
}

test.describe('comparison backends in Chromium match the reference fixtures', () => {
  for (const backend of backends) {
    test(backend, async ({ page }) => {
      // ORT's WebGPU EP compiles ~27 shaders per model on SwiftShader; small-divided runs take ~10 s each.
      test.setTimeout(480_000);
      await open(page);
      for (const name of fixtures) {
        const run = await page.evaluate(([b, f]) => window.backends.verify(b, f), [backend, `/fixtures/timesformer/${name}`] as const);
        console.log(`${backend} ${name}: setup ${run.setupMs.toFixed(0)} ms, first run ${run.firstRunMs.toFixed(0)} ms${backend === 'onnx-wasm' ? `, ${run.wasmThreads} wasm threads` : ''}; ` +
          run.results.map((r) => `${r.name} ${r.maxAbsError.toExponential(1)}`).filter((_, i) => i < 3 || backend !== 'tfjs-webgpu').join(', '));
        const failures = run.results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.problem ?? r.maxAbsError}`);
        expect(failures, `${backend} on ${name}`).toEqual([]);
        expect(run.verdict).toBe('verify: PASS');
        if (backend === 'tfjs-webgpu') expect(run.results.length).toBeGreaterThan(5); // hidden states and attention too
        else expect(run.results.map((r) => r.name)).toEqual(['logits']);
      }
    });
  }
});
