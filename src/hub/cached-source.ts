// A model source backed by Cache Storage: the first load downloads (with progress), later loads,
// even offline, read from the cache. Works in a page and in a worker.
import type { ModelSource } from '../checkpoint/source';

export const MODEL_CACHE = 'timesformer-models-v1';

/**
 * `source` with every answer kept in the cache under its URL: the files, and the files that are not
 * there (a 404, kept as an empty 404 response), so that a second visit asks the network nothing —
 * the loader probes for model.safetensors before pytorch_model.bin, and offline that probe must not fail.
 */
export function cachedSource(source: ModelSource & { url(file: string): string }): ModelSource {
  return {
    label: source.label,
    async read(file, options = {}) {
      const url = source.url(file);
      const cache = typeof caches === 'undefined' ? undefined : await caches.open(MODEL_CACHE);
      const hit = await cache?.match(url);
      if (hit?.status === 404) return undefined;
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        options.onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
        return bytes;
      }
      const bytes = await source.read(file, options);
      const answer = bytes ? new Response(bytes.slice().buffer, { headers: { 'Content-Length': String(bytes.byteLength) } }) : new Response(null, { status: 404 });
      await cache?.put(url, answer);
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
