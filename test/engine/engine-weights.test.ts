// The engine-ready copy (src/engine/engine-weights.ts): written as the first load packs the weights, streamed
// back into the GPU on the next, and the engine made from it matches the fixtures as the checkpoint's does.
import { describe, expect, it } from 'vitest';
import { copyTail, CopyError, openCopy, packedBytes, UPLOAD_CHUNK_BYTES, weightDType, type ByteSource } from '../../src/engine/engine-weights';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { compareOutputs, WGSL_TOLERANCES } from '../../src/verify/compare';
import { loadFixture, type FixtureName } from '../fixtures';
import { sharedTestRuntime } from '../gpu';
import type { LoadedModel } from '../../src/checkpoint/load';

/** The copy the first load writes, in memory. */
async function writeCopy(model: LoadedModel): Promise<{ bytes: Uint8Array; engine: TimesformerEngine }> {
  const parts: Uint8Array[] = [];
  const engine = await TimesformerEngine.create(await sharedTestRuntime(), model, { keep: { write: async (b) => void parts.push(b.slice()) } });
  const dtype = weightDType(model.weights);
  parts.push(copyTail({ dtype, configJson: model.json.config, preprocessorJson: model.json.preprocessor, checkpointFormat: model.format, source: model.source }, model.config));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.byteLength), 0);
  return { bytes, engine };
}

/** A copy as a ByteSource that records every read (offset, length) and how many were in flight at most. */
function recordingSource(bytes: Uint8Array) {
  const reads: [number, number][] = [];
  let inFlight = 0, maxInFlight = 0;
  const source: ByteSource = {
    size: bytes.byteLength,
    async read(offset, length) {
      reads.push([offset, length]);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 0));
      inFlight--;
      return bytes.slice(offset, offset + length);
    },
  };
  return { source, reads, maxInFlight: () => maxInFlight };
}

const shape = (s: number[]) => s as [number, number, number, number];

describe('engine-ready copy', () => {
  for (const name of ['tiny-divided', 'tiny-space_only', 'small-divided'] as FixtureName[]) {
    it(`an engine streamed from the copy matches the fixtures as the checkpoint's engine does: ${name}`, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const { bytes, engine: first } = await writeCopy(model);
      const fromCheckpoint = await first.run(pixels.data, shape(pixels.shape), { attention: 'all', hiddenStates: true });
      first.destroy();
      expect(bytes.byteLength).toBeGreaterThan(packedBytes(model.config, weightDType(model.weights)));

      const { source, reads, maxInFlight } = recordingSource(bytes);
      const opened = await openCopy(source);
      const stages: string[] = [];
      const c = opened.config;
      const engine = await TimesformerEngine.fromCopy(await sharedTestRuntime(), source, opened, {
        warm: [c.numFrames, opened.preprocessor.cropHeight, opened.preprocessor.cropWidth],
        onProgress: (stage) => void (stages.at(-1) !== stage && stages.push(stage)),
      });
      try {
        const outputs = await engine.run(pixels.data, shape(pixels.shape), { attention: 'all', hiddenStates: true });
        expect(compareOutputs(outputs, expected, WGSL_TOLERANCES).filter((r) => !r.pass)).toEqual([]);
        // The same numbers as the engine packed from the checkpoint, bit for bit.
        expect(outputs.get('logits')!.data).toEqual(fromCheckpoint.get('logits')!.data);
      } finally {
        engine.destroy();
      }
      expect(stages).toEqual(['compile', 'upload', 'compile']);
      // Streamed: no read is larger than a chunk, at most two are in flight, and the windows cover the buffers once.
      expect(Math.max(...reads.map(([, n]) => n))).toBeLessThanOrEqual(UPLOAD_CHUNK_BYTES);
      expect(maxInFlight()).toBeLessThanOrEqual(2);
      const windows = reads.filter(([offset]) => offset % UPLOAD_CHUNK_BYTES === 0);
      expect(windows.reduce((n, [, length]) => n + length, 0)).toBe(packedBytes(c, opened.manifest.dtype));
    });
  }

  it('is refused when cut short, when its buffers are not what its config implies, or when it is not a copy', async () => {
    const { model } = await loadFixture('tiny-divided');
    const { bytes, engine } = await writeCopy(model);
    engine.destroy();
    const source = (b: Uint8Array): ByteSource => ({ size: b.byteLength, read: async (o, n) => b.slice(o, o + n) });
    await expect(openCopy(source(bytes))).resolves.toBeDefined();
    // A copy cut short (a full disk, a closed tab): no manifest at the end.
    await expect(openCopy(source(bytes.subarray(0, bytes.byteLength - 100)))).rejects.toThrow(CopyError);
    await expect(openCopy(source(bytes.subarray(0, 5)))).rejects.toThrow(/too short/);
    // A buffer missing from the middle: the sizes no longer add up.
    const dtype = weightDType(model.weights);
    const tail = bytes.subarray(packedBytes(model.config, dtype));
    const shorter = new Uint8Array(bytes.byteLength - 64);
    shorter.set(bytes.subarray(0, packedBytes(model.config, dtype) - 64));
    shorter.set(tail, packedBytes(model.config, dtype) - 64);
    await expect(openCopy(source(shorter))).rejects.toThrow(/size does not match/);
    // A manifest whose config has one layer more than its buffers hold.
    const config = JSON.parse(model.json.config);
    const edited = copyTail({ dtype, configJson: JSON.stringify({ ...config, num_hidden_layers: config.num_hidden_layers + 1 }), checkpointFormat: 'x', source: 'y' }, model.config);
    const lying = new Uint8Array(packedBytes(model.config, dtype) + edited.byteLength);
    lying.set(bytes.subarray(0, packedBytes(model.config, dtype)));
    lying.set(edited, packedBytes(model.config, dtype));
    await expect(openCopy(source(lying))).rejects.toThrow(/not what its config implies/);
    // Random bytes.
    await expect(openCopy(source(new Uint8Array(4096).fill(7)))).rejects.toThrow(/not written to the end/);
  });
});
