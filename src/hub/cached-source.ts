// A model source backed by Cache Storage: the first load downloads (with progress), later loads,
// even offline, read from the cache. Works in a page and in a worker.
import type { ModelSource } from '../checkpoint/source';

export const MODEL_CACHE = 'timesformer-models-v1';

/** `source` with every file it finds kept in the cache under its URL. */
export function cachedSource(source: ModelSource & { url(file: string): string }): ModelSource {
  return {
    label: source.label,
    async read(file, options = {}) {
      const url = source.url(file);
      const cache = typeof caches === 'undefined' ? undefined : await caches.open(MODEL_CACHE);
      const hit = await cache?.match(url);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        options.onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
        return bytes;
      }
      const bytes = await source.read(file, options);
      // Only real files are kept: a missing one (404) is asked again next time.
      if (bytes && cache) await cache.put(url, new Response(bytes.slice().buffer, { headers: { 'Content-Length': String(bytes.byteLength) } }));
      return bytes;
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
