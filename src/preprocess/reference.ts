// CPU reference of the GPU preprocessing (frame-store.ts and its kernels), the same math in f64:
// stored RGBA frames → display orientation → PIL bilinear resize of the shortest edge → crop →
// rescale → normalize, as a [T, 3, cropHeight, cropWidth] tensor. Tests compare the WGSL kernels to it.
import type { PreprocessorConfig } from '../checkpoint/config';
import { bilinearTaps, cropOrigin, displaySize, resizedSize, storedPixel, type CropPosition, type Rotation, type Size } from './geometry';

/** 8-bit RGBA pixels, rows top to bottom, in the frame's stored orientation. */
export interface RgbaImage extends Size {
  data: Uint8Array<ArrayBuffer> | Uint8ClampedArray<ArrayBuffer>;
  /** Where these pixels sit in the stored frame, when they are only a part of it (FrameStore.copyRect); else 0, 0. */
  x?: number;
  y?: number;
}

/** The frame as displayed: rotation applied (tests compare it with ffmpeg's auto-rotated frames). */
export function orientRgba(image: RgbaImage, rotation: Rotation): RgbaImage {
  const { width, height } = displaySize(image, rotation);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [xs, ys] = storedPixel(x, y, image, rotation);
      data.set(image.data.subarray((ys * image.width + xs) * 4, (ys * image.width + xs) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

/** Preprocess frames as the model's processor does; every frame has the same size and rotation. */
export function preprocessReference(frames: RgbaImage[], rotation: Rotation, config: PreprocessorConfig, crop: CropPosition = 'centre'): Float32Array {
  const cropSize = { width: config.cropWidth, height: config.cropHeight };
  const out = new Float32Array(frames.length * 3 * cropSize.width * cropSize.height);
  frames.forEach((frame, t) => {
    const display = displaySize(frame, rotation);
    const resized = resizedSize(display, config.shortestEdge);
    const origin = cropOrigin(resized, cropSize, crop);
    const tx = bilinearTaps(display.width, resized.width, origin.x, cropSize.width);
    const ty = bilinearTaps(display.height, resized.height, origin.y, cropSize.height);
    for (let y = 0; y < cropSize.height; y++) {
      for (let x = 0; x < cropSize.width; x++) {
        // Rows first, then columns, as the kernel sums.
        const rgb = [0, 0, 0];
        for (let j = 0; j < ty.count[y]; j++) {
          const wy = ty.weights[y * ty.taps + j];
          const row = [0, 0, 0];
          for (let i = 0; i < tx.count[x]; i++) {
            const wx = tx.weights[x * tx.taps + i];
            const [xs, ys] = storedPixel(tx.first[x] + i, ty.first[y] + j, frame, rotation);
            const p = (ys * frame.width + xs) * 4;
            for (let c = 0; c < 3; c++) row[c] += wx * frame.data[p + c];
          }
          for (let c = 0; c < 3; c++) rgb[c] += wy * row[c];
        }
        for (let c = 0; c < 3; c++) {
          out[((t * 3 + c) * cropSize.height + y) * cropSize.width + x] = (rgb[c] * config.rescaleFactor - config.imageMean[c]) / config.imageStd[c];
        }
      }
    }
  });
  return out;
}
