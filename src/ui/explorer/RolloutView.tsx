import { useMemo } from 'react';
import { colormap, valueRange } from '../../attention/colormap';
import { rollout } from '../../attention/rollout';
import { useExplorerState } from '../../store';
import type { AttentionMaps } from '../../worker/protocol';
import { formatPercent } from '../format';
import { ColorLegend } from './ColorLegend';
import { heatOverlays } from './draw';
import { range, type ExplorerData } from './explorer-data';
import { FramesCanvas } from './FramesCanvas';

/** Attention rollout through layers 1..layer (see src/attention/rollout.ts for what exactly). */
export function RolloutView({ data, maps }: { data: ExplorerData; maps: AttentionMaps }) {
  const { layer, colormap: cmap } = useExplorerState();
  const type = data.info.attentionType;
  const { rows, legend, cls } = useMemo(() => {
    const lut = colormap(cmap);
    const r = rollout(maps, type, layer);
    const N = maps.grid[0] * maps.grid[1];
    const frames = range(maps.frames).map((t) => r.patches.subarray(t * N, (t + 1) * N));
    const vr = valueRange(r.patches);
    return { rows: [{ overlays: heatOverlays(frames, vr, lut) }], legend: { lut, range: vr, label: 'share of the CLS traced to each patch' }, cls: r.cls };
  }, [maps, type, layer, cmap]);
  return (
    <>
      <p className="view-intro">
        Attention rollout through layers 1–{layer + 1}, averaged over heads: how much of the classification token can be traced back to each input patch, following attention
        {type === 'divided_space_time' ? ' in time and in space' : ''} with the residual connections (½·I + ½·A per step). {formatPercent(cls)} stays on the CLS token itself.
      </p>
      <FramesCanvas name={`rollout-through-layer${layer + 1}`} description={`Attention rollout through layer ${layer + 1}`} frames={data.frames} timestamps={data.timestamps} frameCount={maps.frames} grid={maps.grid} rows={rows} legend={legend} />
      <ColorLegend legend={legend} />
      <details className="note">
        <summary>What this approximates</summary>
        <p>
          The worker records the classification token's spatial attention for every layer, but not the attention of patches to each other within a frame. Rollout here treats that patch-to-patch spatial step
          as identity: temporal mixing is followed exactly, spatial context that patches gather from each other before handing it to the CLS is not. The map is therefore sharper in space than a full rollout.
        </p>
      </details>
    </>
  );
}
