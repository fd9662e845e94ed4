import { CheckpointError, quote } from './errors';

/** Largest single model file we read (the published checkpoints are ~490 MB). */
export const MAX_MODEL_FILE_BYTES = 2 ** 31 - 1;

export interface ReadProgress {
  file: string;
  loaded: number;
  total: number | undefined;
  /** Read from a local cache rather than downloaded. */
  cached?: boolean;
}

/**
 * Where a model's files come from: a folder on disk, a URL prefix (the hub, the app's /models), or
 * files a user picked. `read` resolves to undefined when the file does not exist there.
 */
export interface ModelSource {
  readonly label: string;
  read(file: string, options?: { signal?: AbortSignal; onProgress?: (p: ReadProgress) => void }): Promise<Uint8Array | undefined>;
}

/** Files under a URL prefix, e.g. `https://huggingface.co/{repo}/resolve/main` or `/models/tiny-divided`. */
export function urlSource(base: string, fetchFn: typeof fetch = fetch): ModelSource & { url(file: string): string } {
  const root = base.replace(/\/+$/, '');
  return {
    label: root,
    url: (file) => new URL(`${root}/${file}`, globalThis.location?.href).href,
    async read(file, { signal, onProgress } = {}) {
      const url = this.url(file);
      let response: Response;
      try {
        response = await fetchFn(url, { signal });
      } catch (e) {
        if (signal?.aborted) throw e;
        throw new CheckpointError(`could not fetch ${url}: ${(e as Error).message} (offline?)`);
      }
      if (response.status === 404) return undefined;
      if (!response.ok) throw new CheckpointError(`fetching ${url} failed: HTTP ${response.status} ${response.statusText}`);
      const header = response.headers.get('content-length');
      const total = header === null ? undefined : Number(header);
      if (total !== undefined && !(Number.isSafeInteger(total) && total >= 0)) throw new CheckpointError(`${url} has an invalid Content-Length ${quote(header)}`);
      return readBounded(response, url, total, (loaded) => onProgress?.({ file, loaded, total }));
    },
  };
}

/** A body read into one buffer, refusing anything larger than MAX_MODEL_FILE_BYTES before allocating. */
async function readBounded(response: Response, url: string, total: number | undefined, onProgress: (loaded: number) => void): Promise<Uint8Array> {
  if (total !== undefined && total > MAX_MODEL_FILE_BYTES) {
    throw new CheckpointError(`${url} is ${total} bytes, larger than the ${MAX_MODEL_FILE_BYTES}-byte limit`);
  }
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  // A compressed or lying Content-Length can undercount: grow as needed, bounded.
  let out = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > out.byteLength) {
      const size = Math.min(MAX_MODEL_FILE_BYTES, Math.max(out.byteLength * 2, loaded + value.byteLength));
      if (loaded + value.byteLength > size) {
        await reader.cancel();
        throw new CheckpointError(`${url} is larger than the ${MAX_MODEL_FILE_BYTES}-byte limit`);
      }
      const grown = new Uint8Array(size);
      grown.set(out.subarray(0, loaded));
      out = grown;
    }
    out.set(value, loaded);
    loaded += value.byteLength;
    onProgress(loaded);
  }
  return out.subarray(0, loaded);
}

/** Files a user picked or dropped (a model folder), matched by base name. */
export function fileListSource(files: Iterable<File>, label = 'local files'): ModelSource {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.name, f);
  return {
    label,
    async read(file) {
      const f = byName.get(file);
      if (!f) return undefined;
      if (f.size > MAX_MODEL_FILE_BYTES) throw new CheckpointError(`${file} is ${f.size} bytes, larger than the ${MAX_MODEL_FILE_BYTES}-byte limit`);
      return new Uint8Array(await f.arrayBuffer());
    },
  };
}
