import { useEffect, useMemo, useRef, type KeyboardEvent, type MouseEvent } from 'react';
import { useActions, useExplorerState } from '../../store';
import { movedQuery } from '../../store/explorer-slice';
import { formatTime } from '../format';
import { useColorScheme } from '../theme';
import { drawFrames, inkOf, type OverlayRow } from './draw';
import { ExportButton, ExportJsonButton } from './ExportButton';
import type { LegendSpec } from './export';
import { hitTile, patchAt, tileLayout } from './layout';

const MAX_COLS = 8;

export interface FramesCanvasProps {
  /** File name stem for the export. */
  name: string;
  /** What the picture shows, for screen readers. */
  description: string;
  frames: ImageBitmap[] | undefined;
  timestamps: number[] | undefined;
  frameCount: number;
  grid: [number, number];
  rows: OverlayRow[];
  legend?: LegendSpec;
  /** The numbers drawn, for "Export JSON". */
  numbers?: () => unknown;
  testId?: string;
}

/**
 * The explorer's main picture: the sampled frames with an overlay per row (a head, or the mean), the
 * picked patch outlined. Click a patch, or use the keyboard (arrows, PageUp/PageDown between frames,
 * Escape to clear), to pick the query patch.
 */
export function FramesCanvas({ name, description, frames, timestamps, frameCount, grid, rows, legend, numbers, testId = 'attention-map' }: FramesCanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { opacity, query } = useExplorerState('opacity', 'query');
  const { patchPicked } = useActions();
  const scheme = useColorScheme();
  const multiRow = rows.length > 1;
  const layout = useMemo(() => {
    // Tiles fill about a wide panel's width; a grid of heads stays smaller so that all heads fit.
    const cols = Math.min(frameCount, MAX_COLS);
    const tile = Math.max(72, Math.min(multiRow ? 150 : 240, Math.floor(1040 / cols)));
    return tileLayout(frameCount, rows.length, { rowLabels: multiRow, tile, maxCols: MAX_COLS });
  }, [frameCount, rows.length, multiRow]);
  const [gh, gw] = grid;

  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    c.width = layout.width;
    c.height = layout.height;
    const frameLabels = Array.from({ length: frameCount }, (_, t) => `t${t + 1}${timestamps ? ` · ${formatTime(timestamps[t])}` : ''}`);
    drawFrames(ctx, { layout, grid, frames: frames ?? [], frameLabels, rows, opacity, query, ink: inkOf(c) });
  }, [layout, grid, frames, timestamps, frameCount, rows, opacity, query, scheme]);

  const pick = (e: MouseEvent<HTMLCanvasElement>) => {
    const c = e.currentTarget;
    const box = c.getBoundingClientRect();
    const hit = hitTile(layout, ((e.clientX - box.left) * c.width) / box.width, ((e.clientY - box.top) * c.height) / box.height);
    if (hit) patchPicked({ frame: hit.frame, patch: patchAt(hit.u, hit.v, gh, gw) });
  };

  const key = (e: KeyboardEvent) => {
    if (e.key === 'Escape') return patchPicked(null);
    const from = query ?? { frame: 0, patch: Math.floor(gh / 2) * gw + Math.floor(gw / 2) };
    const next = movedQuery(from, e.key, frameCount, gh, gw);
    if (!next) return;
    e.preventDefault();
    patchPicked(query ? next : from);
  };

  const where = query ? ` Picked: frame ${query.frame + 1}, row ${Math.floor(query.patch / gw) + 1}, column ${(query.patch % gw) + 1}.` : '';
  return (
    <figure className="frames-figure">
      <canvas
        ref={canvas}
        className="frames-canvas"
        data-testid={testId}
        tabIndex={0}
        role="img"
        aria-label={`${description}. Click a patch, or use the arrow keys and PageUp/PageDown, to pick a query patch.${where}`}
        style={{ maxWidth: layout.width }}
        onClick={pick}
        onKeyDown={key}
      />
      <figcaption className="figure-bar">
        <span className="muted small">{query ? `Patch (row ${Math.floor(query.patch / gw) + 1}, col ${(query.patch % gw) + 1}) of frame ${query.frame + 1}` : 'Click a patch to see its attention over time'}</span>
        <span className="button-row">
          <ExportButton canvas={canvas} filename={`${name}.png`} legend={legend} />
          {numbers && <ExportJsonButton numbers={numbers} filename={`${name}.json`} />}
        </span>
      </figcaption>
    </figure>
  );
}
