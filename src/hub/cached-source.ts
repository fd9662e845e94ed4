// A model source backed by Cache Storage: the first load downloads (with progress), each file streamed into
// the cache as it arrives (one stream teed to the cache and to the parser's buffer: no whole-file copies);
// later loads, even offline, read from the cache. Works in a page and in a worker.
// Caching is an optimization: when the cache refuses a file (quota, a private window, a full disk) or the
// browser says it will not fit, the model loads from memory all the same and `cacheWarning` says that it
// will not be kept.
import { urlSource, type ModelSource } from '../checkpoint/source';

export const MODEL_CACHE = 'timesformer-models-v1';

export interface CachedModelSource extends ModelSource {
  /** Why this model will not be kept for the next visit, once a file could not be cached. */
  readonly cacheWarning: string | undefined;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Why `bytes` more will not fit in what the browser lets this origin store; undefined when they fit or nobody says. */
export async function storageShortfall(bytes: number): Promise<string | undefined> {
  if (!(bytes > 0) || typeof navigator === 'undefined' || !navigator.storage?.estimate) return undefined;
  const { quota, usage } = await navigator.storage.estimate().catch(() => ({ quota: undefined, usage: undefined }));
  if (quota === undefined || usage === undefined || bytes <= quota - usage) return undefined;
  return `it needs ${megabytes(bytes)}, and the browser lets this site store ${megabytes(Math.max(0, quota - usage))} more`;
}

/** Ask the browser not to evict what the cache keeps (pages only; it may decline, and nothing else changes). */
export async function requestPersistentStorage(): Promise<void> {
  if (typeof window === 'undefined' || !navigator.storage?.persist) return;
  if (!(await navigator.storage.persisted())) await navigator.storage.persist();
}

/**
 * The files under `base` with every answer kept in the cache under its URL: the files, and the files that
 * are not there (a 404, kept as an empty 404 response), so that a second visit asks the network nothing —
 * the loader probes for model.safetensors before pytorch_model.bin, and offline that probe must not fail.
 */
export function cachedSource(base: string, fetchFn: typeof fetch = fetch): CachedModelSource {
  let cacheWarning: string | undefined;
  const warn = (why: string) => {
    cacheWarning ??= `This model will not be kept in the browser (${why}): it loaded from memory and downloads again next time.`;
  };
  const fileOf = (url: string) => url.split('/').pop();
  const cache = typeof caches === 'undefined' ? Promise.resolve(undefined) : caches.open(MODEL_CACHE).catch((e: Error) => void warn(`the browser's cache cannot be opened: ${e.message}`));
  // Each download in progress, by URL: its cache write, and a way to stop it when the read fails.
  const writes = new Map<string, { refused: Promise<Error | undefined>; stop: AbortController }>();
  const keep = (url: string, response: Response, stop: AbortController, store: Cache) => {
    const refused = store.put(url, response).then(
      () => undefined,
      (e: Error) => {
        // A put that gave up without reading its half of the stream would have it buffer the whole file.
        response.body?.cancel().catch(() => {});
        return e;
      },
    );
    writes.set(url, { refused, stop });
  };

  const fetchAndKeep: typeof fetch = async (input, init) => {
    const url = String(input);
    const stop = new AbortController();
    const response = await fetchFn(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, stop.signal]) : stop.signal });
    const store = await cache;
    if (!store) return response;
    if (response.status === 404) {
      keep(url, new Response(null, { status: 404 }), stop, store);
      return response;
    }
    if (!response.ok || !response.body) return response;
    const shortfall = await storageShortfall(Number(response.headers.get('content-length')));
    if (shortfall) {
      warn(`${fileOf(url)}: ${shortfall}`);
      return response;
    }
    const [toCache, toParser] = response.body.tee();
    keep(url, new Response(toCache, { headers: { 'Content-Type': 'application/octet-stream' } }), stop, store);
    return new Response(toParser, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  const network = urlSource(base, fetchAndKeep);

  return {
    label: network.label,
    get cacheWarning() {
      return cacheWarning;
    },
    async read(file, options = {}) {
      const url = network.url(file);
      const hit = await (await cache)?.match(url);
      if (hit?.status === 404) return undefined;
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        options.onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
        return bytes;
      }
      try {
        const bytes = await network.read(file, options);
        // The write ends with the stream: wait for it, so that the warning is known with the model.
        const refused = await writes.get(url)?.refused;
        if (refused) warn(`${fileOf(url)}: the browser's cache refused it: ${refused.name}: ${refused.message}`);
        return bytes;
      } catch (e) {
        // The read says why it failed; the cache's half of the stream stops with it.
        writes.get(url)?.stop.abort();
        throw e;
      } finally {
        writes.delete(url);
      }
    },
  };
}

/** Drop a model's files from the cache. */
export async function evictModel(base: string): Promise<number> {
  const cache = await caches.open(MODEL_CACHE);
  const keys = await cache.keys();
  const prefix = base.replace(/\/+$/, '') + '/';
  const mine = keys.filter((r) => r.url.startsWith(prefix) || new URL(r.url).pathname.startsWith(prefix));
  await Promise.all(mine.map((r) => cache.delete(r)));
  return mine.length;
}
