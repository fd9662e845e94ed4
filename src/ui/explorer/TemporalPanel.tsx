import { useEffect, useMemo, useRef } from 'react';
import { colormap, valueRange } from '../../attention/colormap';
import { temporalPatch } from '../../attention/maps';
import type { Query } from '../../attention/schemes';
import { useExplorerState } from '../../store';
import type { AttentionMaps } from '../../model/attention-maps';
import { keptNote, type KeptRows } from './SpatialView';
import { useColorScheme } from '../theme';
import { drawMatrices, inkOf, matrixCanvasSize } from './draw';
import { ExportButton, ExportJsonButton } from './ExportButton';
import { range } from './explorer-data';

/**
 * Temporal attention of the picked patch: for the mean and each head, a T×T plot of how much the token
 * at that place in query frame tq attends to the same place in key frame tk; the picked frame's row
 * (its 1×T attention) outlined.
 */
export function TemporalPanel({ maps, query, kept }: { maps: AttentionMaps; query: Query; kept: KeptRows }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { layer, colormap: cmap } = useExplorerState('layer', 'colormap');
  const scheme = useColorScheme();
  const T = maps.frames;
  const gw = maps.grid[1];
  const picture = useMemo(() => {
    // Long clips may bring back only the mean over heads (the budget): then the heads are left out.
    const plots = [
      { title: 'mean', values: temporalPatch(maps, layer, query.patch, 'mean', kept.rows)! },
      ...range(maps.heads).flatMap((h) => {
        const values = temporalPatch(maps, layer, query.patch, h, kept.rows);
        return values ? [{ title: `head ${h + 1}`, values }] : [];
      }),
    ];
    const cell = Math.max(6, Math.min(32, Math.floor(128 / T)));
    return { plots, size: T, cell, highlightRow: query.frame, range: valueRange(...plots.map((p) => p.values)), lut: colormap(cmap) };
  }, [maps, layer, query, cmap, T, kept]);

  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    Object.assign(c, matrixCanvasSize(picture));
    drawMatrices(ctx, { ...picture, ink: inkOf(c) });
  }, [picture, scheme]);

  const row = picture.plots[0].values.subarray(query.frame * T, (query.frame + 1) * T);
  const strongest = row.indexOf(Math.max(...row));
  const where = `row ${Math.floor(query.patch / gw) + 1}, column ${(query.patch % gw) + 1}`;
  return (
    <div className="temporal" data-testid="temporal">
      <h3 className="subhead">
        Temporal attention of patch ({where}) in frame {query.frame + 1}, layer {layer + 1}
      </h3>
      <p className="view-intro">
        Each plot: query frame (rows) × key frame (columns) at this place in the picture; the outlined row is the picked frame. On average over heads it looks most at frame {strongest + 1}.
        {picture.plots.length === 1 && ` ${keptNote(kept, 'Only the mean over heads came back for this long clip (the per-head maps are over the read-back budget).')}`}
      </p>
      <div className="scroll-x">
        <canvas ref={canvas} data-testid="temporal-plot" role="img" aria-label={`Temporal attention plots for patch ${where}: ${picture.plots.map((p) => p.title).join(', ')}, ${T}×${T} each`} />
      </div>
      <div className="figure-bar end">
        <span className="button-row">
          <ExportButton canvas={canvas} filename={`temporal-layer${layer + 1}-frame${query.frame + 1}-patch${query.patch}.png`} legend={{ lut: picture.lut, range: picture.range, label: 'temporal attention weight' }} />
          <ExportJsonButton numbers={() => ({ view: 'temporal', layer, query, frames: T, plots: picture.plots })} filename={`temporal-layer${layer + 1}-frame${query.frame + 1}-patch${query.patch}.json`} />
        </span>
      </div>
    </div>
  );
}
