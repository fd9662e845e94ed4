// Perceptual colormaps for heatmaps, as small lookup tables. A heatmap's values map linearly onto the
// table; perceptually uniform maps (equal steps in value look like equal steps in colour, and lightness
// rises monotonically) keep weak attention from looking strong and print readably in greyscale.

/** 256 RGB entries, r,g,b interleaved. */
export type ColorLut = Uint8Array;

export type ColormapName = 'viridis' | 'inferno';

// Ten evenly spaced samples of matplotlib's viridis and inferno (Smith & van der Walt, 2015); the
// 256-entry tables interpolate linearly between them, which stays within a few units of the originals.
const STOPS: Record<ColormapName, string[]> = {
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'],
  inferno: ['#000004', '#1b0c41', '#4a0c6b', '#781c6d', '#a52c60', '#cf4446', '#ed6925', '#fb9b06', '#f7d13d', '#fcffa4'],
};

export const COLORMAPS = Object.keys(STOPS) as ColormapName[];

function parseHex(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function buildLut(stops: string[]): ColorLut {
  const rgb = stops.map(parseHex);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (rgb.length - 1);
    const k = Math.min(Math.floor(x), rgb.length - 2);
    const f = x - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
  }
  return lut;
}

const luts = new Map<ColormapName, ColorLut>();

export function colormap(name: ColormapName): ColorLut {
  let lut = luts.get(name);
  if (!lut) luts.set(name, (lut = buildLut(STOPS[name])));
  return lut;
}

export interface ValueRange {
  min: number;
  max: number;
}

/** The smallest and largest finite value (0..1 when there are none, so that a scale can still be drawn). */
export function valueRange(...arrays: ArrayLike<number>[]): ValueRange {
  let min = Infinity;
  let max = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? { min, max } : { min: 0, max: 1 };
}

/** LUT index of `v` in `range`, clamped to the table (a flat range maps everything to the middle). */
export function lutIndex(v: number, { min, max }: ValueRange): number {
  if (!(max > min)) return 128;
  const i = Math.round(((v - min) / (max - min)) * 255);
  return i < 0 ? 0 : i > 255 ? 255 : i;
}

/** RGBA pixels (one per value) of `values` through `lut`, with the given alpha (0..255). */
export function colorize(values: ArrayLike<number>, range: ValueRange, lut: ColorLut, alpha = 255): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) {
    const k = lutIndex(values[i], range) * 3;
    out[i * 4] = lut[k];
    out[i * 4 + 1] = lut[k + 1];
    out[i * 4 + 2] = lut[k + 2];
    out[i * 4 + 3] = alpha;
  }
  return out;
}

/** CSS colour of LUT position `x` in 0..1 (for legends and labels). */
export function cssColor(lut: ColorLut, x: number): string {
  const k = Math.max(0, Math.min(255, Math.round(x * 255))) * 3;
  return `rgb(${lut[k]}, ${lut[k + 1]}, ${lut[k + 2]})`;
}
