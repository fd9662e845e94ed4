/**
 * A pickle *reader* for PyTorch state dicts: it interprets the opcodes torch.save emits (protocols
 * 2–5) into plain data and never runs anything. Globals are names checked against an allow-list;
 * "calling" an allowed one (REDUCE) builds a data object describing the call's result.
 */
import { check, CheckpointError, quote } from './errors';

/** data.pkl of the largest TimeSformer we accept is about 200 KB; this bounds the time a hostile pickle takes. */
export const MAX_PICKLE_BYTES = 2 << 20;
const MAX_STACK = 1 << 20;
/** A state dict's pickle nests a few levels deep; each open MARK holds an array. */
const MAX_MARKS = 1 << 16;
const MAX_MEMO = 1 << 20;
/** Lists, tuples and dicts: a state dict builds about seven per tensor; each costs far more memory than its opcode. */
const MAX_CONTAINERS = 1 << 16;

/** The torch storage classes a persistent id may name; which dtypes we load is decided later. */
const STORAGE_CLASSES = [
  'DoubleStorage', 'FloatStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage', 'IntStorage',
  'ShortStorage', 'CharStorage', 'ByteStorage', 'BoolStorage', 'ComplexDoubleStorage',
  'ComplexFloatStorage', 'QUInt8Storage', 'QInt8Storage', 'QInt32Storage', 'QUInt4x2Storage',
  'QUInt2x4Storage', 'UntypedStorage',
];

const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...STORAGE_CLASSES.map((c) => `torch.${c}`),
]);

/** A reference to an allowed global (a class or function), by its dotted name. */
export class PyGlobal {
  constructor(readonly name: string) {}
}

/** A Python dict or collections.OrderedDict (insertion order is kept either way). */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
}

/** A storage named by a persistent id: ('storage', torch.<Type>Storage, key, location, numel). */
export class TorchStorage {
  constructor(
    /** e.g. 'FloatStorage'. */
    readonly storageClass: string,
    /** Names the archive entry `<prefix>/data/<key>`. */
    readonly key: string,
    readonly location: string,
    /** Elements (not bytes) in the storage. */
    readonly numel: number,
  ) {}
}

/** What torch._utils._rebuild_tensor_v2 would return: a strided view of a storage (in elements). */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

export type PyKey = string | number | boolean | null;
/** Lists and tuples are both arrays: nothing a state dict holds depends on the difference. */
export type PyValue = PyKey | Uint8Array | PyValue[] | PyDict | PyGlobal | TorchStorage | TorchTensor;

const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, BINFLOAT: 0x47, BININT: 0x4a,
  BININT1: 0x4b, BININT2: 0x4d, NONE: 0x4e, BINPERSID: 0x51, REDUCE: 0x52, BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55, BINUNICODE: 0x58, EMPTY_LIST: 0x5d, APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63,
  DICT: 0x64, APPENDS: 0x65, BINGET: 0x68, LONG_BINGET: 0x6a, LIST: 0x6c, BINPUT: 0x71,
  LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, SETITEMS: 0x75, EMPTY_DICT: 0x7d, EMPTY_TUPLE: 0x29,
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43, PROTO: 0x80, NEWOBJ: 0x81, TUPLE1: 0x85, TUPLE2: 0x86,
  TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d, BINBYTES8: 0x8e, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one pickle and returns the object it builds. Throws CheckpointError on anything else. */
export function readPickle(bytes: Uint8Array): PyValue {
  check(bytes.length <= MAX_PICKLE_BYTES, `pickle of ${bytes.length} bytes is larger than the ${MAX_PICKLE_BYTES} allowed`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let op = 0;
  let opAt = 0;
  // MARK starts a fresh `stack`, saving the current one in `marks`; `belowMarks` counts their items.
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  let belowMarks = 0;
  const memo = new Map<number, PyValue>();
  let containers = 0;

  // Explicitly typed so that TypeScript narrows after `if (...) fail(...)`.
  const fail: (message: string) => never = (message) => {
    throw new CheckpointError(`pickle: ${message} (${OP_NAMES.get(op) ?? 'opcode'} at byte ${opAt})`);
  };
  /** Claims n bytes of the input, returning where they start. */
  const take = (n: number): number => {
    if (n > bytes.length - pos) fail(`truncated: needs ${n} more bytes, ${bytes.length - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  const takeBytes = (n: number): Uint8Array => {
    const at = take(n);
    return bytes.subarray(at, at + n);
  };
  const u64 = (): number => {
    const v = dv.getBigUint64(take(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is out of range`);
    return Number(v);
  };
  const decodeUtf8 = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in string');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: unterminated line');
    const text = decodeUtf8(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const container = <T extends PyValue>(v: T): T => {
    if (++containers > MAX_CONTAINERS) fail(`more than ${MAX_CONTAINERS} lists, tuples and dicts`);
    return v;
  };
  const push = (v: PyValue): void => {
    if (belowMarks + stack.length >= MAX_STACK) fail(`stack deeper than ${MAX_STACK}`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  /** Items pushed since the last MARK, restoring the stack below it. */
  const popMark = (): PyValue[] => {
    const items = stack;
    const below = marks.pop();
    if (!below) return fail('no MARK on the stack');
    stack = below;
    belowMarks -= below.length;
    return items;
  };
  const memoPut = (index: number): void => {
    if (!memo.has(index) && memo.size >= MAX_MEMO) fail(`memo larger than ${MAX_MEMO}`);
    memo.set(index, top());
  };
  const memoGet = (index: number): void => {
    if (!memo.has(index)) fail(`memo key ${index} is not set`);
    push(memo.get(index) as PyValue);
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(qualified)) fail(`refusing pickle global ${quote(qualified)}`);
    return new PyGlobal(qualified);
  };
  const asKey = (v: PyValue): PyKey => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    return fail('unsupported dict key type');
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) fail('setting items on something that is not a dict');
    if (items.length % 2 !== 0) fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) target.map.set(asKey(items[i]), items[i + 1]);
  };
  const append = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) fail('appending to something that is not a list');
    for (const item of items) target.push(item); // not push(...items): spreading a huge MARK would overflow
  };
  /** Little-endian two's complement of n bytes (LONG1/LONG4). */
  const long = (n: number): number => {
    if (n > 8) fail(`${n}-byte integer is out of range`);
    const b = takeBytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) fail(`integer ${v} is out of range`);
    return Number(v);
  };
  const reduce = (callable: PyValue, args: PyValue): PyValue => {
    if (!(callable instanceof PyGlobal)) return fail('calling something that is not an allowed global');
    if (!Array.isArray(args)) return fail(`arguments to ${callable.name} are not a tuple`);
    switch (callable.name) {
      case 'collections.OrderedDict':
        if (args.length !== 0) fail('OrderedDict with arguments is not supported');
        return container(new PyDict());
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return rebuildTensor(args, fail);
      case 'torch._utils._rebuild_parameter':
        if (!(args[0] instanceof TorchTensor)) fail('_rebuild_parameter of something that is not a tensor');
        return args[0];
      default:
        return fail(`calling ${callable.name} is not supported`);
    }
  };
  const persistentLoad = (pid: PyValue): TorchStorage => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') return fail('unsupported persistent id');
    const [, cls, key, location, n] = pid;
    if (!(cls instanceof PyGlobal) || !cls.name.startsWith('torch.') || !cls.name.endsWith('Storage')) {
      return fail('persistent id does not name a storage class');
    }
    if (typeof key !== 'string' || typeof location !== 'string') return fail('persistent id key or location is not a string');
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return fail(`bad storage size ${quote(n)}`);
    return new TorchStorage(cls.name.slice('torch.'.length), key, location, n);
  };

  for (;;) {
    if (pos >= bytes.length) throw new CheckpointError(`pickle: truncated: ended at byte ${pos} without STOP`);
    opAt = pos;
    op = bytes[pos++];
    switch (op) {
      case OP.PROTO: {
        const proto = bytes[take(1)];
        if (proto < 2 || proto > 5) fail(`unsupported protocol ${proto}`);
        break;
      }
      // Frames only group opcodes for buffered reading; the whole pickle is already in memory.
      case OP.FRAME:
        if (u64() > bytes.length - pos) fail('truncated: frame runs past the end');
        break;
      case OP.STOP: {
        if (marks.length > 0) fail('MARK left open at STOP');
        const result = pop();
        if (stack.length !== 0) fail('items left on the stack at STOP');
        return result;
      }
      case OP.MARK:
        if (marks.length >= MAX_MARKS) fail(`more than ${MAX_MARKS} open MARKs`);
        marks.push(stack);
        belowMarks += stack.length;
        stack = [];
        break;
      case OP.POP:
        pop();
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT:
        push(dv.getInt32(take(4), true));
        break;
      case OP.BININT1:
        push(bytes[take(1)]);
        break;
      case OP.BININT2:
        push(dv.getUint16(take(2), true));
        break;
      case OP.LONG1:
        push(long(bytes[take(1)]));
        break;
      case OP.LONG4:
        push(long(dv.getUint32(take(4), true)));
        break;
      case OP.BINFLOAT:
        push(dv.getFloat64(take(8), false));
        break;
      case OP.SHORT_BINUNICODE:
        push(decodeUtf8(takeBytes(bytes[take(1)])));
        break;
      case OP.BINUNICODE:
        push(decodeUtf8(takeBytes(dv.getUint32(take(4), true))));
        break;
      case OP.BINUNICODE8:
        push(decodeUtf8(takeBytes(u64())));
        break;
      // Python 2 str: torch.load decodes these as UTF-8 text.
      case OP.SHORT_BINSTRING:
        push(decodeUtf8(takeBytes(bytes[take(1)])));
        break;
      case OP.BINSTRING:
        push(decodeUtf8(takeBytes(dv.getUint32(take(4), true))));
        break;
      case OP.SHORT_BINBYTES:
        push(takeBytes(bytes[take(1)]));
        break;
      case OP.BINBYTES:
        push(takeBytes(dv.getUint32(take(4), true)));
        break;
      case OP.BINBYTES8:
        push(takeBytes(u64()));
        break;
      case OP.EMPTY_TUPLE:
      case OP.EMPTY_LIST:
        push(container([]));
        break;
      case OP.EMPTY_DICT:
        push(container(new PyDict()));
        break;
      case OP.TUPLE:
      case OP.LIST:
        push(container(popMark()));
        break;
      case OP.TUPLE1:
        push(container([pop()]));
        break;
      case OP.TUPLE2: {
        const b = pop();
        push(container([pop(), b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        push(container([pop(), b, c]));
        break;
      }
      case OP.DICT: {
        const dict = container(new PyDict());
        setItems(dict, popMark());
        push(dict);
        break;
      }
      case OP.APPEND: {
        const item = pop();
        append(top(), [item]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.BINPUT:
        memoPut(bytes[take(1)]);
        break;
      case OP.LONG_BINPUT:
        memoPut(dv.getUint32(take(4), true));
        break;
      case OP.MEMOIZE:
        memoPut(memo.size);
        break;
      case OP.BINGET:
        memoGet(bytes[take(1)]);
        break;
      case OP.LONG_BINGET:
        memoGet(dv.getUint32(take(4), true));
        break;
      case OP.GLOBAL: {
        const module = line();
        push(global(module, line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL names are not strings');
        push(global(module, name));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        push(reduce(pop(), args));
        break;
      }
      // cls.__new__(cls, *args): for the classes we allow that is the same as calling them.
      case OP.NEWOBJ: {
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || cls.name !== 'collections.OrderedDict') fail('NEWOBJ of something other than OrderedDict');
        push(reduce(cls, args));
        break;
      }
      // nn.Module.state_dict() attaches `_metadata` (per-module versions) to the OrderedDict;
      // torch.save pickles it as BUILD state. We keep the mapping and drop the attribute.
      case OP.BUILD: {
        pop();
        if (!(top() instanceof PyDict)) fail('BUILD on something other than a dict');
        break;
      }
      case OP.BINPERSID:
        push(persistentLoad(pop()));
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

function rebuildTensor(args: PyValue[], fail: (message: string) => never): TorchTensor {
  // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
  const [storage, offset, size, stride] = args;
  if (args.length < 4 || args.length > 7) fail(`_rebuild_tensor with ${args.length} arguments`);
  if (!(storage instanceof TorchStorage)) return fail('tensor storage is not a persistent storage');
  const ints = (v: PyValue): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x));
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) return fail('tensor storage offset is not an integer');
  if (!ints(size) || !ints(stride)) return fail('tensor size or stride is not a tuple of integers');
  return new TorchTensor(storage, offset, size, stride);
}
