import { useMemo } from 'react';
import { useActions, useExplorerState } from '../../store';
import type { HeadView } from '../../store/explorer-slice';
import type { AttentionMaps } from '../../model/attention-maps';
import { ColorLegend } from './ColorLegend';
import { range, type ExplorerData } from './explorer-data';
import { FramesCanvas } from './FramesCanvas';
import { headName, headTitle, spatialPicture, useKeptRows } from './SpatialView';

const parseHead = (v: string): HeadView => (v === 'mean' ? v : Number(v));

/**
 * Two layers or heads side by side: the spatial attention of the picked patch (of the CLS when none is
 * picked), the left side from the layer and head above, the right from its own selectors.
 */
export function CompareView({ data, maps }: { data: ExplorerData; maps: AttentionMaps }) {
  const { layer, head, compareWith, colormap: cmap, query } = useExplorerState('layer', 'head', 'compareWith', 'colormap', 'query');
  const { comparisonChosen } = useActions();
  const who = query ?? 'cls';
  const kept = useKeptRows(maps);
  const sides = useMemo(
    () =>
      [
        { key: 'a', layer, head: head === 'grid' ? ('mean' as const) : head },
        { key: 'b', layer: compareWith.layer, head: compareWith.head === 'grid' ? ('mean' as const) : compareWith.head },
      ].map((s) => ({ ...s, picture: spatialPicture(maps, s.layer, s.head, who, cmap, kept) })),
    [maps, layer, head, compareWith, who, cmap, kept],
  );
  const whom = who === 'cls' ? 'the classification token' : `patch ${who.patch} of frame ${who.frame + 1}`;
  return (
    <>
      <p className="view-intro">The spatial attention of {whom} in two layers or heads; pick a patch on either picture to compare its attention instead.</p>
      <div className="controls">
        <label className="field inline">
          <span className="field-label">Compare with layer</span>
          <select data-testid="compare-layer" value={compareWith.layer} onChange={(e) => comparisonChosen({ layer: Number(e.target.value) })}>
            {range(data.layers).map((l) => (
              <option key={l} value={l}>
                {l + 1}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span className="field-label">head</span>
          <select data-testid="compare-head" value={String(compareWith.head)} onChange={(e) => comparisonChosen({ head: parseHead(e.target.value) })}>
            <option value="mean">mean</option>
            {range(data.heads).map((h) => (
              <option key={h} value={h}>
                {h + 1}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="compare" style={{ display: 'flex', flexWrap: 'wrap', gap: 16 }}>
        {sides.map((s) =>
          s.picture.missing ? (
            <p key={s.key} className="muted">
              {s.picture.missing}
            </p>
          ) : (
            <div key={s.key} className="compare-side">
              <h3 className="subhead">
                Layer {s.layer + 1}, {headTitle(s.head)}
              </h3>
              <FramesCanvas
                testId={`compare-${s.key}`}
                name={`compare-${who === 'cls' ? 'cls' : `f${who.frame + 1}-p${who.patch}`}-layer${s.layer + 1}-${headName(s.head)}`}
                description={`Spatial attention of ${whom}, layer ${s.layer + 1}, ${headTitle(s.head)}`}
                frames={data.frames}
                timestamps={data.timestamps}
                frameCount={maps.frames}
                grid={maps.grid}
                rows={s.picture.rows}
                legend={s.picture.legend}
                numbers={() => ({ view: 'compare', query: who, layer: s.layer, head: s.head, grid: maps.grid, values: s.picture.values })}
              />
              <ColorLegend legend={s.picture.legend} />
            </div>
          ),
        )}
      </div>
    </>
  );
}
