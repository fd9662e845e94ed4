// Hostile model files (issue 10, classes 7–14): tiny files that used to cost seconds to minutes and
// gigabytes, or escaped as errors other than CheckpointError. Each must be refused quickly, with a
// short CheckpointError, in bounded memory (expectQuickRefusal measures all three).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/checkpoint/config';
import { loadModel } from '../../src/checkpoint/load';
import { readPickle } from '../../src/checkpoint/pickle';
import { readSafetensors, readShardIndex } from '../../src/checkpoint/safetensors';
import { urlSource, type ModelSource } from '../../src/checkpoint/source';
import { toFloat32 } from '../../src/checkpoint/tensor';
import { readTorchBin } from '../../src/checkpoint/torch-bin';
import { modelDir } from '../fixtures';
import { buildSafetensors, checkpoint, f32, makeZip, MARK, PickleWriter, safetensorsWithHeaderText, statePickle, type TensorSpec } from './build';
import { expectQuickRefusal } from './expect-error';

const TINY_CONFIG = readFileSync(join(modelDir('tiny-divided'), 'config.json'), 'utf8');
const tinyConfigWith = (change: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(TINY_CONFIG), ...change });
const encode = (text: string) => new TextEncoder().encode(text);

/** A model folder in memory that records which files the loader asked for. */
function memoryFolder(files: Record<string, Uint8Array | string>): ModelSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    label: 'memory',
    asked,
    async read(file) {
      asked.push(file);
      const content = files[file];
      return typeof content === 'string' ? encode(content) : content;
    },
  };
}

/** `[[[…]]]` nested `depth` deep: fine for JSON.parse, a RangeError for JSON.stringify and String(). */
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('hostile model files are refused quickly, in bounded memory, with a short CheckpointError', () => {
  it('7: a .bin whose stride-0 or overlapping views expand a few bytes into gigabytes', async () => {
    // Checked against the config before anything is copied: this 1 GiB view is never materialized.
    const expanded = checkpoint({ 'timesformer.embeddings.cls_token': { key: '0', numel: 1, size: [16384, 16384], stride: [0, 0] } }, { '0': f32([1]) });
    const folder = memoryFolder({ 'config.json': TINY_CONFIG, 'pytorch_model.bin': expanded });
    await expectQuickRefusal(() => loadModel(folder), /cls_token is \[16384,16384\], config implies \[1,1,64\]/, 'expanded, with a config');
    // Without a config: copies out of strided views may not exceed the file's own size.
    const views: [string, TensorSpec, Uint8Array][] = [
      ['stride 0', { key: '0', numel: 1, size: [4096, 4096], stride: [0, 0] }, f32([1])],
      ['overlapping strides', { key: '0', numel: 8192, size: [4096, 4096], stride: [1, 1] }, new Uint8Array(4 * 8192)],
    ];
    for (const [what, spec, storage] of views) {
      const file = checkpoint({ w: spec }, { '0': storage });
      await expectQuickRefusal(() => readTorchBin(file), /tensor 'w': copying its strided view would take 67108864 bytes, past the \d+ bytes \(the file's size\) all copies may take/, what);
    }
  });

  it('8: a shape of 30,000 dimensions (rank is capped at 8, messages are built only on failure)', async () => {
    const shape = new Array(30_000).fill(1);
    const safetensors = buildSafetensors({ x: { dtype: 'F32', shape, data_offsets: [0, 4] } }, f32([1]));
    await expectQuickRefusal(() => readSafetensors(safetensors), /tensor 'x' has 30000 dimensions, more than 8/, 'safetensors');
    const bin = checkpoint({ x: { key: '0', numel: 1, size: shape, stride: shape } }, { '0': f32([1]) });
    await expectQuickRefusal(() => readTorchBin(bin), /tensor 'x': size has 30000 dimensions, more than 8/, '.bin');
  });

  it('9: untrusted pickle values are named by type, never stringified; quoted names are capped', async () => {
    // x0 = [], x(i+1) = [xi, xi] through the memo: String(x24) is 16.7 million characters.
    const EMPTY_LIST = 0x5d, BINPUT = 0x71, BINGET = 0x68, LIST = 0x6c, POP = 0x30, TUPLE = 0x74, BINPERSID = 0x51;
    const w = new PickleWriter().op(EMPTY_LIST, BINPUT, 0, POP);
    for (let i = 1; i <= 24; i++) w.op(MARK, BINGET, i - 1, BINGET, i - 1, LIST, BINPUT, i, POP);
    const pickle = w.op(MARK).str('storage').global('torch', 'FloatStorage').str('0').str('cpu').op(BINGET, 24, TUPLE, BINPERSID).done();
    expect(pickle.length).toBeLessThan(472);
    await expectQuickRefusal(() => readPickle(pickle), /pickle: bad storage size \(a list of 2 items\) \(/, 'nested list as a storage size');

    const longName = 'n'.repeat(1 << 20);
    const bin = checkpoint({ [longName]: { key: '0', numel: 1, size: [2], stride: [1] } }, { '0': f32([1]) });
    await expectQuickRefusal(() => readTorchBin(bin), /tensor 'n{20,100}…' \(1048576 characters\): size \[2\], stride \[1\] at offset 0 reach element 1/, 'a 1 MiB tensor name');
  });

  it('10: config numbers beyond what a TimeSformer can be, refused before any weights are read', async () => {
    const folder = memoryFolder({ 'config.json': tinyConfigWith({ num_hidden_layers: 2 ** 20 }), 'model.safetensors': readFileSync(join(modelDir('tiny-divided'), 'model.safetensors')) });
    await expectQuickRefusal(() => loadModel(folder), /'num_hidden_layers' must be an integer from 1 to 64, got 1048576/, 'num_hidden_layers 2^20');
    expect(folder.asked).toEqual(['config.json']);
    const fields: [Record<string, unknown>, RegExp][] = [
      [{ hidden_size: 2 ** 20, num_attention_heads: 1 }, /'hidden_size' must be an integer from 1 to 4096/],
      [{ intermediate_size: 2 ** 20 }, /'intermediate_size' must be an integer from 1 to 16384/],
      [{ num_attention_heads: 2 ** 20 }, /'num_attention_heads' must be an integer from 1 to 128/],
      [{ num_frames: 2 ** 20 }, /'num_frames' must be an integer from 1 to 128/],
      [{ image_size: 2 ** 20 }, /'image_size' must be an integer from 1 to 1024/],
      [{ image_size: 1024, patch_size: 1 }, /image_size 1024 and patch_size 1 make 1048576 patches per frame, more than 4096/],
      [{ id2label: undefined, num_labels: 2 ** 20 }, /'num_labels' must be an integer from 1 to 10000/],
      [{ layer_norm_eps: 1e300 }, /layer_norm_eps must be between 0 and 1/],
      // Each field plausible, together 18 billion parameters.
      [{ hidden_size: 4096, num_attention_heads: 64, num_hidden_layers: 64, intermediate_size: 16384 }, /imply \d+ parameters, more than 1073741824/],
    ];
    for (const [change, message] of fields) {
      const text = tinyConfigWith(change);
      await expectQuickRefusal(() => parseConfig(text), message, JSON.stringify(change));
    }
  });

  it('11: safetensors whose tensors overlap, alias each other or leave bytes uncovered', async () => {
    const pair = (a: [number, number], b: [number, number], dataBytes: number) =>
      buildSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: a }, b: { dtype: 'F32', shape: [2], data_offsets: b } }, new Uint8Array(dataBytes));
    const cases: [string, Uint8Array, RegExp][] = [
      ['aliasing', pair([0, 8], [0, 8], 8), /tensor 'b' starts at byte 0 of the data, where the previous tensor 'a' does not end \(8\)/],
      ['overlapping', pair([0, 8], [4, 12], 12), /tensor 'b' starts at byte 4 of the data, where the previous tensor 'a' does not end \(8\)/],
      ['a gap', pair([0, 8], [12, 20], 20), /tensor 'b' starts at byte 12 of the data, where the previous tensor 'a' does not end \(8\)/],
      ['trailing bytes', pair([0, 8], [8, 16], 20), /the tensors cover 16 of the 20 data bytes/],
      ['no tensor at the start', pair([4, 12], [12, 20], 20), /tensor 'a' starts at byte 4 of the data, where the previous tensor \(none\) does not end \(0\)/],
    ];
    for (const [what, file, message] of cases) await expectQuickRefusal(() => readSafetensors(file), message, what);
    // Stored in any order, and empty tensors anywhere, as the reference reader allows.
    const shuffled = readSafetensors(buildSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1, 2])));
    expect([...shuffled.keys()]).toEqual(['a', 'e', 'b']);
    expect([...toFloat32(shuffled.get('a')!), ...toFloat32(shuffled.get('b')!)]).toEqual([2, 1]);
  });

  it('12: deep JSON, objects where strings belong, huge configs and a negative Content-Length become CheckpointErrors', async () => {
    const deep = deepArray(10_000);
    const deepShape = safetensorsWithHeaderText(`{"x":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`, new Uint8Array(0));
    await expectQuickRefusal(() => readSafetensors(deepShape), /tensor 'x' has a bad shape \(a list of 1 item\)/, 'deep shape');
    const deepNumber = TINY_CONFIG.replace(/"hidden_size": 64/, `"hidden_size": ${deep}`);
    await expectQuickRefusal(() => parseConfig(deepNumber), /'hidden_size' must be an integer from 1 to 4096, got \(a list of 1 item\)/, 'deep config number');
    const deepEntry = `{"weight_map":{"x":${deep}}}`;
    await expectQuickRefusal(() => readShardIndex(deepEntry), /bad shard name \(a list of 1 item\) for 'x'/, 'deep index entry');

    const notAString = { toString: 1 };
    const objectDtype = buildSafetensors({ x: { dtype: notAString, shape: [1], data_offsets: [0, 4] } }, f32([1]));
    await expectQuickRefusal(() => readSafetensors(objectDtype), /tensor 'x' has unsupported dtype \(an object\)/, 'object dtype');
    for (const field of ['model_type', 'hidden_act', 'attention_type']) {
      const text = tinyConfigWith({ [field]: notAString });
      await expectQuickRefusal(() => parseConfig(text), new RegExp(`${field} .*\\(an object\\)`), `object ${field}`);
    }
    for (const dtype of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const file = buildSafetensors({ x: { dtype, shape: [1], data_offsets: [0, 4] } }, f32([1]));
      await expectQuickRefusal(() => readSafetensors(file), new RegExp(`tensor 'x' has unsupported dtype '${dtype}' \\(F32, F16, BF16, U8 are supported\\)`), `dtype ${dtype}`);
    }

    // More than V8's longest string (2^29 − 24 characters), all JSON whitespace.
    const hugeConfig = new Uint8Array(513 << 20).fill(0x20);
    await expectQuickRefusal(() => loadModel(memoryFolder({ 'config.json': hugeConfig })), /config.json is 537919488 bytes, more than the 16777216 a JSON file may have/, 'config over 512 MiB', hugeConfig.length);

    // A stand-in for fetch: it injects the negative Content-Length a lying server or service worker can send.
    const lying = urlSource('https://hub.invalid/model', async () => new Response('{}', { headers: { 'content-length': '-1' } }));
    await expectQuickRefusal(() => lying.read('config.json'), /config.json has an invalid Content-Length '-1'/, 'negative Content-Length');
  });

  it('13: metadata alone: counts of tensors, index entries and shards are capped', async () => {
    // ~15 MiB of empty tensors, under the header limit: counted before it is parsed.
    const entries: string[] = [];
    for (let length = 0; length < 15 << 20; ) {
      const entry = `"t${entries.length}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`;
      entries.push(entry);
      length += entry.length + 1;
    }
    const header = safetensorsWithHeaderText(`{${entries.join(',')}}`, new Uint8Array(0));
    await expectQuickRefusal(() => readSafetensors(header), /header has more than \d+ JSON values, more than 2048 tensors can need/, 'many empty tensors', 2 * header.length);

    const fewer = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`t${i}`, { dtype: 'F32', shape: [0], data_offsets: [0, 0] }]));
    const fewerFile = buildSafetensors(fewer, new Uint8Array(0));
    await expectQuickRefusal(() => readSafetensors(fewerFile), /holds 3000 tensors, more than 2048/, '3000 tensors');

    const index = (names: number, shards: number) =>
      JSON.stringify({ weight_map: Object.fromEntries(Array.from({ length: names }, (_, i) => [`t${i}`, `s${i % shards}.safetensors`])) });
    const indexes: [string, string, RegExp][] = [
      ['index of 200,000 entries', index(200_000, 1), /more than \d+ JSON values, more than 2048 index entries can need/],
      ['index of 3000 entries', index(3000, 1), /names 3000 tensors, more than 2048/],
      ['300 shards', index(300, 300), /names 300 shards, more than 256/],
    ];
    for (const [what, text, message] of indexes) await expectQuickRefusal(() => readShardIndex(text), message, what);

    const labels = Array.from({ length: 50_000 }, (_, i) => `label ${i}`);
    const manyLabels = tinyConfigWith({ id2label: { ...labels }, label2id: Object.fromEntries(labels.map((l, i) => [l, i])) });
    await expectQuickRefusal(() => parseConfig(manyLabels), /config.json has more than \d+ JSON values, more than 10000 labels can need/, 'config of 50,000 labels');

    // The index is checked against the config before any shard is read.
    const folder = memoryFolder({ 'config.json': TINY_CONFIG, 'model.safetensors.index.json': index(3, 1) });
    await expectQuickRefusal(() => loadModel(folder), /do not match config.json\nmissing \(\d+\): .*\nunexpected \(3\): t0, t1, t2/, 'index unlike the config');
    expect(folder.asked).not.toContain('s0.safetensors');

    const many = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`t${i}`, { key: '0', numel: 1, size: [1], stride: [1] }]));
    const manyFile = checkpoint(many, { '0': f32([1]) });
    await expectQuickRefusal(() => readTorchBin(manyFile), /state dict holds 3000 entries, more than 2048/, 'state dict of 3000 tensors');

    // A million empty dicts in 2 MiB of pickle.
    const dicts = new Uint8Array(2 << 20).fill(0x61); // APPEND
    dicts.set([0x80, 0x02, 0x5d]); // PROTO 2, EMPTY_LIST
    for (let at = 3; at < dicts.length - 1; at += 2) dicts[at] = 0x7d; // EMPTY_DICT
    dicts[dicts.length - 1] = 0x2e; // STOP
    await expectQuickRefusal(() => readPickle(dicts), /more than 65536 lists, tuples and dicts/, 'a million dicts');
  });

  it('14: a .bin whose byteorder record says big-endian is refused, never read as little-endian', async () => {
    const withByteorder = (byteorder: string) =>
      makeZip([
        { name: 'archive/data.pkl', data: statePickle({ w: { key: '0', numel: 2, size: [2], stride: [1] } }) },
        { name: 'archive/byteorder', data: encode(byteorder) },
        { name: 'archive/data/0', data: f32([1, 2]) },
      ]);
    expect([...toFloat32(readTorchBin(withByteorder('little')).get('w')!)]).toEqual([1, 2]);
    const cases: [string, RegExp][] = [
      ['big', /was saved on a big-endian machine \(byteorder 'big'\): re-save it on a little-endian one/],
      ['middle', /byteorder 'middle' is neither 'little' nor 'big'/],
    ];
    for (const [byteorder, message] of cases) {
      const file = withByteorder(byteorder);
      await expectQuickRefusal(() => readTorchBin(file), message, byteorder);
    }
  });
});
