// Engine-ready copies of models' weights (src/engine/engine-weights.ts) in the Origin Private File System, one
// file per model URL, and the autotuner's picks per adapter beside them: what makes a second visit a straight
// streamed upload with no tuning. Works in a page and in a worker. Like the download cache, it is an
// optimization: a copy that cannot be written (quota, a full disk) leaves a warning, never a failed load.
import type { ByteSink, ByteSource } from '../engine/engine-weights';
import type { StoredPicks } from '../engine/autotune';
import { storageShortfall } from './cached-source';

const DIRECTORY = 'engine-ready-v1';
const PICKS_FILE = 'autotune-picks.json';
/** The picks file holds a few adapters' picks (~50 classes each). */
const MAX_PICKS_BYTES = 2 ** 20;

/** A copy being written: appended to as the weights are packed, kept only once `finish` writes its manifest. */
export interface CopyWriter extends ByteSink {
  /** Write the manifest and keep the file; resolves to why it was not kept, if it was not. */
  finish(tail: Uint8Array): Promise<string | undefined>;
  /** Drop what was written (the load failed). */
  abort(): Promise<void>;
}

export interface EngineReadyStore {
  /** The copy for `url`, if one was kept; `close` it when read. */
  open(url: string): Promise<(ByteSource & { close(): void }) | undefined>;
  /** A new copy for `url` of about `bytes`, or why none will be kept. */
  create(url: string, bytes: number): Promise<CopyWriter | string>;
  /** Whether a copy for `url` is kept. */
  has(url: string): Promise<boolean>;
  remove(url: string): Promise<void>;
  readPicks(): Promise<StoredPicks[]>;
  writePicks(picks: StoredPicks): Promise<void>;
}

const fileName = async (url: string) => {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url)));
  return `weights-${[...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('')}.bin`;
};

const isNotFound = (e: unknown) => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');

/** The store in this origin's OPFS, or undefined where the browser has none. */
export async function engineReadyStore(): Promise<EngineReadyStore | undefined> {
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) return undefined;
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIRECTORY, { create: true });
  } catch {
    return undefined; // e.g. a private window without OPFS
  }
  const handle = async (name: string) => {
    try {
      return await dir.getFileHandle(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const store: EngineReadyStore = {
    async open(url) {
      const found = await handle(await fileName(url));
      if (!found) return undefined;
      // In a dedicated worker (the app's), a sync access handle reads straight into the caller's window (a
      // synchronous read: no overlap with the writes, but no copy either); it locks the file, so another tab
      // loading the same copy reads it as a File instead.
      const sync = await found.createSyncAccessHandle?.().catch(() => undefined);
      const size = sync && (() => {
        try {
          return sync.getSize();
        } catch {
          sync.close();
          return undefined;
        }
      })();
      if (sync && size !== undefined) {
        return {
          size,
          read: async (offset, length, into) => {
            const target = into ? into.subarray(0, length) : new Uint8Array(length);
            return target.subarray(0, sync.read(target, { at: offset }));
          },
          close: () => sync.close(),
        };
      }
      const file = await found.getFile();
      return { size: file.size, read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()), close() {} };
    },
    async create(url, bytes) {
      const shortfall = await storageShortfall(bytes);
      if (shortfall) return shortfall;
      const name = await fileName(url);
      let writable: FileSystemWritableFileStream;
      try {
        writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
      } catch (e) {
        return `the browser's file system refused it: ${(e as Error).message}`;
      }
      // A failed write (quota, a full disk) is kept to say at the end; the load goes on without the copy.
      let failed: string | undefined;
      const attempt = async (step: () => Promise<void>) => {
        if (failed) return;
        try {
          await step();
        } catch (e) {
          failed = `${(e as Error).name}: ${(e as Error).message}`;
          await writable.abort().catch(() => {});
        }
      };
      return {
        write: (chunk) => attempt(() => writable.write(chunk as Uint8Array<ArrayBuffer>)),
        async finish(tail) {
          // The writable commits on close, all at once: a copy is either whole or absent.
          await attempt(async () => {
            await writable.write(tail as Uint8Array<ArrayBuffer>);
            await writable.close();
          });
          if (failed) await dir.removeEntry(name).catch(() => {});
          return failed;
        },
        async abort() {
          failed ??= 'the load failed';
          await writable.abort().catch(() => {});
          await dir.removeEntry(name).catch(() => {});
        },
      };
    },
    async has(url) {
      // A copy being written (or cut off while written) is an empty file until its writable commits.
      const found = await handle(await fileName(url));
      return found !== undefined && (await found.getFile()).size > 0;
    },
    async remove(url) {
      await dir.removeEntry(await fileName(url)).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    },
    async readPicks() {
      const file = await (await handle(PICKS_FILE))?.getFile();
      if (!file || file.size > MAX_PICKS_BYTES) return [];
      try {
        const all: unknown = JSON.parse(await file.text());
        return Array.isArray(all) ? (all as StoredPicks[]) : [];
      } catch {
        return [];
      }
    },
    async writePicks(picks) {
      const others = (await store.readPicks()).filter((p) => p?.adapter !== picks.adapter).slice(-7);
      const writable = await (await dir.getFileHandle(PICKS_FILE, { create: true })).createWritable();
      await writable.write(JSON.stringify([...others, picks]));
      await writable.close();
    },
  };
  return store;
}
