/**
 * PyTorch `pytorch_model.bin` (torch.save zip format, torch >= 1.6) → tensors.
 * The archive holds `<prefix>/data.pkl` (the state dict, pickled, with tensors as references to
 * storages) and one raw little-endian `<prefix>/data/<key>` entry per storage.
 */
import { check, CheckpointError } from './errors';
import { PyDict, readPickle, TorchTensor } from './pickle';
import { DTYPE_BYTES, numel, type DType, type RawTensor, type TensorMap } from './tensor';
import { isZip, ZipArchive } from './zip';

export { isZip } from './zip';

const STORAGE_DTYPES = new Map<string, DType>([
  ['FloatStorage', 'F32'],
  ['HalfStorage', 'F16'],
  ['BFloat16Storage', 'BF16'],
]);

/** Legacy torch.save output starts by pickling this magic number (protocol 2, LONG1 of 10 bytes). */
const LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function isLegacyTorch(file: Uint8Array): boolean {
  return file[0] === 0x80 && file.length >= 2 + LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => file[2 + i] === b);
}

/**
 * Reads a torch.save'd state dict. Contiguous tensors are views into `file` (no copy); strided
 * ones (e.g. saved transposed) are copied into row-major order.
 */
export function readTorchBin(file: Uint8Array): TensorMap {
  if (!isZip(file)) {
    if (isLegacyTorch(file)) throw new CheckpointError('legacy torch serialization not supported; re-save with torch>=1.6');
    throw new CheckpointError('not a PyTorch checkpoint: expected a zip archive as written by torch.save (torch>=1.6)');
  }
  const zip = new ZipArchive(file);
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  check(pickles.length === 1, `PyTorch checkpoint must contain exactly one '<prefix>/data.pkl', found ${pickles.length}`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);

  const root = readPickle(zip.read(pickles[0]));
  check(root instanceof PyDict, 'PyTorch checkpoint is not a state dict (its pickle is not a dict)');
  const tensors: TensorMap = new Map();
  for (const [name, value] of root.map) {
    check(typeof name === 'string', `state dict key ${String(name)} is not a string`);
    check(value instanceof TorchTensor, `state dict entry '${name}' is not a tensor`);
    try {
      tensors.set(name, resolveTensor(zip, prefix, value));
    } catch (e) {
      if (e instanceof CheckpointError) throw new CheckpointError(`tensor '${name}': ${e.message}`);
      throw e;
    }
  }
  return tensors;
}

function resolveTensor(zip: ZipArchive, prefix: string, t: TorchTensor): RawTensor {
  const { storage, storageOffset: offset, size, stride } = t;
  const dtype = STORAGE_DTYPES.get(storage.storageClass);
  if (!dtype) {
    throw new CheckpointError(`unsupported storage type torch.${storage.storageClass} (supported: ${[...STORAGE_DTYPES.keys()].join(', ')})`);
  }
  const entryName = `${prefix}data/${storage.key}`;
  check(zip.entries.has(entryName), `storage '${storage.key}' is missing from the archive (no '${entryName}')`);
  const data = zip.read(entryName);
  const elementBytes = DTYPE_BYTES[dtype];
  check(
    data.length === storage.numel * elementBytes,
    `storage '${storage.key}' has ${data.length} bytes, but ${storage.numel} ${dtype} elements need ${storage.numel * elementBytes}`,
  );

  check(size.length === stride.length, `size [${size}] and stride [${stride}] differ in rank`);
  const n = numel(size);
  check(offset >= 0, `negative storage offset ${offset}`);
  check(stride.every((s) => s >= 0), `negative stride [${stride}] (torch never saves one)`);
  const shape = [...size];
  if (n === 0) return { dtype, shape, bytes: data.subarray(0, 0) };

  // Exact in BigInt: a lying stride times a size can exceed 2^53.
  let last = BigInt(offset);
  for (let d = 0; d < size.length; d++) last += BigInt(size[d] - 1) * BigInt(stride[d]);
  check(
    last < BigInt(storage.numel),
    `size [${size}], stride [${stride}] at offset ${offset} reach element ${last}, past the ${storage.numel} in storage '${storage.key}'`,
  );

  if (isContiguous(size, stride)) {
    return { dtype, shape, bytes: data.subarray(offset * elementBytes, (offset + n) * elementBytes) };
  }
  return { dtype, shape, bytes: gather(data, elementBytes, offset, size, stride, n) };
}

/** Row-major contiguity as torch defines it: strides of size-1 dimensions do not matter. */
function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

/** Copies a strided view into row-major order (bounds already checked against the storage). */
function gather(src: Uint8Array, elementBytes: number, offset: number, size: number[], stride: number[], n: number): Uint8Array {
  const out = new Uint8Array(n * elementBytes);
  const index = new Array<number>(size.length).fill(0);
  let at = offset;
  for (let o = 0; o < out.length; o += elementBytes) {
    const from = at * elementBytes;
    for (let b = 0; b < elementBytes; b++) out[o + b] = src[from + b];
    // Advance the multi-index like an odometer, moving `at` by the matching strides.
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d] < size[d]) {
        at += stride[d];
        break;
      }
      at -= (size[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}
