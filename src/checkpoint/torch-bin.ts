/**
 * PyTorch `pytorch_model.bin` (torch.save zip format, torch >= 1.6) → tensors.
 * The archive holds `<prefix>/data.pkl` (the state dict, pickled, with tensors as references to
 * storages) and one raw little-endian `<prefix>/data/<key>` entry per storage.
 */
import { check, CheckpointError, quote } from './errors';
import { PyDict, readPickle, TorchTensor } from './pickle';
import { DTYPE_BYTES, MAX_RANK, MAX_TENSORS, numel, shapeText, type DType, type RawTensor, type TensorMap } from './tensor';
import { checkAgainstConfig, type TensorInfo } from './weights';
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

/** What a state dict entry says it is, checked, before any of its data is read. */
interface TensorView extends TensorInfo {
  shape: number[];
  tensor: TorchTensor;
}

/** Bytes that copies out of strided views may still take: in all, no more than the file's size. */
interface CopyBudget {
  readonly total: number;
  left: number;
}

/**
 * Reads a torch.save'd state dict. Contiguous tensors are views into `file` (no copy); strided
 * ones (e.g. saved transposed) are copied into row-major order, up to the file's size in all.
 * With `expected` (the config's parameters) names and shapes are checked before anything is copied.
 */
export function readTorchBin(file: Uint8Array, expected?: ReadonlyMap<string, readonly number[]>): TensorMap {
  if (!isZip(file)) {
    if (isLegacyTorch(file)) throw new CheckpointError('legacy torch serialization not supported; re-save with torch>=1.6');
    throw new CheckpointError('not a PyTorch checkpoint: expected a zip archive as written by torch.save (torch>=1.6)');
  }
  const zip = new ZipArchive(file);
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  check(pickles.length === 1, `PyTorch checkpoint must contain exactly one '<prefix>/data.pkl', found ${pickles.length}`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  checkByteOrder(zip, prefix);

  const root = readPickle(zip.read(pickles[0]));
  check(root instanceof PyDict, 'PyTorch checkpoint is not a state dict (its pickle is not a dict)');
  check(root.map.size <= MAX_TENSORS, `PyTorch checkpoint: state dict holds ${root.map.size} entries, more than ${MAX_TENSORS}`);
  const views = new Map<string, TensorView>();
  for (const [name, value] of root.map) {
    check(typeof name === 'string', `state dict key ${quote(name)} is not a string`);
    check(value instanceof TorchTensor, `state dict entry ${quote(name)} is not a tensor`);
    views.set(name, namingTensor(name, () => describeTensor(value)));
  }
  if (expected) checkAgainstConfig(expected, views);

  const budget: CopyBudget = { total: file.byteLength, left: file.byteLength };
  const tensors: TensorMap = new Map();
  for (const [name, view] of views) tensors.set(name, namingTensor(name, () => resolveTensor(zip, prefix, view, budget)));
  return tensors;
}

/** torch >= 2.1 records the saving machine's byte order; older files are little-endian. */
function checkByteOrder(zip: ZipArchive, prefix: string): void {
  const name = `${prefix}byteorder`;
  if (!zip.entries.has(name)) return;
  const order = new TextDecoder().decode(zip.read(name).subarray(0, 64)).trim();
  if (order === 'little') return;
  check(order !== 'big', "PyTorch checkpoint was saved on a big-endian machine (byteorder 'big'): re-save it on a little-endian one");
  throw new CheckpointError(`PyTorch checkpoint: byteorder ${quote(order)} is neither 'little' nor 'big'`);
}

/** Runs `read`, naming the tensor in any CheckpointError it throws. */
function namingTensor<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`tensor ${quote(name)}: ${e.message}`);
    throw e;
  }
}

function describeTensor(tensor: TorchTensor): TensorView {
  const { storage, storageOffset: offset, size, stride } = tensor;
  const dtype = STORAGE_DTYPES.get(storage.storageClass);
  if (!dtype) {
    throw new CheckpointError(`unsupported storage type torch.${storage.storageClass} (supported: ${[...STORAGE_DTYPES.keys()].join(', ')})`);
  }
  check(size.length <= MAX_RANK, `size has ${size.length} dimensions, more than ${MAX_RANK}`);
  check(size.length === stride.length, `size ${shapeText(size)} and stride ${shapeText(stride)} differ in rank`);
  numel(size);
  check(offset >= 0, `negative storage offset ${offset}`);
  check(stride.every((s) => s >= 0), `negative stride ${shapeText(stride)} (torch never saves one)`);
  return { dtype, shape: [...size], tensor };
}

function resolveTensor(zip: ZipArchive, prefix: string, view: TensorView, budget: CopyBudget): RawTensor {
  const { dtype, shape, tensor } = view;
  const { storage, storageOffset: offset, size, stride } = tensor;
  const entryName = `${prefix}data/${storage.key}`;
  check(zip.entries.has(entryName), `storage ${quote(storage.key)} is missing from the archive (no ${quote(entryName)})`);
  const data = zip.read(entryName);
  const elementBytes = DTYPE_BYTES[dtype];
  check(
    data.length === storage.numel * elementBytes,
    `storage ${quote(storage.key)} has ${data.length} bytes, but ${storage.numel} ${dtype} elements need ${storage.numel * elementBytes}`,
  );
  const n = numel(size);
  if (n === 0) return { dtype, shape, bytes: data.subarray(0, 0) };

  // Exact in BigInt: a lying stride times a size can exceed 2^53.
  let last = BigInt(offset);
  for (let d = 0; d < size.length; d++) last += BigInt(size[d] - 1) * BigInt(stride[d]);
  check(
    last < BigInt(storage.numel),
    `size ${shapeText(size)}, stride ${shapeText(stride)} at offset ${offset} reach element ${last}, past the ${storage.numel} in storage ${quote(storage.key)}`,
  );

  if (isContiguous(size, stride)) {
    return { dtype, shape, bytes: data.subarray(offset * elementBytes, (offset + n) * elementBytes) };
  }
  // Stride 0 or overlapping strides let a few stored bytes stand for gigabytes.
  const copyBytes = n * elementBytes;
  check(copyBytes <= budget.left, `copying its strided view would take ${copyBytes} bytes, past the ${budget.total} bytes (the file's size) all copies may take`);
  budget.left -= copyBytes;
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
