import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/checkpoint/errors';
import { isZip, ZipArchive } from '../../src/checkpoint/zip';
import { expectCheckpointError } from './expect-error';

// Written by torch.save (PyTorch's miniz writer: zip64 records, data descriptors, 64-byte aligned data).
const FILE = new Uint8Array(readFileSync(fileURLToPath(new URL('../../fixtures/torch-bin/dtypes.bin', import.meta.url))));


/** Offset of the last occurrence of a 4-byte little-endian signature. */
function lastSignature(bytes: Uint8Array, sig: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = bytes.length - 4; at >= 0; at--) if (dv.getUint32(at, true) === sig) return at;
  throw new Error('signature not found');
}

/** A copy of FILE with `edit` applied through a DataView. */
function patched(edit: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = FILE.slice();
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

const firstCentral = Buffer.from(FILE).indexOf(Buffer.from('PK\x01\x02', 'latin1')); // archive/data.pkl's

describe('ZipArchive', () => {
  it('lists the entries of a torch.save archive and returns views into it', () => {
    expect(isZip(FILE)).toBe(true);
    const zip = new ZipArchive(FILE);
    expect([...zip.entries.keys()]).toEqual([
      'archive/data.pkl',
      ...[0, 1, 2, 3, 4, 5, 6].map((i) => `archive/data/${i}`),
      'archive/version',
    ]);
    const pkl = zip.read('archive/data.pkl');
    expect([pkl[0], pkl[pkl.length - 1]]).toEqual([0x80, 0x2e]); // PROTO ... STOP
    expect(pkl.buffer).toBe(FILE.buffer);
    expect(new TextDecoder().decode(zip.read('archive/version')).trim()).toBe('3');
    for (const entry of zip.entries.values()) expect(zip.data(entry).byteOffset % 64, entry.name).toBe(0);
  });

  it('finds the end record behind a comment, even one that contains its signature', () => {
    const comment = new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(40).fill(0x41)]);
    const eocd = lastSignature(FILE, 0x06054b50);
    const file = new Uint8Array(FILE.length + comment.length);
    file.set(FILE);
    file.set(comment, FILE.length);
    new DataView(file.buffer).setUint16(eocd + 20, comment.length, true);
    expect(new ZipArchive(file).entries.size).toBe(9);
  });

  it('refuses a file without an end record', () => {
    expectCheckpointError(() => new ZipArchive(FILE.subarray(0, FILE.length - 1)), /no end-of-central-directory record/);
    expectCheckpointError(() => new ZipArchive(new Uint8Array(0)), /no end-of-central-directory record/);
    expectCheckpointError(() => new ZipArchive(new Uint8Array(70000)), /no end-of-central-directory record/);
  });

  it('refuses every truncation', () => {
    for (let cut = 0; cut < FILE.length; cut++) {
      expect(() => new ZipArchive(FILE.subarray(0, cut))).toThrow(CheckpointError);
    }
  });

  it('refuses a compressed entry, naming it', () => {
    const file = patched((dv) => dv.setUint16(firstCentral + 10, 8, true));
    const zip = new ZipArchive(file);
    expectCheckpointError(() => zip.read('archive/data.pkl'), /zip entry 'archive\/data.pkl' is compressed \(method 8\)/);
  });

  it('refuses an encrypted entry', () => {
    const zip = new ZipArchive(patched((dv) => dv.setUint16(firstCentral + 8, 1, true)));
    expectCheckpointError(() => zip.read('archive/data.pkl'), /is encrypted/);
  });

  it('refuses offsets and sizes beyond the file', () => {
    const size = patched((dv) => {
      dv.setUint32(firstCentral + 20, 1e6, true);
      dv.setUint32(firstCentral + 24, 1e6, true);
    });
    expectCheckpointError(() => new ZipArchive(size).read('archive/data.pkl'), /data \[\d+, 1000\d+\) is past the end of the file/);
    const local = patched((dv) => dv.setUint32(firstCentral + 42, 0x7fffffff, true));
    expectCheckpointError(() => new ZipArchive(local).read('archive/data.pkl'), /local header at 2147483647 is past the end/);
    const wrongLocal = patched((dv) => dv.setUint32(firstCentral + 42, 1, true));
    expectCheckpointError(() => new ZipArchive(wrongLocal).read('archive/data.pkl'), /no local header at 1/);
    const zip64 = lastSignature(FILE, 0x06064b50);
    const cd = patched((dv) => dv.setBigUint64(zip64 + 48, 2n ** 40n, true));
    expectCheckpointError(() => new ZipArchive(cd), /central directory \[1099511627776, \d+\) is past the end/);
    const locator = lastSignature(FILE, 0x07064b50);
    const record = patched((dv) => dv.setBigUint64(locator + 8, 2n ** 60n, true));
    expectCheckpointError(() => new ZipArchive(record), /zip64 end-of-central-directory offset 1152921504606846976 is out of range/);
  });

  it('bounds the entry count', () => {
    const zip64 = lastSignature(FILE, 0x06064b50);
    const many = patched((dv) => dv.setBigUint64(zip64 + 32, 2n ** 40n, true));
    expectCheckpointError(() => new ZipArchive(many), /1099511627776 entries is more than the \d+ allowed/);
    const more = patched((dv) => dv.setBigUint64(zip64 + 32, 10n, true));
    expectCheckpointError(() => new ZipArchive(more), /cannot hold 10 entries|overruns the directory|bad central directory entry 9/);
  });

  it('refuses a central directory entry that overruns the directory', () => {
    const file = patched((dv) => dv.setUint16(firstCentral + 28, 0xffff, true));
    expectCheckpointError(() => new ZipArchive(file), /central directory entry 0 overruns the directory/);
  });

  it('refuses duplicate names', () => {
    const second = Buffer.from(FILE).indexOf(Buffer.from('PK\x01\x02', 'latin1'), firstCentral + 4);
    const file = patched((_, bytes) => {
      expect(new TextDecoder().decode(bytes.subarray(second + 46, second + 60))).toBe('archive/data/0');
      bytes[second + 59] = '1'.charCodeAt(0);
    });
    expectCheckpointError(() => new ZipArchive(file), /duplicate entry 'archive\/data\/1'/);
  });
});
