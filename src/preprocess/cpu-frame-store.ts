// The frame store on the CPU (frame-store.ts has the contract), for CPU adapters: there the GPU is emulated
// on the same cores that decode, and the resize kernel's taps cost 3–5× the CPU time of these loops (Node,
// SwiftShader, a frame: 1080p 50–90 ms in the kernels, 10–14 ms here; 320×240 10 ms, 1–2 ms). The same
// separable filter as resize-kernel.ts, in the same order (along x for the rows the y taps read, then along
// y), so both stores meet the same reference. Frames are normalized as they are resized (normalizing does not
// depend on the crop), so a clip is rows copied out of the store, written to the engine's input with one
// writeBuffer; a backend that takes CPU pixels reads them with no read-back.
import type { PreprocessorConfig } from '../checkpoint/config';
import type { Runtime } from '../engine/runtime';
import { checkClipTarget, checkUpload, clipOrigin, framePixels, type FrameStore, type PreprocessedClip, type StoreGeometry } from './frame-store';
import { displayToStored, type CropPosition, type Rect, type Size } from './geometry';
import type { RgbaImage } from './reference';
import { planarYuvToRgba } from './yuv';

export class CpuFrameStore implements FrameStore {
  readonly uploadPath = 'cpu';
  /** Resized and normalized frames [slots, 3, regionH, regionW]. */
  private readonly frames: Float32Array;
  /** Between the two passes: the rows the y taps read, filtered along x, [rowCount, regionW, 3]. */
  private readonly rows: Float32Array;
  private bytes?: Uint8Array<ArrayBuffer>;

  constructor(
    private readonly rt: Runtime,
    readonly stored: Size,
    private readonly config: PreprocessorConfig,
    private readonly geometry: StoreGeometry,
    readonly slots: number,
    private readonly convert: 'browser' | 'own',
  ) {
    const g = geometry.resize;
    this.frames = new Float32Array(slots * 3 * g.regionWidth * g.regionHeight);
    this.rows = new Float32Array(g.rowCount * g.regionWidth * 3);
  }

  get copyRect(): Rect {
    return this.geometry.resize.copyRect;
  }

  async upload(slot: number, frame: VideoFrame | RgbaImage): Promise<void> {
    const checked = checkUpload(this, slot, frame);
    if ('rgba' in checked) return this.resize(slot, checked.rgba, checked.rect);
    const copied = await framePixels(checked.video, this.copyRect, this.bytes, this.convert);
    if ('yuv' in copied) return this.resize(slot, planarYuvToRgba(copied.yuv), { x: 0, y: 0, ...this.stored });
    this.bytes = copied.bytes;
    this.resize(slot, copied.bytes, copied.rect);
  }

  clip(slots: number[], crop: CropPosition = 'centre'): PreprocessedClip {
    const origin = clipOrigin(this, this.geometry.origins, slots, crop);
    const { cropWidth: W, cropHeight: H } = this.config;
    const { regionWidth, regionHeight } = this.geometry.resize;
    const shape: [number, number, number, number] = [slots.length, 3, H, W];
    // Made at each call from the frames the slots hold then, as the GPU store's clip reads them at encode
    // (a live ring encodes one clip again for every frame).
    const frames = this.frames;
    const made = () => {
      const out = new Float32Array(slots.length * 3 * H * W);
      for (let t = 0; t < slots.length; t++) {
        for (let c = 0; c < 3; c++) {
          const plane = (slots[t] * 3 + c) * regionHeight * regionWidth + origin.y * regionWidth + origin.x, to = (t * 3 + c) * H * W;
          // The crop spans the region's width (one crop, or crops along y): its plane is one run of the store.
          if (W === regionWidth) out.set(frames.subarray(plane, plane + H * W), to);
          else for (let y = 0; y < H; y++) out.set(frames.subarray(plane + y * regionWidth, plane + y * regionWidth + W), to + y * W);
        }
      }
      return out;
    };
    return {
      shape,
      pixels: made,
      encode: (_encoder, target) => {
        checkClipTarget(target, shape);
        const data = made();
        if (!(target.usage & GPUBufferUsage.COPY_DST)) throw new RangeError('the target buffer needs COPY_DST usage: this clip is written with writeBuffer');
        // Queued before the submission the encoder goes into (writes reach the queue in call order).
        this.rt.device.queue.writeBuffer(target, 0, data.buffer, data.byteOffset, data.byteLength);
      },
    };
  }

  destroy() {
    this.bytes = undefined;
  }

  /** Resize RGBA bytes holding `rect` of the stored frame into `slot`: the resize kernel's two passes. */
  private resize(slot: number, data: RgbaImage['data'], rect: Rect) {
    const { resize: g, taps } = this.geometry;
    const { origin, dx, dy } = displayToStored(g.stored, g.rotation);
    // Display pixel (x, y) is stored at origin + x·dx + y·dy, i.e. at byte ((oy + x·dx₁ + y·dy₁)·rect.width +
    // ox + x·dx₀ + y·dy₀)·4 of `data`, with o the origin relative to the rectangle's corner.
    const ox = origin[0] - rect.x, oy = origin[1] - rect.y;
    const step = (dx[1] * rect.width + dx[0]) * 4, rowStep = (dy[1] * rect.width + dy[0]) * 4;
    const W = g.regionWidth, rows = this.rows, frames = this.frames;
    const { first: xFirst, count: xCount, weights: xWeights, taps: xTaps } = taps.x;
    const { first: yFirst, count: yCount, weights: yWeights, taps: yTaps } = taps.y;
    for (let r = 0; r < g.rowCount; r++) {
      const rowBase = (oy * rect.width + ox) * 4 + (g.rowStart + r) * rowStep;
      for (let x = 0; x < W; x++) {
        let p = rowBase + xFirst[x] * step;
        const w = x * xTaps, n = xCount[x];
        let R = 0, G = 0, B = 0;
        for (let i = 0; i < n; i++, p += step) {
          const k = xWeights[w + i];
          R += k * data[p];
          G += k * data[p + 1];
          B += k * data[p + 2];
        }
        const q = (r * W + x) * 3;
        rows[q] = R;
        rows[q + 1] = G;
        rows[q + 2] = B;
      }
    }
    const plane = W * g.regionHeight, base = slot * 3 * plane;
    // (v · rescale − mean) / std as v · scale − shift, per channel.
    const { rescaleFactor, imageMean, imageStd } = this.config;
    const [sR, sG, sB] = imageStd.map((std) => rescaleFactor / std), [hR, hG, hB] = imageMean.map((m, c) => m / imageStd[c]);
    for (let y = 0; y < g.regionHeight; y++) {
      const w = y * yTaps, first = yFirst[y] - g.rowStart, n = yCount[y];
      for (let x = 0; x < W; x++) {
        let R = 0, G = 0, B = 0;
        for (let j = 0; j < n; j++) {
          const k = yWeights[w + j], q = ((first + j) * W + x) * 3;
          R += k * rows[q];
          G += k * rows[q + 1];
          B += k * rows[q + 2];
        }
        const o = base + y * W + x;
        frames[o] = R * sR - hR;
        frames[o + plane] = G * sG - hG;
        frames[o + 2 * plane] = B * sB - hB;
      }
    }
  }
}
