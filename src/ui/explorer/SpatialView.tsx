import { useMemo } from 'react';
import { colormap, valueRange } from '../../attention/colormap';
import { spatialFrame } from '../../attention/maps';
import { useExplorerState } from '../../store';
import type { AttentionMaps } from '../../worker/protocol';
import { ColorLegend } from './ColorLegend';
import { heatOverlays } from './draw';
import type { ExplorerData } from './explorer-data';
import { range } from './explorer-data';
import { FramesCanvas } from './FramesCanvas';

/** CLS → patch attention over each frame, for one layer: one head, the mean, or a grid of all heads. */
export function SpatialView({ data, maps }: { data: ExplorerData; maps: AttentionMaps }) {
  const { layer, head, colormap: cmap } = useExplorerState();
  const { rows, legend } = useMemo(() => {
    const lut = colormap(cmap);
    const heads = head === 'grid' ? range(maps.heads) : [head];
    const values = heads.map((h) => range(maps.frames).map((t) => spatialFrame(maps, layer, t, h)));
    const r = valueRange(...values.flat());
    return {
      rows: values.map((v, i) => ({ label: head === 'grid' ? `head ${i + 1}` : undefined, overlays: heatOverlays(v, r, lut) })),
      legend: { lut, range: r, label: 'CLS → patch attention weight' },
    };
  }, [maps, layer, head, cmap]);
  const headName = head === 'grid' ? 'all-heads' : head === 'mean' ? 'mean' : `head${head + 1}`;
  return (
    <>
      <p className="view-intro">
        How much the classification token attends to each patch of each frame in layer {layer + 1} ({head === 'grid' ? 'every head' : head === 'mean' ? 'mean over heads' : `head ${head + 1}`}).
        {data.info.attentionType === 'joint_space_time' && ' Joint attention: one softmax over the patches of all frames.'}
      </p>
      <FramesCanvas name={`spatial-layer${layer + 1}-${headName}`} description={`Spatial attention, layer ${layer + 1}`} frames={data.frames} timestamps={data.timestamps} frameCount={maps.frames} grid={maps.grid} rows={rows} legend={legend} />
      <ColorLegend legend={legend} />
    </>
  );
}
