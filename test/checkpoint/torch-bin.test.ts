import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/checkpoint/errors';
import { readPickle } from '../../src/checkpoint/pickle';
import { toFloat32, type DType, type RawTensor } from '../../src/checkpoint/tensor';
import { readTorchBin } from '../../src/checkpoint/torch-bin';
import { ZipArchive } from '../../src/checkpoint/zip';
import { checkpoint, concat, EMPTY_TUPLE, f32, makeZip, MARK, PickleWriter, REDUCE, rezip } from './build';
import { expectCheckpointError } from './expect-error';

const fixture = (path: string): Uint8Array =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url))));

const TINY_BIN = fixture('torch-bin/tiny-divided.pytorch_model.bin');
const DTYPES_BIN = fixture('torch-bin/dtypes.bin');
const TINY_SAFETENSORS = fixture('timesformer/tiny-divided/model/model.safetensors');


/** safetensors, by hand: u64 header length, JSON header, data. */
function readSafetensors(file: Uint8Array): Map<string, RawTensor> {
  const headerLength = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: DType; shape: number[]; data_offsets: [number, number] }
  >;
  const data = file.subarray(8 + headerLength);
  const out = new Map<string, RawTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out.set(name, { dtype: info.dtype, shape: info.shape, bytes: data.subarray(...info.data_offsets) });
  }
  return out;
}

const u16 = (t: RawTensor): number[] => [...new Uint16Array(t.bytes.slice().buffer)];
const values = (t: RawTensor): number[] => [...toFloat32(t)];

describe('readTorchBin on files written by torch.save', () => {
  it('reads tiny-divided exactly as the safetensors it was made from', () => {
    const expected = readSafetensors(TINY_SAFETENSORS);
    const tensors = readTorchBin(TINY_BIN);
    expect([...tensors.keys()]).toEqual([...expected.keys()]);
    for (const [name, want] of expected) {
      const got = tensors.get(name)!;
      expect(got.dtype, name).toBe('F32');
      expect(got.shape, name).toEqual(want.shape);
      expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes)), name).toBe(true);
      expect(got.bytes.buffer, `${name} is a view into the file`).toBe(TINY_BIN.buffer);
    }
  });

  it('reads float16, bfloat16, views at offsets, strided views, scalars, empties and parameters', () => {
    const t = readTorchBin(DTYPES_BIN);
    expect([...t.keys()]).toEqual(['half', 'bf16', 'transposed', 'row', 'column', 'expanded', 'scalar', 'empty', 'param']);
    const get = (name: string): RawTensor => t.get(name)!;

    expect(get('half')).toMatchObject({ dtype: 'F16', shape: [4] });
    expect(u16(get('half'))).toEqual([0x3800, 0xbd00, 0x7bff, 0x0001]);
    expect(values(get('half'))).toEqual([0.5, -1.25, 65504, 2 ** -24]);

    expect(get('bf16')).toMatchObject({ dtype: 'BF16', shape: [3] });
    expect(u16(get('bf16'))).toEqual([0x3f80, 0xc020, 0x4049]);
    expect(values(get('bf16'))).toEqual([1, -2.5, 3.140625]);

    // base = arange(12).reshape(3, 4); transposed, row and column all view its one storage.
    expect(get('transposed')).toMatchObject({ dtype: 'F32', shape: [4, 3] });
    expect(values(get('transposed'))).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(get('transposed').bytes.buffer).not.toBe(DTYPES_BIN.buffer);
    expect(get('row').shape).toEqual([4]);
    expect(values(get('row'))).toEqual([4, 5, 6, 7]);
    expect(get('row').bytes.buffer).toBe(DTYPES_BIN.buffer);
    expect(values(get('column'))).toEqual([1, 5, 9]);
    expect(get('expanded').shape).toEqual([3, 2]);
    expect(values(get('expanded'))).toEqual([1, 2, 1, 2, 1, 2]);

    expect(get('scalar').shape).toEqual([]);
    expect(values(get('scalar'))).toEqual([3.5]);
    expect(get('empty').shape).toEqual([0, 5]);
    expect(get('empty').bytes.length).toBe(0);
    expect(values(get('param'))).toEqual([7, 8]);
  });

  it('reads a hand-built checkpoint (checks the test pickler against the reader)', () => {
    const file = checkpoint({ w: { key: '0', numel: 6, offset: 1, size: [2, 2], stride: [2, 1] } }, { '0': f32([0, 1, 2, 3, 4, 5]) });
    expect(values(readTorchBin(file).get('w')!)).toEqual([1, 2, 3, 4]);
  });
});

describe('readTorchBin refuses broken or hostile files with a CheckpointError', () => {
  const pkl = new ZipArchive(DTYPES_BIN).read('archive/data.pkl');
  const withPickle = (data: Uint8Array): Uint8Array => rezip(DTYPES_BIN, { 'archive/data.pkl': data });

  it('truncated anywhere', () => {
    for (const cut of [0, 3, 4, 100, DTYPES_BIN.length >> 1, DTYPES_BIN.length - 22, DTYPES_BIN.length - 1]) {
      expectCheckpointError(() => readTorchBin(DTYPES_BIN.subarray(0, cut)), cut < 4 ? /not a PyTorch checkpoint/ : /no end-of-central-directory/);
    }
    for (let cut = 0; cut < DTYPES_BIN.length; cut++) {
      expect(() => readTorchBin(DTYPES_BIN.subarray(0, cut))).toThrow(CheckpointError);
    }
  });

  it('with random bytes overwritten (seeded fuzz): loads or throws CheckpointError, nothing else', () => {
    let seed = 1;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    for (const original of [DTYPES_BIN, pkl]) {
      for (let i = 0; i < 2000; i++) {
        const bytes = original.slice();
        for (let k = 1 + random(4); k > 0; k--) bytes[random(bytes.length)] = random(256);
        try {
          if (original === pkl) readPickle(bytes);
          else readTorchBin(bytes);
        } catch (e) {
          if (!(e instanceof CheckpointError)) throw e;
        }
      }
    }
  });

  it('with a truncated pickle or storage inside an intact archive', () => {
    for (let cut = 0; cut < pkl.length; cut++) {
      expectCheckpointError(() => readTorchBin(withPickle(pkl.subarray(0, cut))), /pickle: truncated|without STOP/);
    }
    const storage = new ZipArchive(DTYPES_BIN).read('archive/data/2');
    expectCheckpointError(
      () => readTorchBin(rezip(DTYPES_BIN, { 'archive/data/2': storage.subarray(0, 40) })),
      /tensor 'transposed': storage '2' has 40 bytes, but 12 F32 elements need 48/,
    );
  });

  it('whose archive body is lost while the directory survives', () => {
    const cdStart = Buffer.from(DTYPES_BIN).indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    const directory = DTYPES_BIN.subarray(cdStart);
    expectCheckpointError(() => readTorchBin(concat([DTYPES_BIN.subarray(0, 100), directory])), /zip: zip64 end-of-central-directory offset \d+ is out of range/);
    // Same length, but the entries' bytes are gone.
    const blanked = concat([new Uint8Array(cdStart), directory]);
    blanked.set(DTYPES_BIN.subarray(0, 4));
    expectCheckpointError(() => readTorchBin(blanked), /zip entry 'archive\/data.pkl': local header names ''/);
  });

  it('that is not a zip, or a legacy torch file', () => {
    expectCheckpointError(() => readTorchBin(new TextEncoder().encode('{"not": "a checkpoint"}')), /not a PyTorch checkpoint/);
    const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    expectCheckpointError(() => readTorchBin(legacy), /legacy torch serialization not supported; re-save with torch>=1.6/);
  });

  it('with a compressed entry', () => {
    const zip = new ZipArchive(DTYPES_BIN);
    const file = makeZip([...zip.entries.keys()].map((name) => ({ name, data: zip.read(name), method: name.endsWith('data/1') ? 8 : 0 })));
    expectCheckpointError(() => readTorchBin(file), /tensor 'bf16': zip entry 'archive\/data\/1' is compressed \(method 8\)/);
  });

  it('whose pickle names a global outside the allow-list', () => {
    const enc = new TextEncoder();
    const evil = [
      ['os', 'system'],
      ['posix', 'system'],
      ['builtins', 'eval'],
      ['__builtin__', 'exec'],
      ['torch', 'load'],
      ['torch.serialization', 'load'],
      ['torch', 'EvilStorage'],
    ];
    for (const [module, name] of evil) {
      const p = new PickleWriter().global(module, name).str('echo pwned').op(0x85, REDUCE).done();
      expectCheckpointError(() => readTorchBin(withPickle(p)), new RegExp(`refusing pickle global '${module}\\.${name}'`));
    }
    // Protocol 4 spelling: SHORT_BINUNICODE module, name; STACK_GLOBAL.
    const stackGlobal = new Uint8Array([0x80, 0x04, 0x8c, 8, ...enc.encode('builtins'), 0x8c, 4, ...enc.encode('eval'), 0x93, 0x8c, 1, 0x31, 0x85, REDUCE, 0x2e]);
    expectCheckpointError(() => readPickle(stackGlobal), /refusing pickle global 'builtins\.eval'/);
  });

  it('whose pickle calls an allowed name in a way a state dict never does', () => {
    const callStorage = new PickleWriter().global('torch', 'FloatStorage').op(EMPTY_TUPLE, REDUCE).done();
    expectCheckpointError(() => readPickle(callStorage), /calling torch\.FloatStorage is not supported/);
    const inst = new Uint8Array([0x80, 0x02, MARK, ...new TextEncoder().encode('ios\nsystem\n'), 0x2e]);
    expectCheckpointError(() => readPickle(inst), /unsupported pickle opcode 0x69/);
    const notADict = new PickleWriter().str('hello').done();
    expectCheckpointError(() => readTorchBin(withPickle(notADict)), /not a state dict/);
  });

  it('reads a pickle with a very long list (no argument spreading)', () => {
    const n = 500_000;
    const list = new Uint8Array(n + 6).fill(0x4e); // NONE
    list.set([0x80, 0x02, 0x5d, MARK]); // PROTO 2, EMPTY_LIST, MARK
    list.set([0x65, 0x2e], n + 4); // APPENDS, STOP
    expect((readPickle(list) as unknown[]).length).toBe(n);
  });

  it('whose pickle nests MARKs without end', () => {
    const bomb = new Uint8Array(2 ** 17 + 2).fill(MARK);
    bomb.set([0x80, 0x02]);
    expectCheckpointError(() => readPickle(bomb), /open MARKs/);
  });

  it('with a tensor reaching past its storage', () => {
    const file = checkpoint({ w: { key: '0', numel: 11, size: [3, 4], stride: [4, 1] } }, { '0': f32(new Array(11).fill(0)) });
    expectCheckpointError(() => readTorchBin(file), /tensor 'w': size \[3,4\], stride \[4,1\] at offset 0 reach element 11, past the 11 in storage '0'/);
    const strided = checkpoint({ w: { key: '0', numel: 4, size: [2, 2], stride: [1, 4] } }, { '0': f32([0, 1, 2, 3]) });
    expectCheckpointError(() => readTorchBin(strided), /reach element 5, past the 4/);
    const offset = checkpoint({ w: { key: '0', numel: 4, offset: 2, size: [3], stride: [1] } }, { '0': f32([0, 1, 2, 3]) });
    expectCheckpointError(() => readTorchBin(offset), /reach element 4, past the 4/);
    // A stride whose product with the size is beyond 2^53 must not wrap into range.
    const hugeStride = checkpoint({ w: { key: '0', numel: 4, size: [2, 2], stride: [2 ** 52, 1] } }, { '0': f32([0, 1, 2, 3]) });
    expectCheckpointError(() => readTorchBin(hugeStride), /past the 4/);
    const negative = checkpoint({ w: { key: '0', numel: 4, offset: 3, size: [2], stride: [-1] } }, { '0': f32([0, 1, 2, 3]) });
    expectCheckpointError(() => readTorchBin(negative), /tensor 'w': negative stride \[-1\]/);
  });

  it('with an unsupported storage type or a storage of the wrong length', () => {
    const long = checkpoint({ ids: { storageClass: 'LongStorage', key: '0', numel: 2, size: [2], stride: [1] } }, { '0': new Uint8Array(16) });
    expectCheckpointError(() => readTorchBin(long), /tensor 'ids': unsupported storage type torch\.LongStorage/);
    const short = checkpoint({ w: { key: '0', numel: 4, size: [4], stride: [1] } }, { '0': new Uint8Array(12) });
    expectCheckpointError(() => readTorchBin(short), /tensor 'w': storage '0' has 12 bytes, but 4 F32 elements need 16/);
    const missing = checkpoint({ w: { key: '7', numel: 4, size: [4], stride: [1] } }, {});
    expectCheckpointError(() => readTorchBin(missing), /storage '7' is missing from the archive \(no 'archive\/data\/7'\)/);
  });

  it('with huge claimed sizes, without allocating them', () => {
    const storage = checkpoint({ w: { key: '0', numel: 2 ** 50, size: [4], stride: [1] } }, { '0': new Uint8Array(16) });
    expectCheckpointError(() => readTorchBin(storage), /has 16 bytes, but 1125899906842624 F32 elements need/);
    // Stride 0 makes a 1-element storage "hold" any shape; the shape itself must be refused.
    const broadcast = checkpoint({ w: { key: '0', numel: 1, size: [2 ** 20, 2 ** 20], stride: [0, 0] } }, { '0': f32([1]) });
    expectCheckpointError(() => readTorchBin(broadcast), /tensor 'w': shape \[1048576,1048576\] is larger than 1073741824 elements/);
  });

  it('whose state dict holds something other than tensors', () => {
    const p = new PickleWriter().global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE).str('epoch').int(3).op(0x73).done();
    expectCheckpointError(() => readTorchBin(withPickle(p)), /state dict entry 'epoch' is not a tensor/);
  });

  it('with no data.pkl, or two', () => {
    expectCheckpointError(() => readTorchBin(rezip(DTYPES_BIN, { 'archive/data.pkl': null })), /exactly one '<prefix>\/data.pkl', found 0/);
    const zip = new ZipArchive(DTYPES_BIN);
    const two = makeZip([...[...zip.entries.keys()].map((name) => ({ name, data: zip.read(name) })), { name: 'other/data.pkl', data: pkl }]);
    expectCheckpointError(() => readTorchBin(two), /found 2/);
  });
});
