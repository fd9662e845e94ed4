/**
 * Minimal ZIP reader for PyTorch checkpoints: central directory (zip64 included) and STORED entries,
 * returned as zero-copy views into the file. Hand-written because general zip libraries copy or
 * inflate, and a checkpoint can be hundreds of MB of uncompressed tensors.
 * CRCs are not checked: hashing the whole file would cost as much as a copy, and a corrupt tensor
 * inside a structurally valid archive is outside what this layer can judge.
 */
import { check, CheckpointError, quote } from './errors';
import { MAX_TENSORS } from './tensor';

const LOCAL_HEADER_SIG = 0x04034b50;
const CENTRAL_HEADER_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;

const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA_ID = 0x0001;

/** A checkpoint has one entry per storage (at most one per tensor) and a few records. */
export const MAX_ZIP_ENTRIES = MAX_TENSORS + 16;

export interface ZipEntry {
  name: string;
  /** 0 = STORED; anything else is compressed. */
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** True when the bytes start like a ZIP archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && view(bytes).getUint32(0, true) === LOCAL_HEADER_SIG;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** 64-bit field as a number; larger than any file we can hold is a lie. */
function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  check(v <= BigInt(Number.MAX_SAFE_INTEGER), `zip: ${what} ${v} is out of range`);
  return Number(v);
}

const utf8 = new TextDecoder('utf-8');

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly dv: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.dv = view(bytes);
    this.entries = this.readCentralDirectory();
  }

  /** The STORED entry's data as a view into the archive bytes (no copy). */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) throw new CheckpointError(`zip: no entry ${quote(name)}`);
    return this.data(entry);
  }

  data(entry: ZipEntry): Uint8Array {
    const { bytes, dv } = this;
    check(entry.method === 0, `zip entry ${quote(entry.name)} is compressed (method ${entry.method}); only STORED entries are supported`);
    check((entry.flags & 1) === 0, `zip entry ${quote(entry.name)} is encrypted`);
    check(entry.compressedSize === entry.size, `zip entry ${quote(entry.name)} is STORED but its sizes differ (${entry.compressedSize} vs ${entry.size})`);
    const at = entry.localHeaderOffset;
    check(at + LOCAL_HEADER_SIZE <= bytes.length, `zip entry ${quote(entry.name)}: local header at ${at} is past the end of the file (${bytes.length} bytes)`);
    check(dv.getUint32(at, true) === LOCAL_HEADER_SIG, `zip entry ${quote(entry.name)}: no local header at ${at}`);
    const nameLen = dv.getUint16(at + 26, true);
    const extraLen = dv.getUint16(at + 28, true);
    const nameStart = at + LOCAL_HEADER_SIZE;
    // The sizes in the local header may be zero (PyTorch writes data descriptors); the central
    // directory's are authoritative. The local extra field is read only for its length: PyTorch
    // pads it so that tensor data is 64-byte aligned.
    const start = nameStart + nameLen + extraLen;
    const end = start + entry.size;
    check(end <= bytes.length, `zip entry ${quote(entry.name)}: data [${start}, ${end}) is past the end of the file (${bytes.length} bytes)`);
    const localName = utf8.decode(bytes.subarray(nameStart, nameStart + nameLen));
    check(localName === entry.name, `zip entry ${quote(entry.name)}: local header names ${quote(localName)}`);
    return bytes.subarray(start, end);
  }

  private readCentralDirectory(): Map<string, ZipEntry> {
    const { bytes, dv } = this;
    const eocd = this.findEndOfCentralDirectory();
    check(dv.getUint16(eocd + 4, true) === 0 && dv.getUint16(eocd + 6, true) === 0, 'zip: multi-disk archives are not supported');
    let count = dv.getUint16(eocd + 10, true);
    let cdSize = dv.getUint32(eocd + 12, true);
    let cdOffset = dv.getUint32(eocd + 16, true);

    const locator = eocd - ZIP64_LOCATOR_SIZE;
    if (locator >= 0 && dv.getUint32(locator, true) === ZIP64_LOCATOR_SIG) {
      const at = u64(dv, locator + 8, 'zip64 end-of-central-directory offset');
      check(at + ZIP64_EOCD_SIZE <= locator, `zip: zip64 end-of-central-directory offset ${at} is out of range`);
      check(dv.getUint32(at, true) === ZIP64_EOCD_SIG, `zip: no zip64 end-of-central-directory record at ${at}`);
      check(dv.getUint32(at + 16, true) === 0 && dv.getUint32(at + 20, true) === 0, 'zip: multi-disk archives are not supported');
      count = u64(dv, at + 32, 'entry count');
      cdSize = u64(dv, at + 40, 'central directory size');
      cdOffset = u64(dv, at + 48, 'central directory offset');
    }
    check(count <= MAX_ZIP_ENTRIES, `zip: ${count} entries is more than the ${MAX_ZIP_ENTRIES} allowed`);
    check(cdOffset + cdSize <= bytes.length, `zip: central directory [${cdOffset}, ${cdOffset + cdSize}) is past the end of the file (${bytes.length} bytes)`);
    check(count * CENTRAL_HEADER_SIZE <= cdSize, `zip: central directory of ${cdSize} bytes cannot hold ${count} entries`);

    const entries = new Map<string, ZipEntry>();
    const cdEnd = cdOffset + cdSize;
    let at = cdOffset;
    for (let i = 0; i < count; i++) {
      check(at + CENTRAL_HEADER_SIZE <= cdEnd, `zip: central directory entry ${i} overruns the directory`);
      check(dv.getUint32(at, true) === CENTRAL_HEADER_SIG, `zip: bad central directory entry ${i} at ${at}`);
      const nameLen = dv.getUint16(at + 28, true);
      const extraLen = dv.getUint16(at + 30, true);
      const commentLen = dv.getUint16(at + 32, true);
      const next = at + CENTRAL_HEADER_SIZE + nameLen + extraLen + commentLen;
      check(next <= cdEnd, `zip: central directory entry ${i} overruns the directory`);
      const nameStart = at + CENTRAL_HEADER_SIZE;
      const name = utf8.decode(bytes.subarray(nameStart, nameStart + nameLen));
      const entry: ZipEntry = {
        name,
        flags: dv.getUint16(at + 8, true),
        method: dv.getUint16(at + 10, true),
        compressedSize: dv.getUint32(at + 20, true),
        size: dv.getUint32(at + 24, true),
        localHeaderOffset: dv.getUint32(at + 42, true),
      };
      check(dv.getUint16(at + 34, true) === 0 || dv.getUint16(at + 34, true) === 0xffff, `zip entry ${quote(name)} is on another disk`);
      this.applyZip64Extra(entry, nameStart + nameLen, extraLen);
      check(!entries.has(name), `zip: duplicate entry ${quote(name)}`);
      entries.set(name, entry);
      at = next;
    }
    return entries;
  }

  /** Scans backwards for the EOCD record whose comment ends exactly at the end of the file. */
  private findEndOfCentralDirectory(): number {
    const { bytes, dv } = this;
    const last = bytes.length - EOCD_SIZE;
    const first = Math.max(0, last - MAX_COMMENT);
    for (let at = last; at >= first; at--) {
      if (dv.getUint32(at, true) === EOCD_SIG && at + EOCD_SIZE + dv.getUint16(at + 20, true) === bytes.length) return at;
    }
    throw new CheckpointError(`zip: no end-of-central-directory record (not a zip archive, or truncated; ${bytes.length} bytes)`);
  }

  /** Zip64 extra field: 64-bit values for exactly those fields the header saturated to 0xffffffff. */
  private applyZip64Extra(entry: ZipEntry, start: number, length: number): void {
    const dv = this.dv;
    const end = start + length;
    for (let at = start; at + 4 <= end; ) {
      const id = dv.getUint16(at, true);
      const size = dv.getUint16(at + 2, true);
      const dataEnd = at + 4 + size;
      check(dataEnd <= end, `zip entry ${quote(entry.name)}: extra field overruns its header`);
      if (id === ZIP64_EXTRA_ID) {
        let p = at + 4;
        const take = (what: string): number => {
          check(p + 8 <= dataEnd, `zip entry ${quote(entry.name)}: zip64 extra field lacks the ${what}`);
          const v = u64(dv, p, what);
          p += 8;
          return v;
        };
        if (entry.size === 0xffffffff) entry.size = take('size');
        if (entry.compressedSize === 0xffffffff) entry.compressedSize = take('compressed size');
        if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = take('local header offset');
      }
      at = dataEnd;
    }
  }
}
