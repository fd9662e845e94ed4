import { useMemo } from 'react';
import { colormap, valueRange } from '../../attention/colormap';
import { rolloutChoices, rolloutFrames } from '../../attention/rollout';
import type { HeadFusion } from '../../model/head-fusions';
import { useActions, useExplorerState } from '../../store';
import type { AttentionMaps } from '../../model/attention-maps';
import { formatPercent } from '../format';
import { ColorLegend } from './ColorLegend';
import { heatOverlays } from './draw';
import type { ExplorerData } from './explorer-data';
import { FramesCanvas } from './FramesCanvas';

/** Attention rollout through layers 1..layer over every frame (src/reference/rollout.ts says exactly what). */
export function RolloutView({ data, maps }: { data: ExplorerData; maps: AttentionMaps }) {
  const { layer, colormap: cmap, fusion, discard } = useExplorerState('layer', 'colormap', 'fusion', 'discard');
  const { fusionChosen, discardChosen } = useActions();
  const type = data.info.attentionType;
  const choices = useMemo(() => rolloutChoices(maps), [maps]);
  const shown = useMemo(() => {
    const r = rolloutFrames(maps, type === 'space_only', fusion, discard, layer);
    if (!r) return undefined;
    const lut = colormap(cmap);
    const vr = valueRange(...r.frames);
    return { r, rows: [{ overlays: heatOverlays(r.frames, vr, lut) }], legend: { lut, range: vr, label: 'share of the CLS traced to each patch' } };
  }, [maps, type, fusion, discard, layer, cmap]);
  if (choices.fusions.length === 0) return <p className="muted empty">This run computed no rollout (it needs the WGSL engine).</p>;
  return (
    <>
      <div className="controls">
        <label className="field inline">
          <span className="field-label">Head fusion</span>
          <select data-testid="rollout-fusion" value={fusion} onChange={(e) => fusionChosen(e.target.value as HeadFusion)}>
            {choices.fusions.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span className="field-label">Discard lowest</span>
          <select data-testid="rollout-discard" value={discard} onChange={(e) => discardChosen(Number(e.target.value))}>
            {choices.discards.map((d) => (
              <option key={d} value={d}>
                {formatPercent(d)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!shown ? (
        <p className="muted">No rollout was computed for {fusion} fusion with {formatPercent(discard)} discarded.</p>
      ) : (
        <>
          <p className="view-intro">
            Attention rollout through layers 1–{layer + 1}, heads fused by {fusion}
            {discard > 0 ? `, the lowest ${formatPercent(discard)} of each attention matrix discarded` : ''}: how much of the classification token can be traced back to each input patch, following
            attention {type === 'divided_space_time' ? 'in time and in space' : ''} with the residual connections (rownorm(½·I + ½·A) per step). {formatPercent(shown.r.cls)} stays on the CLS token
            itself.
          </p>
          <FramesCanvas
            name={`rollout-${fusion}-discard${discard}-through-layer${layer + 1}`}
            description={`Attention rollout through layer ${layer + 1}`}
            frames={data.frames}
            timestamps={data.timestamps}
            frameCount={maps.frames}
            grid={maps.grid}
            rows={shown.rows}
            legend={shown.legend}
            numbers={() => ({ view: 'rollout', fusion, discard, throughLayer: layer, grid: maps.grid, cls: shown.r.cls, frames: shown.r.frames })}
          />
          <ColorLegend legend={shown.legend} />
        </>
      )}
    </>
  );
}
