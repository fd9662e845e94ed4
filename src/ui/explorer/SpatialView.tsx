import { useMemo } from 'react';
import { colormap, valueRange, type ColormapName } from '../../attention/colormap';
import { spatialFrame, spatialQuery, type FetchedAttention } from '../../attention/maps';
import type { Query } from '../../attention/schemes';
import { useExplorerState } from '../../store';
import { fetchedAttention, type ExplorerState, type HeadView } from '../../store/explorer-slice';
import type { AttentionMaps } from '../../model/attention-maps';
import { ColorLegend } from './ColorLegend';
import { heatOverlays } from './draw';
import type { ExplorerData } from './explorer-data';
import { range } from './explorer-data';
import type { LegendSpec } from './export';
import { FramesCanvas } from './FramesCanvas';
import type { OverlayRow } from './draw';

/** Who attends: the CLS token, or the picked query patch. */
export type Querier = 'cls' | Query;

export interface SpatialPicture {
  rows: OverlayRow[];
  legend: LegendSpec;
  /** The numbers drawn: per row (head), per frame, the weight of each patch (null: not attended). */
  values: (Float32Array | null)[][];
  /** undefined when the query's matrices were not read back (long clips: kept on the GPU). */
  missing?: string;
}

export const headName = (head: HeadView) => (head === 'grid' ? 'all-heads' : head === 'mean' ? 'mean' : `head${head + 1}`);
export const headTitle = (head: HeadView) => (head === 'grid' ? 'every head' : head === 'mean' ? 'mean over heads' : `head ${head + 1}`);

/** What the views fetched of the maps kept on the GPU, and how fetching goes. */
export interface KeptRows {
  rows: FetchedAttention;
  fetching: ExplorerState['fetching'];
}

/** The kept rows of these maps for a view (re-read when the store's count of them changes). */
export function useKeptRows(maps: AttentionMaps): KeptRows {
  const { fetching } = useExplorerState('fetching');
  return useMemo(() => ({ rows: fetchedAttention(maps), fetching }), [maps, fetching]);
}

/** Why a view of kept maps is not drawn yet: being read, the read failed, or `otherwise`. */
export const keptNote = (kept: KeptRows | undefined, otherwise: string) => (kept?.fetching.loading ? 'Reading this patch’s attention from the GPU…' : (kept?.fetching.error ?? otherwise));

/** Spatial attention of the CLS or of a query patch in one layer, for one head, the mean, or every head. */
export function spatialPicture(maps: AttentionMaps, layer: number, head: HeadView, who: Querier, cmap: ColormapName, kept?: KeptRows): SpatialPicture {
  const lut = colormap(cmap);
  const heads = head === 'grid' ? range(maps.heads) : [head];
  const values = heads.map((h) => (who === 'cls' ? range(maps.frames).map((t) => spatialFrame(maps, layer, t, h)) : spatialQuery(maps, layer, who, h, kept?.rows)?.frames));
  if (values.some((v) => !v)) {
    const missing = keptNote(kept, 'The full spatial attention of this clip stayed on the GPU (it is over the read-back budget), so only the classification token’s is shown.');
    return { rows: [], values: [], legend: { lut, range: { min: 0, max: 1 }, label: '' }, missing };
  }
  const shown = values as (Float32Array | null)[][];
  const r = valueRange(...shown.flat().filter((v): v is Float32Array => v !== null));
  return {
    rows: shown.map((v, i) => ({ label: head === 'grid' ? `head ${i + 1}` : undefined, overlays: v.map((f) => (f ? heatOverlays([f], r, lut)[0] : undefined)) })),
    legend: { lut, range: r, label: who === 'cls' ? 'CLS → patch attention weight' : 'query patch → patch attention weight' },
    values: shown,
  };
}

/** CLS → patch attention over each frame for one layer and, when a patch is picked, that patch's own spatial attention. */
export function SpatialView({ data, maps }: { data: ExplorerData; maps: AttentionMaps }) {
  const { layer, head, colormap: cmap, query } = useExplorerState('layer', 'head', 'colormap', 'query');
  const cls = useMemo(() => spatialPicture(maps, layer, head, 'cls', cmap), [maps, layer, head, cmap]);
  const kept = useKeptRows(maps);
  const picked = useMemo(() => (query ? spatialPicture(maps, layer, head, query, cmap, kept) : undefined), [maps, layer, head, query, cmap, kept]);
  const where = query && `patch (row ${Math.floor(query.patch / maps.grid[1]) + 1}, column ${(query.patch % maps.grid[1]) + 1}) of frame ${query.frame + 1}`;
  const joint = data.info.attentionType === 'joint_space_time';
  return (
    <>
      <p className="view-intro">
        How much the classification token attends to each patch of each frame in layer {layer + 1} ({headTitle(head)}).
        {joint && ' Joint attention: one softmax over the patches of all frames.'}
      </p>
      <FramesCanvas
        name={`spatial-layer${layer + 1}-${headName(head)}`}
        description={`Spatial attention, layer ${layer + 1}`}
        frames={data.frames}
        timestamps={data.timestamps}
        frameCount={maps.frames}
        grid={maps.grid}
        rows={cls.rows}
        legend={cls.legend}
        numbers={() => ({ view: 'spatial', query: 'cls', layer, head, grid: maps.grid, values: cls.values })}
      />
      <ColorLegend legend={cls.legend} />
      {query && picked && (
        <div className="query-spatial" data-testid="query-spatial">
          <h3 className="subhead">Spatial attention of {where}, layer {layer + 1}</h3>
          {picked.missing ? (
            <p className="muted" data-testid="query-missing">{picked.missing}</p>
          ) : (
            <>
              <p className="view-intro">Where the picked patch looks{joint ? ' (in every frame: joint attention)' : ` within frame ${query.frame + 1}`}; pick another patch to move the query.</p>
              <FramesCanvas
                testId="query-map"
                name={`spatial-query-f${query.frame + 1}-p${query.patch}-layer${layer + 1}-${headName(head)}`}
                description={`Spatial attention of ${where}, layer ${layer + 1}`}
                frames={data.frames}
                timestamps={data.timestamps}
                frameCount={maps.frames}
                grid={maps.grid}
                rows={picked.rows}
                legend={picked.legend}
                numbers={() => ({ view: 'spatial', query, layer, head, grid: maps.grid, values: picked.values })}
              />
              <ColorLegend legend={picked.legend} />
            </>
          )}
        </div>
      )}
    </>
  );
}
