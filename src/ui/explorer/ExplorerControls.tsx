import { COLORMAPS, type ColormapName } from '../../attention/colormap';
import { useActions, useExplorerState } from '../../store';
import type { HeadView } from '../../store/explorer-slice';
import { range } from './explorer-data';

const parseHead = (v: string): HeadView => (v === 'mean' || v === 'grid' ? v : Number(v));

/** Layer, head, colours. Disabled where the view does not use them (rollout fuses heads; schemes and why use neither). */
export function ExplorerControls({ layers, heads, disabled }: { layers: number; heads: number; disabled: boolean }) {
  const { view, layer, head, colormap, opacity } = useExplorerState('view', 'layer', 'head', 'colormap', 'opacity');
  const { layerChosen, headChosen, colormapChosen, opacityChanged } = useActions();
  const layerOff = disabled || view === 'schemes' || view === 'why';
  const headOff = disabled || (view !== 'spatial' && view !== 'compare');
  return (
    <div className="controls">
      <label className="field inline">
        <span className="field-label">{view === 'rollout' ? 'Through layer' : 'Layer'}</span>
        <select data-testid="layer-select" value={layer} disabled={layerOff} onChange={(e) => layerChosen(Number(e.target.value))}>
          {range(layers).map((l) => (
            <option key={l} value={l}>
              {l + 1}
            </option>
          ))}
        </select>
      </label>
      <label className="field inline" title={view === 'rollout' ? 'Rollout fuses the heads: choose how below' : undefined}>
        <span className="field-label">Head</span>
        <select data-testid="head-select" value={String(head)} disabled={headOff} onChange={(e) => headChosen(parseHead(e.target.value))}>
          <option value="mean">mean of {heads}</option>
          <option value="grid">all (grid)</option>
          {range(heads).map((h) => (
            <option key={h} value={h}>
              {h + 1}
            </option>
          ))}
        </select>
      </label>
      <label className="field inline">
        <span className="field-label">Colours</span>
        <select value={colormap} disabled={disabled} onChange={(e) => colormapChosen(e.target.value as ColormapName)}>
          {COLORMAPS.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </label>
      <label className="field inline">
        <span className="field-label">Opacity</span>
        <input type="range" min={0} max={1} step={0.05} value={opacity} onChange={(e) => opacityChanged(Number(e.target.value))} />
      </label>
    </div>
  );
}
