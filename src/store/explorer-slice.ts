// The explorer slice: which attention view is shown and how (layer, head, the picked query patch,
// scheme, colours). The maps themselves are in the registry with the result; the rows of a long clip's maps
// that stayed on the GPU are fetched for the picked patch and cached with them (`fetchedAttention`).
import type { ColormapName } from '../attention/colormap';
import { keptSlices, type FetchedAttention } from '../attention/maps';
import { InferenceError } from '../worker/client';
import type { AttentionMaps } from '../model/attention-maps';
import type { HeadFusion } from '../model/head-fusions';
import type { Query, Scheme } from '../attention/schemes';
import { patch, type SliceContext } from './types';

export type ExplorerView = 'spatial' | 'compare' | 'rollout' | 'schemes' | 'why';

/** One head, the mean over heads, or every head in a grid. */
export type HeadView = number | 'mean' | 'grid';

export interface ExplorerState {
  view: ExplorerView;
  layer: number;
  head: HeadView;
  /** The patch picked on a frame: the query of the temporal plots and of the schemes view. */
  query: Query | null;
  scheme: Scheme;
  colormap: ColormapName;
  /** Heatmap opacity over the frames, 0..1. */
  opacity: number;
  /** Rollout: how heads are fused, and the share of each fused matrix discarded (one of those the run computed). */
  fusion: HeadFusion;
  discard: number;
  /** The comparison's second side (the first is `layer` and `head`). */
  compareWith: { layer: number; head: HeadView };
  /** Rows of kept maps being read from the GPU for the picked patch, how many are cached for the shown result, and why the last read failed. */
  fetching: { loading: boolean; cached: number; error: string | null };
}

export interface ExplorerActions {
  explorerViewChosen(view: ExplorerView): void;
  layerChosen(layer: number): void;
  headChosen(head: HeadView): void;
  patchPicked(query: Query | null): void;
  schemeChosen(scheme: Scheme): void;
  colormapChosen(colormap: ColormapName): void;
  opacityChanged(opacity: number): void;
  fusionChosen(fusion: HeadFusion): void;
  discardChosen(discard: number): void;
  comparisonChosen(side: Partial<ExplorerState['compareWith']>): void;
  /** A model was loaded: show its last layer (the maps closest to the decision); its grid invalidates the query. */
  modelLayersKnown(layers: number): void;
  /** The views show the picked patch: read the rows they need that stayed on the GPU (none when all came back). */
  keptRowsWanted(): Promise<void>;
}

export const initialExplorerState: ExplorerState = {
  view: 'spatial',
  layer: 0,
  head: 'mean',
  query: null,
  scheme: 'divided',
  colormap: 'viridis',
  opacity: 0.7,
  fusion: 'mean',
  discard: 0,
  compareWith: { layer: 0, head: 'mean' },
  fetching: { loading: false, cached: 0, error: null },
};

/** Fetched rows per result's maps: freed with the result. */
const fetchedRows = new WeakMap<AttentionMaps, Map<string, Float32Array>>();

/** The rows fetched so far for these maps (src/attention/maps.ts draws from them). */
export function fetchedAttention(maps: AttentionMaps): FetchedAttention {
  return fetchedRows.get(maps) ?? new Map();
}

export function explorerActions(ctx: SliceContext): ExplorerActions {
  const explorer = (fields: Partial<ExplorerState>) => patch(ctx, 'explorer', fields);
  let reads = 0;
  return {
    explorerViewChosen: (view) => explorer({ view }),
    layerChosen: (layer) => explorer({ layer }),
    headChosen: (head) => explorer({ head }),
    patchPicked: (query) => explorer({ query }),
    schemeChosen: (scheme) => explorer({ scheme }),
    colormapChosen: (colormap) => explorer({ colormap }),
    opacityChanged: (opacity) => explorer({ opacity: Math.min(1, Math.max(0, opacity)) }),
    fusionChosen: (fusion) => explorer({ fusion }),
    discardChosen: (discard) => explorer({ discard: Math.min(0.99, Math.max(0, discard)) }),
    comparisonChosen: (side) => explorer({ compareWith: { ...ctx.get().explorer.compareWith, ...side } }),
    modelLayersKnown: (layers) => explorer({ layer: Math.max(0, layers - 1), head: 'mean', query: null }),
    async keptRowsWanted() {
      const { explorer: state, inference } = ctx.get();
      const maps = ctx.results.get(inference.resultId)?.attention;
      if (!maps?.kept || !state.query) return;
      const rows = fetchedRows.get(maps) ?? new Map<string, Float32Array>();
      fetchedRows.set(maps, rows);
      const layers = state.view === 'compare' ? [...new Set([state.layer, state.compareWith.layer])] : [state.layer];
      const wanted = layers.flatMap((l) => keptSlices(maps, l, state.query!, rows));
      if (wanted.length === 0) return explorer({ fetching: { loading: false, cached: rows.size, error: null } });
      const read = ++reads;
      explorer({ fetching: { loading: true, cached: rows.size, error: null } });
      try {
        const slices = await ctx.client().readAttention(maps.kept.token, wanted.flatMap((w) => w.slices));
        let at = 0;
        for (const { key, slices: parts } of wanted) {
          const block = new Float32Array(parts.reduce((n, s) => n + s.count, 0));
          let offset = 0;
          for (const slice of slices.slice(at, (at += parts.length))) {
            block.set(slice, offset);
            offset += slice.length;
          }
          rows.set(key, block);
        }
        if (read === reads) explorer({ fetching: { loading: false, cached: rows.size, error: null } });
      } catch (e) {
        // A newer read replaced this one: it reports.
        if (e instanceof InferenceError && e.kind === 'cancelled') return;
        if (read === reads) explorer({ fetching: { loading: false, cached: rows.size, error: e instanceof Error ? e.message : String(e) } });
      }
    },
  };
}

/** The query after an arrow key (within the frame) or PageUp/PageDown (to the previous/next frame); null for other keys. */
export function movedQuery(query: Query, key: string, frames: number, gh: number, gw: number): Query | null {
  const row = Math.floor(query.patch / gw);
  const col = query.patch % gw;
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  const at = (r: number, c: number, frame = query.frame): Query => ({ frame, patch: clamp(r, gh) * gw + clamp(c, gw) });
  switch (key) {
    case 'ArrowUp':
      return at(row - 1, col);
    case 'ArrowDown':
      return at(row + 1, col);
    case 'ArrowLeft':
      return at(row, col - 1);
    case 'ArrowRight':
      return at(row, col + 1);
    case 'PageUp':
      return at(row, col, clamp(query.frame - 1, frames));
    case 'PageDown':
      return at(row, col, clamp(query.frame + 1, frames));
    default:
      return null;
  }
}
