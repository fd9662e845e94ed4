// Canvas drawing for the explorer: frames with patch overlays, T×T matrices, colour scales. Every view
// draws through these, so exports and the screen look the same.
import { colorize, cssColor, type ColorLut, type ValueRange } from '../../attention/colormap';
import type { Query } from '../../attention/schemes';
import { tileOrigin, type TileLayout } from './layout';

/** Text colours read from the canvas element's CSS (so they follow the theme). */
export interface Ink {
  text: string;
  muted: string;
}

/** The element's text colour, and the same at two-thirds opacity for secondary labels. */
export function inkOf(el: Element): Ink {
  const text = getComputedStyle(el).color; // always resolved to rgb()/rgba()
  const rgb = text.match(/[\d.]+/g)?.slice(0, 3).join(', ') ?? '128, 128, 128';
  return { text, muted: `rgba(${rgb}, 0.65)` };
}

const FONT = '12px system-ui, sans-serif';

/** One row of tiles: an RGBA overlay of gh·gw pixels per frame (undefined: the frame alone). */
export interface OverlayRow {
  label?: string;
  overlays: (Uint8ClampedArray<ArrayBuffer> | undefined)[];
}

export interface FramesPicture {
  layout: TileLayout;
  grid: [number, number];
  /** The frames as the model saw them; missing ones are drawn as blank tiles. */
  frames: (ImageBitmap | undefined)[];
  frameLabels: string[];
  rows: OverlayRow[];
  opacity: number;
  /** The picked patch: outlined in its frame, dashed at the same place in the others. */
  query: Query | null;
  ink: Ink;
}

/** Overlay pixels (gw × gh) → a tiny canvas, scaled up without smoothing so patches stay square. */
function overlayImage(pixels: Uint8ClampedArray<ArrayBuffer>, gh: number, gw: number): OffscreenCanvas {
  const c = new OffscreenCanvas(gw, gh);
  c.getContext('2d')!.putImageData(new ImageData(pixels, gw, gh), 0, 0);
  return c;
}

export function drawFrames(ctx: CanvasRenderingContext2D, pic: FramesPicture): void {
  const { layout: l, grid: [gh, gw] } = pic;
  ctx.clearRect(0, 0, l.width, l.height);
  ctx.font = FONT;
  ctx.textBaseline = 'bottom';
  pic.rows.forEach((row, r) => {
    for (let t = 0; t < l.frames; t++) {
      const { x, y } = tileOrigin(l, r, t);
      ctx.fillStyle = pic.ink.muted;
      if (r === 0 || l.lines > 1) ctx.fillText(pic.frameLabels[t] ?? '', x, y - 4);
      const frame = pic.frames[t];
      ctx.imageSmoothingEnabled = true;
      if (frame) ctx.drawImage(frame, x, y, l.tile, l.tile);
      else {
        ctx.fillStyle = 'rgba(128, 128, 128, 0.25)';
        ctx.fillRect(x, y, l.tile, l.tile);
      }
      const overlay = row.overlays[t];
      if (overlay) {
        ctx.imageSmoothingEnabled = false;
        ctx.globalAlpha = pic.opacity;
        ctx.drawImage(overlayImage(overlay, gh, gw), x, y, l.tile, l.tile);
        ctx.globalAlpha = 1;
      }
      if (pic.query) drawMarker(ctx, x, y, l.tile, pic.query.patch, gh, gw, t === pic.query.frame);
    }
    if (row.label) {
      const { y } = tileOrigin(l, r, 0);
      ctx.fillStyle = pic.ink.text;
      ctx.textBaseline = 'middle';
      ctx.fillText(row.label, 4, y + l.tile / 2);
      ctx.textBaseline = 'bottom';
    }
  });
}

function drawMarker(ctx: CanvasRenderingContext2D, x: number, y: number, tile: number, patch: number, gh: number, gw: number, solid: boolean): void {
  const w = tile / gw;
  const h = tile / gh;
  const px = x + (patch % gw) * w;
  const py = y + Math.floor(patch / gw) * h;
  ctx.save();
  ctx.lineWidth = solid ? 2.5 : 1.5;
  ctx.setLineDash(solid ? [] : [4, 3]);
  // White over black reads on any frame and any colormap.
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.8)';
  ctx.strokeRect(px + 0.5, py + 0.5, w - 1, h - 1);
  ctx.strokeStyle = '#fff';
  ctx.strokeRect(px + 1.5, py + 1.5, w - 3, h - 3);
  ctx.restore();
}

/** Heat overlays of `values` (one [N] array per frame), on a shared colour range. */
export function heatOverlays(values: Float32Array[], range: ValueRange, lut: ColorLut): Uint8ClampedArray<ArrayBuffer>[] {
  return values.map((v) => colorize(v, range, lut));
}

/** Small T×T matrices side by side, each titled; `highlightRow` outlined in all of them. */
export interface MatrixPicture {
  plots: { title: string; values: Float32Array }[];
  size: number;
  cell: number;
  highlightRow: number;
  range: ValueRange;
  lut: ColorLut;
  ink: Ink;
}

const MATRIX_TITLE = 18;
const MATRIX_GAP = 16;
const AXIS = 16;

export function matrixCanvasSize(p: Pick<MatrixPicture, 'plots' | 'size' | 'cell'>): { width: number; height: number } {
  const side = p.size * p.cell;
  return { width: p.plots.length * (AXIS + side + MATRIX_GAP) - MATRIX_GAP, height: MATRIX_TITLE + side + AXIS };
}

export function drawMatrices(ctx: CanvasRenderingContext2D, p: MatrixPicture): void {
  const { width, height } = matrixCanvasSize(p);
  const side = p.size * p.cell;
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  p.plots.forEach((plot, i) => {
    const x0 = i * (AXIS + side + MATRIX_GAP) + AXIS;
    const y0 = MATRIX_TITLE;
    ctx.fillStyle = p.ink.text;
    ctx.textBaseline = 'bottom';
    ctx.fillText(plot.title, x0, y0 - 4);
    const pixels = colorize(plot.values, p.range, p.lut);
    const img = new OffscreenCanvas(p.size, p.size);
    img.getContext('2d')!.putImageData(new ImageData(pixels, p.size, p.size), 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, x0, y0, side, side);
    // Axes: rows are query frames (↓), columns key frames (→).
    ctx.fillStyle = p.ink.muted;
    ctx.textBaseline = 'top';
    ctx.fillText('key t →', x0, y0 + side + 1);
    // Rotated a quarter turn anticlockwise, reading upwards, left of the matrix.
    ctx.save();
    ctx.translate(x0 - 3, y0 + side);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'bottom';
    ctx.fillText('query t →', 0, 0);
    ctx.restore();
    ctx.strokeStyle = p.ink.text;
    ctx.lineWidth = 2;
    ctx.strokeRect(x0 + 1, y0 + p.highlightRow * p.cell + 1, side - 2, p.cell - 2);
  });
}

export const LEGEND_HEIGHT = 34;

/** A horizontal colour scale with its end values, `width` wide, at (x, y). */
export function drawLegend(ctx: CanvasRenderingContext2D, lut: ColorLut, range: ValueRange, x: number, y: number, width: number, label: string, ink: Ink): void {
  const barWidth = Math.min(width, 240);
  for (let i = 0; i < barWidth; i++) {
    ctx.fillStyle = cssColor(lut, i / (barWidth - 1));
    ctx.fillRect(x + i, y, 1, 10);
  }
  ctx.font = FONT;
  ctx.textBaseline = 'top';
  ctx.fillStyle = ink.muted;
  ctx.fillText(range.min.toPrecision(2), x, y + 14);
  const maxText = range.max.toPrecision(2);
  ctx.fillText(maxText, x + barWidth - ctx.measureText(maxText).width, y + 14);
  ctx.fillStyle = ink.text;
  ctx.fillText(label, x + barWidth + 12, y);
}
