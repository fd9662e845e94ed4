// The store's dependencies in the browser: the inference worker, /models/index.json, Cache Storage.
import { deviceTierFrom } from '../engine/device';
import { evictModel, MODEL_CACHE } from '../hub/cached-source';
import { engineReadyStore } from '../hub/engine-ready-store';
import type { LocalIndexEntry } from '../hub/registry';
import { InferenceClient } from '../worker/client';
import { browserLiveDeps } from '../live/browser';
import type { AppDeps } from './types';

async function localModels(): Promise<LocalIndexEntry[]> {
  const response = await fetch('/models/index.json');
  if (!response.ok) throw new Error(`/models/index.json: HTTP ${response.status}`);
  const index = (await response.json()) as { models?: LocalIndexEntry[] };
  return index.models ?? [];
}

async function cached(urls: string[]): Promise<boolean[]> {
  if (typeof caches === 'undefined') return urls.map(() => false);
  const cache = await caches.open(MODEL_CACHE);
  // A kept 404 (a file the hub does not have) is not a cached file.
  return Promise.all(urls.map(async (u) => (await cache.match(u))?.ok === true));
}

export function browserDeps(): AppDeps {
  let client: InferenceClient | undefined;
  return {
    client: (events) => (client = new InferenceClient(events, deviceTierFrom(location.search))),
    localModels,
    cached,
    engineReadyCopies: async (bases) => {
      const store = await engineReadyStore();
      return Promise.all(bases.map((b) => store?.has(b).catch(() => false) ?? false));
    },
    // The download and our engine's engine-ready copy of it go together.
    evict: async (base) => {
      const removed = await evictModel(base);
      // A copy being read right now (a load in progress) cannot be removed: it goes with the next evict.
      await (await engineReadyStore())?.remove(base).catch(() => {});
      return removed;
    },
    objectUrl: { create: (blob) => URL.createObjectURL(blob), revoke: (url) => URL.revokeObjectURL(url) },
    pageUrl: location.href,
    now: () => performance.now(),
    storage: localStorage,
    live: browserLiveDeps(() => client!.liveLink()),
  };
}
