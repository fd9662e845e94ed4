import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/checkpoint/load';
import { folderSource } from '../../src/checkpoint/node-source';
import { readSafetensors } from '../../src/checkpoint/safetensors';
import type { ModelSource } from '../../src/checkpoint/source';
import { toFloat32 } from '../../src/checkpoint/tensor';
import { modelDir } from '../fixtures';
import { buildSafetensors as build, f32, packSafetensors } from './build';
import { expectCheckpointError } from './expect-error';

const tinyPath = join(modelDir('tiny-divided'), 'model.safetensors');
const tiny = new Uint8Array(readFileSync(tinyPath));
const headerLength = Number(new DataView(tiny.buffer, tiny.byteOffset).getBigUint64(0, true));
const header = () => JSON.parse(new TextDecoder().decode(tiny.subarray(8, 8 + headerLength)));

const data = () => tiny.subarray(8 + headerLength);

/** The tiny model folder with one file replaced. */
function withFile(dir: string, name: string, bytes: Uint8Array | undefined): ModelSource {
  const real = folderSource(dir);
  return { label: 'patched', read: async (file, o) => (file === name ? bytes : real.read(file, o)) };
}

describe('safetensors', () => {
  it('reads tensors as views into the file, without copies', () => {
    const tensors = readSafetensors(tiny);
    const cls = tensors.get('timesformer.embeddings.cls_token')!;
    expect(cls.shape).toEqual([1, 1, 64]);
    expect(cls.dtype).toBe('F32');
    expect(cls.bytes.buffer).toBe(tiny.buffer);
    expect(tensors.size).toBe(header() && Object.keys(header()).filter((k) => k !== '__metadata__').length);
  });

  it('loads the four float16 shards of base1 through the index', async () => {
    const model = await loadModel(folderSource(modelDir('base1-divided-fp16')));
    expect(model.format).toBe('safetensors (sharded)');
    expect(model.weights.layers[0].fc1.weight.dtype).toBe('F16');
    expect(model.weights.layers[0].fc1.weight.shape).toEqual([3072, 768]);
    const head = toFloat32(model.weights.head.weight);
    expect(head.length).toBe(400 * 768);
    expect(head.every(Number.isFinite)).toBe(true);
  });

  it('gives a specific error for each kind of damage', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /too short to be safetensors/],
      ['truncated header', tiny.subarray(0, 100), /truncated \(header claims/],
      ['truncated data', tiny.subarray(0, tiny.length - 1000), /lie outside the data .* truncated file\?/],
      ['huge header length', (() => { const b = tiny.slice(); new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true); return b; })(), /header length \d+ is implausible/],
      ['header not JSON', build('x', data()).map((v, i) => (i === 8 ? 0x7b : v)), /header is not valid JSON/],
      ['header an array', build([1], data()), /header is not a JSON object/],
      ['unknown dtype', build({ ...header(), 'timesformer.embeddings.cls_token': { ...header()['timesformer.embeddings.cls_token'], dtype: 'C64' } }, data()), /unsupported dtype 'C64'/],
      ['shape × dtype ≠ bytes', build({ ...header(), 'timesformer.embeddings.cls_token': { ...header()['timesformer.embeddings.cls_token'], shape: [1, 1, 65] } }, data()), /needs 260 bytes, header gives 256/],
      ['negative offset', build({ ...header(), 'timesformer.embeddings.cls_token': { ...header()['timesformer.embeddings.cls_token'], data_offsets: [-4, 252] } }, data()), /bad data_offsets/],
      ['huge shape', build({ x: { dtype: 'F32', shape: [2 ** 20, 2 ** 20, 2 ** 10], data_offsets: [0, 4] } }, data()), /larger than \d+ elements/],
    ];
    for (const [what, bytes, message] of cases) expectCheckpointError(() => readSafetensors(bytes), message, what);
  });

  it('lists missing, misshapen and unexpected parameters against the config', async () => {
    const tensors = readSafetensors(tiny);
    tensors.delete('classifier.bias');
    const dense = 'timesformer.encoder.layer.0.output.dense.weight';
    tensors.set(dense, { ...tensors.get(dense)!, shape: [128, 64] });
    tensors.set('extra.weight', { dtype: 'F32', shape: [1], bytes: f32([0]) });
    const patched = withFile(modelDir('tiny-divided'), 'model.safetensors', packSafetensors(tensors));
    await expect(loadModel(patched)).rejects.toThrow(
      /do not match config.json\nmissing \(1\): classifier.bias\nwrong shape or type \(1\): timesformer.encoder.layer.0.output.dense.weight is \[128,64\], config implies \[64,128\]\nunexpected \(1\): extra.weight/,
    );
  });

  it('explains a folder without weights or with a missing shard', async () => {
    await expect(loadModel(withFile(modelDir('tiny-divided'), 'model.safetensors', undefined))).rejects.toThrow(/no weights in patched: expected model.safetensors/);
    const dir = modelDir('base1-divided-fp16');
    await expect(loadModel(withFile(dir, 'model-00003-of-00004.safetensors', undefined))).rejects.toThrow(/shard model-00003-of-00004.safetensors named in model.safetensors.index.json is missing/);
    await expect(loadModel(folderSource('/nonexistent'))).rejects.toThrow(/no config.json in \/nonexistent/);
  });
});
