// The "Why" view's pictures: heat over the frames (relevance per patch, saliency per pixel), the frame-importance
// strip and the deletion curves, each a canvas with its PNG and JSON export, drawn with the explorer's helpers.
import { useEffect, useMemo, useRef } from 'react';
import type { DeletionCurve } from '../../attention/explanation';
import { useExplorerState } from '../../store';
import { formatTime } from '../format';
import { useColorScheme } from '../theme';
import { drawFrames, inkOf, type OverlayRow } from './draw';
import { ExportButton, ExportJsonButton } from './ExportButton';
import type { LegendSpec } from './export';
import { tileLayout } from './layout';
import { drawDeletionCurves, drawImportanceStrip, ORDER_STYLE, PLOT, STRIP_HEIGHT } from './why-draw';

const MAX_COLS = 8;

interface Exported {
  /** File name stem of the exports. */
  name: string;
  /** The numbers drawn, for "Export JSON". */
  numbers: () => unknown;
  testId: string;
}

const frameLabels = (T: number, timestamps: number[] | undefined) => Array.from({ length: T }, (_, t) => `t${t + 1}${timestamps ? ` · ${formatTime(timestamps[t])}` : ''}`);

/** A figure: its canvas, a caption, and the exports. */
function Figure({ canvas, caption, legend, name, numbers, children }: { canvas: React.RefObject<HTMLCanvasElement | null>; caption: string; legend?: LegendSpec; children: React.ReactNode } & Omit<Exported, 'testId'>) {
  return (
    <figure className="frames-figure">
      {children}
      <figcaption className="figure-bar">
        <span className="muted small">{caption}</span>
        <span className="button-row">
          <ExportButton canvas={canvas} filename={`${name}.png`} legend={legend} />
          <ExportJsonButton numbers={numbers} filename={`${name}.json`} />
        </span>
      </figcaption>
    </figure>
  );
}

/** The frames with one heat overlay each, `grid` cells per frame (patches, or pixels for saliency). */
export function HeatFrames({ frames, timestamps, grid, row, legend, description, caption, ...exported }: { frames: ImageBitmap[]; timestamps: number[]; grid: [number, number]; row: OverlayRow; legend: LegendSpec; description: string; caption: string } & Exported) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { opacity } = useExplorerState('opacity');
  const scheme = useColorScheme();
  const T = frames.length;
  const layout = useMemo(() => tileLayout(T, 1, { tile: Math.max(72, Math.min(200, Math.floor(1040 / Math.min(T, MAX_COLS)))), maxCols: MAX_COLS }), [T]);
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    c.width = layout.width;
    c.height = layout.height;
    drawFrames(ctx, { layout, grid, frames, frameLabels: frameLabels(T, timestamps), rows: [row], opacity, query: null, ink: inkOf(c) });
  }, [layout, grid, frames, timestamps, T, row, opacity, scheme]);
  return (
    <Figure canvas={canvas} caption={caption} legend={legend} name={exported.name} numbers={exported.numbers}>
      <canvas ref={canvas} className="frames-canvas" data-testid={exported.testId} role="img" aria-label={description} style={{ maxWidth: layout.width }} />
    </Figure>
  );
}

/** Frame importance: one bar per frame. */
export function ImportanceStrip({ values, timestamps, colour, ...exported }: { values: Float32Array; timestamps: number[]; colour: string } & Exported) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const scheme = useColorScheme();
  const width = Math.min(1040, Math.max(360, values.length * 64));
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    drawImportanceStrip(ctx, c.width, values, frameLabels(values.length, undefined), colour, inkOf(c));
  }, [values, colour, scheme]);
  const top = values.indexOf(Math.max(...values));
  const at = timestamps[top] !== undefined ? ` (${formatTime(timestamps[top])})` : '';
  return (
    <Figure canvas={canvas} caption={`Most relevant frame: ${top + 1}${at}`} name={exported.name} numbers={exported.numbers}>
      <canvas ref={canvas} data-testid={exported.testId} width={width} height={STRIP_HEIGHT} role="img" aria-label={`Relevance of each of the ${values.length} frames; the most relevant is frame ${top + 1}`} />
    </Figure>
  );
}

/** The deletion curves with their areas: the lowest area is the explanation the model agrees with most. */
export function DeletionPlot({ curves, ...exported }: { curves: DeletionCurve[] } & Exported) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const scheme = useColorScheme();
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (ctx) drawDeletionCurves(ctx, curves, inkOf(c!));
  }, [curves, scheme]);
  const best = curves.reduce((a, b) => (b.area < a.area ? b : a));
  return (
    <Figure canvas={canvas} caption={`Lowest area: ${ORDER_STYLE[best.order].label} — the order whose removals the model feels most`} name={exported.name} numbers={exported.numbers}>
      <canvas ref={canvas} data-testid={exported.testId} width={PLOT.width} height={PLOT.height} role="img" aria-label={`Deletion curves: ${curves.map((c) => `${c.order} area ${c.area.toFixed(3)}`).join(', ')}`} />
      <ul className="deletion-legend">
        {curves.map((c) => (
          <li key={c.order} data-testid={`deletion-area-${c.order}`} data-area={c.area}>
            <span className="swatch" style={{ borderTop: `3px ${c.order === 'relevance' ? 'solid' : c.order === 'rollout' ? 'dashed' : 'dotted'} ${ORDER_STYLE[c.order].colour}` }} />
            {ORDER_STYLE[c.order].label}: area {c.area.toFixed(3)}
            {c === best ? ' (lowest)' : ''}
          </li>
        ))}
      </ul>
    </Figure>
  );
}
