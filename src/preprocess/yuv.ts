// Our own conversion of 10- and 12-bit planar YUV frames to 8-bit RGBA, for browsers whose VideoFrame.copyTo
// cannot convert them (format 'RGBA', colour space 'srgb'); Chromium can. The YUV → RGB matrix and range follow
// the frame's colour space; each chroma sample stands for the 2×2 (4:2:0), 2×1 (4:2:2) or 1×1 pixels it covers,
// as browsers and ffmpeg upsample chroma for 8-bit video. Primaries and transfer are kept as coded (BT.709 and
// BT.601 video is shown that way too); wide-gamut and HDR frames are not tone-mapped. This file: the formats,
// the coefficients, the copy out of a VideoFrame, and the CPU conversion (the reference of yuv-kernel.ts).

/** A planar YUV frame, each plane tightly packed (rows of its own width). */
export interface PlanarYuv {
  width: number;
  height: number;
  bitDepth: number;
  /** Pixels per chroma sample along x and y: 2, 2 for 4:2:0. */
  subsampling: [number, number];
  y: Uint16Array;
  u: Uint16Array;
  v: Uint16Array;
  /** VideoColorSpace.matrix ('bt2020-ncl' too, which TypeScript's DOM types lack; null: BT.601) and range. */
  matrix: string | null;
  fullRange: boolean;
}

/** VideoFrame formats we convert ourselves: bit depth and chroma subsampling. */
export const HIGH_BIT_DEPTH_FORMATS: Record<string, { bitDepth: number; subsampling: [number, number] }> = {
  I420P10: { bitDepth: 10, subsampling: [2, 2] },
  I420P12: { bitDepth: 12, subsampling: [2, 2] },
  I422P10: { bitDepth: 10, subsampling: [2, 1] },
  I422P12: { bitDepth: 12, subsampling: [2, 1] },
  I444P10: { bitDepth: 10, subsampling: [1, 1] },
  I444P12: { bitDepth: 12, subsampling: [1, 1] },
};

/** Kr, Kb of the YUV matrix. */
const LUMA_WEIGHTS: Record<string, [number, number]> = {
  bt709: [0.2126, 0.0722],
  bt470bg: [0.299, 0.114],
  smpte170m: [0.299, 0.114],
  'bt2020-ncl': [0.2627, 0.0593],
};

/**
 * RGB = matrix · (YUV − offset) / scale, in 0..1: `offset` [Y, chroma] in code values, `scale` [Y, chroma],
 * and the matrix as [R from V, G from U, G from V, B from U].
 */
export interface YuvCoefficients {
  offset: [number, number];
  scale: [number, number];
  matrix: [number, number, number, number];
}

export function yuvCoefficients(matrix: string | null, fullRange: boolean, bitDepth: number): YuvCoefficients {
  const [kr, kb] = (matrix && LUMA_WEIGHTS[matrix]) || LUMA_WEIGHTS.smpte170m;
  const kg = 1 - kr - kb;
  const unit = 2 ** (bitDepth - 8);
  const max = 2 ** bitDepth - 1;
  return {
    offset: [fullRange ? 0 : 16 * unit, 128 * unit],
    scale: fullRange ? [max, max] : [219 * unit, 224 * unit],
    matrix: [2 * (1 - kr), (-2 * (1 - kb) * kb) / kg, (-2 * (1 - kr) * kr) / kg, 2 * (1 - kb)],
  };
}

/** The frame's visible pixels as planar YUV (copyTo in the frame's own format), if its format is one we convert. */
export async function copyPlanarYuv(frame: VideoFrame): Promise<PlanarYuv | undefined> {
  const format = frame.format && HIGH_BIT_DEPTH_FORMATS[frame.format];
  if (!format) return undefined;
  const { width, height } = frame.visibleRect!;
  const [sx, sy] = format.subsampling;
  const [cw, ch] = [Math.ceil(width / sx), Math.ceil(height / sy)];
  const samples = new Uint16Array(width * height + 2 * cw * ch);
  // Tightly packed planes, one after another.
  const layout = [
    { offset: 0, stride: width * 2 },
    { offset: width * height * 2, stride: cw * 2 },
    { offset: (width * height + cw * ch) * 2, stride: cw * 2 },
  ];
  await frame.copyTo(samples, { rect: frame.visibleRect!, layout });
  return {
    width,
    height,
    ...format,
    y: samples.subarray(0, width * height),
    u: samples.subarray(width * height, width * height + cw * ch),
    v: samples.subarray(width * height + cw * ch),
    matrix: frame.colorSpace.matrix,
    fullRange: frame.colorSpace.fullRange ?? false,
  };
}

/** RGBA bytes (alpha 255) of a planar YUV frame: the reference of the yuv kernel, and the CPU store's conversion. */
export function planarYuvToRgba(image: PlanarYuv): Uint8Array<ArrayBuffer> {
  const { width, height, subsampling: [sx, sy] } = image;
  const { offset, scale, matrix: [rv, gu, gv, bu] } = yuvCoefficients(image.matrix, image.fullRange, image.bitDepth);
  const cw = Math.ceil(width / sx);
  const out = new Uint8Array(width * height * 4);
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = Math.floor(y / sy) * cw + Math.floor(x / sx);
      const l = (image.y[y * width + x] - offset[0]) / scale[0];
      const u = (image.u[c] - offset[1]) / scale[1];
      const v = (image.v[c] - offset[1]) / scale[1];
      out.set([byte(l + rv * v), byte(l + gu * u + gv * v), byte(l + bu * u), 255], (y * width + x) * 4);
    }
  }
  return out;
}
