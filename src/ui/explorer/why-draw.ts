// Canvas drawing for the "Why" view: the frame-importance strip (one bar per frame) and the deletion curves
// (the class's probability against the fraction of patches removed, one line per order, each with its area).
import type { DeletionCurve, DeletionOrder } from '../../attention/explanation';
import type { Ink } from './draw';

const FONT = '12px system-ui, sans-serif';

/** One colour per order, told apart in greyscale too (dark, mid, light) and dashed differently. */
export const ORDER_STYLE: Record<DeletionOrder, { colour: string; dash: number[]; label: string }> = {
  relevance: { colour: '#d62728', dash: [], label: 'relevance (this class)' },
  rollout: { colour: '#1f77b4', dash: [6, 3], label: 'rollout (any class)' },
  random: { colour: '#7f7f7f', dash: [2, 3], label: 'random' },
};

export const STRIP_HEIGHT = 96;

/** One bar per frame, `values` scaled to the largest magnitude (negative bars hang below the axis). */
export function drawImportanceStrip(ctx: CanvasRenderingContext2D, width: number, values: Float32Array, labels: string[], colour: string, ink: Ink): void {
  const T = values.length, top = 8, bottom = STRIP_HEIGHT - 18;
  const max = Math.max(1e-30, ...Array.from(values, Math.abs));
  const hasNegative = values.some((v) => v < 0);
  const zero = hasNegative ? (top + bottom) / 2 : bottom;
  const scale = (zero - top) / max;
  const slot = width / T, bar = Math.max(2, slot * 0.7);
  ctx.clearRect(0, 0, width, STRIP_HEIGHT);
  ctx.font = FONT;
  ctx.textBaseline = 'top';
  for (let t = 0; t < T; t++) {
    const x = t * slot + (slot - bar) / 2, h = values[t] * scale;
    ctx.fillStyle = colour;
    ctx.fillRect(x, Math.min(zero, zero - h), bar, Math.abs(h));
    ctx.fillStyle = ink.muted;
    if (T <= 32 || t % Math.ceil(T / 32) === 0) ctx.fillText(labels[t] ?? '', x, bottom + 4);
  }
  ctx.strokeStyle = ink.muted;
  ctx.beginPath();
  ctx.moveTo(0, zero + 0.5);
  ctx.lineTo(width, zero + 0.5);
  ctx.stroke();
}

export const PLOT = { width: 520, height: 260, left: 44, right: 24, top: 12, bottom: 36 };

/** The deletion curves on shared axes: x the fraction removed (0..1), y the class's probability (0..the highest). */
export function drawDeletionCurves(ctx: CanvasRenderingContext2D, curves: DeletionCurve[], ink: Ink): void {
  const { width, height, left, right, top, bottom } = PLOT;
  const w = width - left - right, h = height - top - bottom;
  const yMax = Math.max(1e-6, ...curves.flatMap((c) => Array.from(c.probs)));
  const px = (f: number) => left + f * w, py = (p: number) => top + h - (p / yMax) * h;
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.strokeStyle = ink.muted;
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  ctx.strokeRect(left + 0.5, top + 0.5, w, h);
  ctx.fillStyle = ink.muted;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  for (const f of [0, 0.25, 0.5, 0.75, 1]) ctx.fillText(`${Math.round(f * 100)}%`, px(f), top + h + 4);
  ctx.textAlign = 'start';
  ctx.fillText('patches removed, most relevant first →', left, top + h + 18);
  ctx.textBaseline = 'middle';
  for (const p of [0, yMax / 2, yMax]) ctx.fillText(p.toPrecision(2), 2, py(p));
  for (const curve of curves) {
    const style = ORDER_STYLE[curve.order];
    ctx.strokeStyle = style.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(style.dash);
    ctx.beginPath();
    curve.fractions.forEach((f, i) => (i === 0 ? ctx.moveTo(px(f), py(curve.probs[i])) : ctx.lineTo(px(f), py(curve.probs[i]))));
    ctx.stroke();
  }
  ctx.setLineDash([]);
}
