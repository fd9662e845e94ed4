// "Export PNG": the canvas as shown, with its colour scale under it when it has one.
import type { ColorLut, ValueRange } from '../../attention/colormap';
import { drawLegend, inkOf, LEGEND_HEIGHT } from './draw';

export interface LegendSpec {
  lut: ColorLut;
  range: ValueRange;
  label: string;
}

function composed(canvas: HTMLCanvasElement, legend?: LegendSpec): HTMLCanvasElement {
  const pad = 12;
  const out = document.createElement('canvas');
  out.width = canvas.width + 2 * pad;
  out.height = canvas.height + 2 * pad + (legend ? LEGEND_HEIGHT : 0);
  const ctx = out.getContext('2d')!;
  // An exported image needs its own background: the page's is not in it.
  ctx.fillStyle = getComputedStyle(canvas.closest('.panel') ?? document.body).backgroundColor;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, pad, pad);
  if (legend) drawLegend(ctx, legend.lut, legend.range, pad, canvas.height + pad + 12, canvas.width, legend.label, inkOf(canvas));
  return out;
}

export async function exportPng(canvas: HTMLCanvasElement, filename: string, legend?: LegendSpec): Promise<void> {
  const blob = await new Promise<Blob | null>((resolve) => composed(canvas, legend).toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the canvas could not be encoded as PNG');
  download(blob, filename);
}

/** The numbers behind a view: typed arrays become plain arrays. */
export function exportJson(numbers: unknown, filename: string): void {
  const text = JSON.stringify(numbers, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v), 1);
  download(new Blob([text], { type: 'application/json' }), filename);
}

function download(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  // The download has started by the next task; the URL can go.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
