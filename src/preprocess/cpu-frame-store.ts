// The frame store on the CPU (frame-store.ts has the contract), for CPU adapters: there the GPU is emulated
// on the same cores that decode, and the resize kernel's taps cost 3–5× the CPU time of these loops (Node,
// SwiftShader, 8 frames: 1080p 50–90 ms a frame in the kernels, 16 ms here; 320×240 10 ms, 2 ms). The same
// separable filter as resize-kernel.ts, in the same order (along x for the rows the y taps read, then along
// y), so both stores meet the same reference; a clip is cropped and normalized on the CPU and written to the
// engine's input with one writeBuffer, and a backend that takes CPU pixels reads them with no read-back.
import type { PreprocessorConfig } from '../checkpoint/config';
import type { Runtime } from '../engine/runtime';
import { checkUpload, copyFramePixels, type FrameStore, type PreprocessedClip, type StoreGeometry } from './frame-store';
import { displayToStored, type CropPosition, type Size } from './geometry';
import type { RgbaImage } from './reference';
import type { Rect } from './resize-kernel';

export class CpuFrameStore implements FrameStore {
  readonly uploadPath = 'cpu';
  /** Resized frames [slots, 3, regionH, regionW] in 0..255. */
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
    const copied = await copyFramePixels(checked.video, this.copyRect, this.bytes);
    this.bytes = copied.bytes;
    this.resize(slot, copied.bytes, copied.rect);
  }

  clip(slots: number[], crop: CropPosition = 'centre'): PreprocessedClip {
    const origin = this.geometry.origins.get(crop);
    if (!origin) throw new RangeError(`this store keeps no '${crop}' crop (made for ${[...this.geometry.origins.keys()].join(', ')})`);
    for (const s of slots) if (!Number.isInteger(s) || s < 0 || s >= this.slots) throw new RangeError(`slot ${s} is outside 0..${this.slots - 1}`);
    const { cropWidth: W, cropHeight: H, rescaleFactor, imageMean, imageStd } = this.config;
    const { regionWidth, regionHeight } = this.geometry.resize;
    const shape: [number, number, number, number] = [slots.length, 3, H, W];
    // Made at each call from the frames the slots hold then, as the GPU store's clip reads them at encode
    // (a live ring encodes one clip again for every frame).
    const made = () => {
      const out = new Float32Array(slots.length * 3 * H * W);
      slots.forEach((slot, t) => {
        for (let c = 0; c < 3; c++) {
          const scale = rescaleFactor / imageStd[c], shift = imageMean[c] / imageStd[c];
          const plane = (slot * 3 + c) * regionHeight * regionWidth;
          for (let y = 0; y < H; y++) {
            const from = plane + (y + origin.y) * regionWidth + origin.x, to = ((t * 3 + c) * H + y) * W;
            for (let x = 0; x < W; x++) out[to + x] = this.frames[from + x] * scale - shift;
          }
        }
      });
      return out;
    };
    return {
      shape,
      pixels: made,
      encode: (_encoder, target) => {
        const data = made();
        if (target.size < data.byteLength) throw new RangeError(`the target buffer holds ${target.size} bytes; a [${shape}] clip needs ${data.byteLength}`);
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
    const W = g.regionWidth, rows = this.rows;
    for (let r = 0; r < g.rowCount; r++) {
      const rowBase = (oy * rect.width + ox) * 4 + (g.rowStart + r) * rowStep;
      for (let x = 0; x < W; x++) {
        let p = rowBase + taps.x.first[x] * step;
        const w = x * taps.x.taps, n = taps.x.count[x];
        let R = 0, G = 0, B = 0;
        for (let i = 0; i < n; i++, p += step) {
          const k = taps.x.weights[w + i];
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
    for (let y = 0; y < g.regionHeight; y++) {
      const w = y * taps.y.taps, first = taps.y.first[y] - g.rowStart, n = taps.y.count[y];
      for (let x = 0; x < W; x++) {
        let R = 0, G = 0, B = 0;
        for (let j = 0; j < n; j++) {
          const k = taps.y.weights[w + j], q = ((first + j) * W + x) * 3;
          R += k * rows[q];
          G += k * rows[q + 1];
          B += k * rows[q + 2];
        }
        const o = base + y * W + x;
        this.frames[o] = R;
        this.frames[o + plane] = G;
        this.frames[o + 2 * plane] = B;
      }
    }
  }
}
