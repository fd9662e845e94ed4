// Builders for checkpoint files in tests: zip archives, pickles as torch.save writes them, safetensors.
import type { RawTensor } from '../../src/checkpoint/tensor';
import { ZipArchive } from '../../src/checkpoint/zip';

/** A ZIP of STORED entries (CRCs left 0: the reader does not check them). */
export function makeZip(files: { name: string; data: Uint8Array; method?: number }[]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data, method = 0 } of files) {
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, method, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    const cd = new Uint8Array(46 + n.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, method, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    cd.set(n, 46);
    chunks.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...chunks, ...central, eocd]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The archive's entries with some replaced (or dropped, for `null`). */
export function rezip(file: Uint8Array, replace: Record<string, Uint8Array | null>): Uint8Array {
  const zip = new ZipArchive(file);
  const files = [...zip.entries.keys()]
    .filter((name) => replace[name] !== null)
    .map((name) => ({ name, data: replace[name] ?? zip.read(name) }));
  return makeZip(files);
}

/** Builds pickles the way torch.save does (protocol 2), from plain opcodes. */
export class PickleWriter {
  private bytes: number[] = [0x80, 0x02];
  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, b.length, true);
    this.op(0x58, ...length);
    for (const byte of b) this.bytes.push(byte); // not op(...b): a long name would overflow the call stack
    return this;
  }
  int(n: number): this {
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, n, true);
      return this.op(0x4a, ...b);
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
    return this.op(0x8a, 8, ...b); // LONG1
  }
  tuple(items: number[]): this {
    this.op(0x28);
    for (const i of items) this.int(i);
    return this.op(0x74);
  }
  done(): Uint8Array {
    return new Uint8Array([...this.bytes, 0x2e]);
  }
}

export interface TensorSpec {
  storageClass?: string;
  key: string;
  numel: number;
  offset?: number;
  size: number[];
  stride: number[];
}

export const MARK = 0x28;
export const EMPTY_TUPLE = 0x29;
export const REDUCE = 0x52;
export const TUPLE = 0x74;
export const SETITEMS = 0x75;
export const BINPERSID = 0x51;
export const NEWFALSE = 0x89;

/** data.pkl of an OrderedDict of `_rebuild_tensor_v2` calls, as torch.save writes it. */
export function statePickle(tensors: Record<string, TensorSpec>): Uint8Array {
  const w = new PickleWriter().global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, MARK);
  for (const [name, t] of Object.entries(tensors)) {
    w.str(name).global('torch._utils', '_rebuild_tensor_v2').op(MARK);
    w.op(MARK).str('storage').global('torch', t.storageClass ?? 'FloatStorage').str(t.key).str('cpu').int(t.numel).op(TUPLE, BINPERSID);
    w.int(t.offset ?? 0).tuple(t.size).tuple(t.stride).op(NEWFALSE);
    w.global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, TUPLE, REDUCE);
  }
  return w.op(SETITEMS).done();
}

/** A checkpoint holding `tensors` and the given storage entries under the prefix 'archive/'. */
export function checkpoint(tensors: Record<string, TensorSpec>, storages: Record<string, Uint8Array>): Uint8Array {
  return makeZip([
    { name: 'archive/data.pkl', data: statePickle(tensors) },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
  ]);
}

export const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

/** A safetensors file with this header (any JSON value, taken as given) and data. */
export function buildSafetensors(head: unknown, data: Uint8Array): Uint8Array {
  return safetensorsWithHeaderText(JSON.stringify(head), data);
}

/** A safetensors file whose header is this text, e.g. JSON too deep for JSON.stringify. */
export function safetensorsWithHeaderText(header: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** A well-formed safetensors file of these tensors, laid out one after another in this order. */
export function packSafetensors(tensors: Iterable<[string, RawTensor]>): Uint8Array {
  const head: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { dtype, shape, bytes }] of tensors) {
    head[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  return buildSafetensors(head, concat(parts));
}
