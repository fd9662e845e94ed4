// The model's input turned back into pictures for display: the inverse of preprocessing's rescale and
// normalize ((v · rescale − mean) / std, reference.ts), so the UI shows each frame exactly as the model saw it
// (resized and cropped).
import type { PreprocessorConfig } from '../checkpoint/config';

/** Frame `t` of a clip [T, 3, H, W] as RGBA bytes (normalization undone, alpha opaque). */
export function unnormalizedRgba(pixels: Float32Array, t: number, H: number, W: number, config: PreprocessorConfig): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray(H * W * 4);
  for (let ch = 0; ch < 3; ch++) {
    const plane = pixels.subarray((t * 3 + ch) * H * W, (t * 3 + ch + 1) * H * W);
    const scale = config.imageStd[ch] / config.rescaleFactor, offset = config.imageMean[ch] / config.rescaleFactor;
    for (let i = 0; i < H * W; i++) rgba[i * 4 + ch] = plane[i] * scale + offset;
  }
  for (let i = 0; i < H * W; i++) rgba[i * 4 + 3] = 255;
  return rgba;
}

/** The model's input [T, 3, H, W] as T pictures. */
export async function framesAsSeen(pixels: Float32Array, T: number, H: number, W: number, config: PreprocessorConfig): Promise<ImageBitmap[]> {
  const frames: ImageBitmap[] = [];
  for (let t = 0; t < T; t++) frames.push(await createImageBitmap(new ImageData(unnormalizedRgba(pixels, t, H, W, config), W, H)));
  return frames;
}
