// The geometry of Hugging Face's video preprocessing, shared by the WGSL kernels and the CPU reference:
// display orientation, resize size, crop origin and the bilinear filter taps.
//
// Resize is PIL's BILINEAR (what VideoMAEImageProcessor calls through `PIL.Image.resize`; torchvision's
// antialiased bilinear computes the same weights): a separable triangle filter whose support widens by
// the scale factor when downscaling, so every source pixel under an output pixel contributes
// (antialiased). A 4-tap texture sample would alias when shrinking 1080p to 224.

/** Clockwise rotation (degrees) from the stored frame to the displayed one. */
export type Rotation = 0 | 90 | 180 | 270;

/** Where a spatial crop sits along the long side (the paper's 3-crop test protocol); 'centre' otherwise. */
export type CropPosition = 'start' | 'centre' | 'end';

export interface Size {
  width: number;
  height: number;
}

/** The displayed size of a stored frame. */
export function displaySize(stored: Size, rotation: Rotation): Size {
  return rotation === 90 || rotation === 270 ? { width: stored.height, height: stored.width } : stored;
}

/**
 * Where display pixel (x, y) is stored: origin + x·dx + y·dy. Rotating a W×H frame by 90° clockwise
 * puts stored pixel (xs, ys) at display (H−1−ys, xs), so display (x, y) is stored at (y, H−1−x); the
 * other rotations follow. The WGSL kernel steps through stored pixels with the same vectors.
 */
export function displayToStored(stored: Size, rotation: Rotation): { origin: [number, number]; dx: [number, number]; dy: [number, number] } {
  const right = stored.width - 1, bottom = stored.height - 1;
  switch (rotation) {
    case 0: return { origin: [0, 0], dx: [1, 0], dy: [0, 1] };
    case 90: return { origin: [0, bottom], dx: [0, -1], dy: [1, 0] };
    case 180: return { origin: [right, bottom], dx: [-1, 0], dy: [0, -1] };
    case 270: return { origin: [right, 0], dx: [0, 1], dy: [-1, 0] };
  }
}

/** The stored pixel shown at display pixel (x, y). */
export function storedPixel(x: number, y: number, stored: Size, rotation: Rotation): [number, number] {
  const { origin, dx, dy } = displayToStored(stored, rotation);
  return [origin[0] + x * dx[0] + y * dy[0], origin[1] + x * dx[1] + y * dy[1]];
}

export interface Rect { x: number; y: number; width: number; height: number }

/** The rectangle of stored pixels that display columns x0..x1−1 of rows y0..y1−1 come from, grown to even corners and size. */
export function storedRect(stored: Size, rotation: Rotation, x0: number, x1: number, y0: number, y1: number): Rect {
  const a = storedPixel(x0, y0, stored, rotation), b = storedPixel(x1 - 1, y1 - 1, stored, rotation);
  const even = (lo: number, hi: number, size: number) => {
    const from = Math.floor(Math.min(lo, hi) / 2) * 2;
    return [from, Math.min(size, Math.ceil((Math.max(lo, hi) + 1) / 2) * 2) - from];
  };
  const [x, width] = even(a[0], b[0], stored.width), [y, height] = even(a[1], b[1], stored.height);
  return { x, y, width, height };
}

/** HF `get_resize_output_image_size` with `default_to_square=False`: the short side becomes `shortestEdge`, the long side is truncated. */
export function resizedSize(display: Size, shortestEdge: number): Size {
  const portrait = display.height > display.width;
  const short = portrait ? display.width : display.height;
  const long = portrait ? display.height : display.width;
  const newLong = Math.trunc((shortestEdge * long) / short);
  return portrait ? { width: shortestEdge, height: newLong } : { width: newLong, height: shortestEdge };
}

/**
 * Top-left corner of a crop of the resized frame. 'centre' is HF's `center_crop` ((size − crop) // 2);
 * 'start' and 'end' slide along the long side only, as the official 3-crop test does.
 */
export function cropOrigin(resized: Size, crop: Size, position: CropPosition): { x: number; y: number } {
  if (crop.width > resized.width || crop.height > resized.height) {
    throw new RangeError(`a ${crop.width}×${crop.height} crop does not fit the ${resized.width}×${resized.height} resized frame`);
  }
  const centre = { x: Math.floor((resized.width - crop.width) / 2), y: Math.floor((resized.height - crop.height) / 2) };
  if (position === 'centre') return centre;
  const along = (size: number, cropSize: number) => (position === 'start' ? 0 : size - cropSize);
  return resized.height > resized.width ? { x: centre.x, y: along(resized.height, crop.height) } : { x: along(resized.width, crop.width), y: centre.y };
}

/**
 * Filter taps along one axis: output i reads inputs first[i] .. first[i] + count[i] − 1 with weights
 * weights[i·taps + k]; `taps` is the most any output reads (rows of weights are zero-padded to it).
 */
export interface Taps {
  taps: number;
  first: Uint32Array;
  count: Uint32Array;
  weights: Float32Array;
}

/**
 * PIL's bilinear coefficients (`precompute_coeffs` in Resample.c) for outputs `from .. from + count − 1`
 * of a resize from `inSize` to `outSize` pixels: output i is centred on input (i + 0.5)·scale, the
 * triangle is `max(scale, 1)` wide each side, and the weights are normalized to sum 1.
 */
export function bilinearTaps(inSize: number, outSize: number, from = 0, count = outSize): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the bilinear (triangle) filter's support is 1 before scaling
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Uint32Array(count);
  const spans = new Uint32Array(count);
  const weights = new Float32Array(count * taps);
  const w = new Float64Array(taps);
  for (let i = 0; i < count; i++) {
    const centre = (from + i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let sum = 0;
    for (let k = 0; k < hi - lo; k++) {
      w[k] = Math.max(0, 1 - Math.abs((lo + k - centre + 0.5) / filterScale));
      sum += w[k];
    }
    first[i] = lo;
    spans[i] = hi - lo;
    for (let k = 0; k < hi - lo; k++) weights[i * taps + k] = sum === 0 ? 0 : w[k] / sum;
  }
  return { taps, first, count: spans, weights };
}
