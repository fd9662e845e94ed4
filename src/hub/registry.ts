// The checkpoints the app knows: the published TimeSformer models (Hugging Face hub) and the small
// models served from this app's /models/ folder (random weights, for offline use and tests).

export interface CatalogEntry {
  id: string;
  name: string;
  /** Hugging Face repository, or undefined for a model served by this app. */
  repo?: string;
  /** Where the files are: the hub's resolve URL or /models/<id>. */
  base: string;
  /** Weights file on the hub (pytorch_model.bin for the facebook/* ones). */
  weights?: string;
  sizeMB: number;
  frames: number;
  imageSize: number;
  dataset: string;
  labels: number;
  licence: string;
}

export const HUB = 'https://huggingface.co';
export const DEFAULT_MODEL_ID = 'facebook/timesformer-base-finetuned-k400';
const CC_BY_NC = 'CC BY-NC 4.0 (non-commercial use only)';

const hub = (repo: string, sizeMB: number, frames: number, imageSize: number, dataset: string, labels: number, weights: string): CatalogEntry => ({
  id: repo,
  name: repo.split('/')[1],
  repo,
  base: `${HUB}/${repo}/resolve/main`,
  weights,
  sizeMB,
  frames,
  imageSize,
  dataset,
  labels,
  licence: CC_BY_NC,
});

export const HUB_MODELS: CatalogEntry[] = [
  hub('facebook/timesformer-base-finetuned-k400', 486, 8, 224, 'Kinetics-400', 400, 'pytorch_model.bin'),
  hub('facebook/timesformer-base-finetuned-k600', 487, 8, 224, 'Kinetics-600', 600, 'pytorch_model.bin'),
  hub('facebook/timesformer-base-finetuned-ssv2', 486, 8, 224, 'Something-Something v2', 174, 'pytorch_model.bin'),
  hub('facebook/timesformer-hr-finetuned-k400', 488, 16, 448, 'Kinetics-400', 400, 'pytorch_model.bin'),
  hub('facebook/timesformer-hr-finetuned-k600', 489, 16, 448, 'Kinetics-600', 600, 'pytorch_model.bin'),
  hub('facebook/timesformer-hr-finetuned-ssv2', 488, 16, 448, 'Something-Something v2', 174, 'pytorch_model.bin'),
  hub('fcakyon/timesformer-large-finetuned-k400', 487, 96, 224, 'Kinetics-400', 400, 'model.safetensors'),
  hub('fcakyon/timesformer-large-finetuned-k600', 488, 96, 224, 'Kinetics-600', 600, 'model.safetensors'),
  hub('fcakyon/timesformer-large-finetuned-ssv2', 487, 96, 224, 'Something-Something v2', 174, 'model.safetensors'),
];

/** Entries of /models/index.json (written with the folder; see models/README.md). */
export interface LocalIndexEntry {
  id: string;
  name: string;
  path: string;
  frames: number;
  imageSize: number;
  labels: number;
  licence: string;
}

export function localEntry(e: LocalIndexEntry): CatalogEntry {
  return { id: e.id, name: e.name, base: e.path.replace(/\/+$/, ''), sizeMB: 0, frames: e.frames, imageSize: e.imageSize, dataset: 'none (random weights)', labels: e.labels, licence: e.licence };
}

/** Swap the hub's address (e.g. for a local mirror or a test server standing in for the hub). */
export function withHub(entry: CatalogEntry, hubBase: string): CatalogEntry {
  return entry.repo ? { ...entry, base: `${hubBase.replace(/\/+$/, '')}/${entry.repo}/resolve/main` } : entry;
}

/** A dataset's sampling: SSv2 takes one frame per segment; Kinetics clips one frame every S. */
export function isSegmentSampled(modelId: string): boolean {
  return /ssv2|something/i.test(modelId);
}
