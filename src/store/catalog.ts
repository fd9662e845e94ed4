// Which models the app offers and which one a URL asks for: the hub catalog (src/hub/registry.ts), the
// folders this app serves (/models/index.json), models named by URL, and local folders the user opened.
import { DEFAULT_MODEL_ID, HUB_MODELS, localEntry, withHub, type CatalogEntry, type LocalIndexEntry } from '../hub/registry';
import type { ModelRef } from '../worker/protocol';

/** Where an entry comes from, for grouping in the model list. */
export type EntryOrigin = 'app' | 'hub' | 'url' | 'folder';

export interface ModelEntry extends CatalogEntry {
  origin: EntryOrigin;
}

export interface StartParams {
  /** ?model=<catalog id | /models/<id> | URL> */
  model: string;
  /** ?hub=<url>: a server standing in for huggingface.co. */
  hub?: string;
}

export function readParams(search: string): StartParams {
  const params = new URLSearchParams(search);
  return { model: params.get('model') || DEFAULT_MODEL_ID, hub: params.get('hub') || undefined };
}

export function buildCatalog(local: LocalIndexEntry[], hub?: string): ModelEntry[] {
  return [
    ...local.map((e): ModelEntry => ({ ...localEntry(e), origin: 'app' })),
    ...HUB_MODELS.map((e): ModelEntry => ({ ...(hub ? withHub(e, hub) : e), origin: 'hub' })),
  ];
}

const trimSlashes = (s: string) => s.replace(/\/+$/, '');

/**
 * The entry `param` names: a catalog id, the path of a served folder (/models/x or /models/x/), or any
 * other URL of a model folder (an entry is made for it). Undefined when it is none of these.
 */
export function resolveModelParam(param: string, catalog: ModelEntry[]): ModelEntry | undefined {
  const byId = catalog.find((e) => e.id === param);
  if (byId) return byId;
  const base = trimSlashes(param);
  const byBase = catalog.find((e) => e.base === base);
  if (byBase) return byBase;
  if (!/^(https?:\/\/|\/)/.test(param)) return undefined;
  const name = base.split('/').pop() || base;
  return { id: base, name, base, sizeMB: 0, frames: 0, imageSize: 0, dataset: 'unknown', labels: 0, licence: 'unknown: see where the model comes from', origin: 'url' };
}

/** An entry for a model folder the user opened (picked or dropped). */
export function folderEntry(name: string, files: File[]): ModelEntry {
  const sizeMB = Math.round(files.reduce((s, f) => s + f.size, 0) / 1e6);
  return { id: `folder:${name}`, name, base: '', sizeMB, frames: 0, imageSize: 0, dataset: 'unknown', labels: 0, licence: 'unknown: see where the files come from', origin: 'folder' };
}

export function modelRef(entry: ModelEntry, files?: File[]): ModelRef {
  return files ? { kind: 'files', id: entry.id, files } : { kind: 'url', id: entry.id, base: entry.base };
}

/** Weights files the loader looks for, in its order (src/checkpoint/load.ts). */
const WEIGHTS_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'];

/**
 * Cache Storage keys (absolute URLs, as the worker's cachedSource writes them) that show an entry was
 * downloaded: its config.json, and any one weights file (the catalog's guess may not be what is served).
 */
export function cacheKeys(entry: ModelEntry, pageUrl: string): { config: string; weights: string[] } {
  const url = (f: string) => new URL(`${entry.base}/${f}`, pageUrl).href;
  return { config: url('config.json'), weights: WEIGHTS_FILES.map(url) };
}

/** Non-commercial licences deserve a warning next to the download button. */
export function isNonCommercial(entry: CatalogEntry): boolean {
  return /\bNC\b|non-commercial/i.test(entry.licence);
}
