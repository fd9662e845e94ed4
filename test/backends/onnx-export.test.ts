// Our ONNX writer (src/backends/onnx-export.ts): the graph it writes from a checkpoint's weights, run by
// onnxruntime-web's wasm EP, gives the Hugging Face logits of every fixture (divided, joint, space-only,
// and base1's float16 weights), and the CPU reference's at a clip shape the fixtures do not cover.
import { describe, expect, it } from 'vitest';
import type { ClipShape } from '../../src/backends/backend';
import { createOnnxBackend } from '../../src/backends/onnx';
import { exportTimesformerOnnx } from '../../src/backends/onnx-export';
import { forwardReference } from '../../src/reference/timesformer';
import { compareOutputs, WGSL_TOLERANCES } from '../../src/verify/compare';
import { FIXTURE_NAMES, loadFixture } from '../fixtures';

async function runExported(bytes: Uint8Array, pixels: Float32Array, shape: ClipShape) {
  const backend = await createOnnxBackend(bytes, { ep: 'wasm' });
  try {
    return await backend.run(pixels, shape);
  } finally {
    await backend.dispose();
  }
}

describe('exported ONNX graph on onnx-wasm matches the reference logits', () => {
  for (const name of FIXTURE_NAMES) {
    it(name, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const outputs = await runExported(exportTimesformerOnnx(model.config, model.weights), pixels.data, pixels.shape as ClipShape);
      const results = compareOutputs(outputs, new Map([['logits', expected.get('logits')!]]), WGSL_TOLERANCES);
      expect(results.map((r) => r.name)).toEqual(['logits']);
      expect(results.filter((r) => !r.pass)).toEqual([]);
    }, 120_000);
  }

  it('at another clip shape (2 frames, a 3×2 grid), as the CPU reference', async () => {
    const { model } = await loadFixture('tiny-divided');
    const shape: ClipShape = [2, 3, 48, 32];
    const pixels = Float32Array.from({ length: 2 * 3 * 48 * 32 }, (_, i) => Math.sin(i * 0.37));
    const outputs = await runExported(exportTimesformerOnnx(model.config, model.weights, { clip: shape }), pixels, shape);
    const reference = forwardReference(model, { shape, data: pixels }, { attentions: false });
    const results = compareOutputs(outputs, new Map([['logits', { dtype: 'F32', shape: reference.get('logits')!.shape, bytes: new Uint8Array(reference.get('logits')!.data.buffer) }]]), WGSL_TOLERANCES);
    expect(results.filter((r) => !r.pass)).toEqual([]);
  });
});
