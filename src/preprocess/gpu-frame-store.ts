// The frame store on the GPU (frame-store.ts has the contract): each frame is resized by the resize kernel
// into a GPU store of resized frames, and a clip is cropped, rescaled and normalized by the normalize kernel
// into the engine's input buffer inside the engine's own submission.
import type { PreprocessorConfig } from '../checkpoint/config';
import { GpuError } from '../engine/device';
import type { CachedPipeline, Runtime, Step } from '../engine/runtime';
import { checkClipTarget, checkUpload, clipOrigin, framePixels, type FrameStore, type PreprocessedClip, type StoreGeometry, type UploadPath } from './frame-store';
import type { CropPosition, Rect, Size } from './geometry';
import { normalize, prepareNormalize } from './normalize-kernel';
import type { RgbaImage } from './reference';
import { encodeResize, RESIZE_PARAMS_BYTES, resizeParams, resizePipelines, resizeScratchBytes, type FrameSource, type ResizeGeometry } from './resize-kernel';
import type { PlanarYuv } from './yuv';
import { encodeYuvToRgba, YUV_PARAMS_BYTES, yuvSampleBytes } from './yuv-kernel';

export class GpuFrameStore implements FrameStore {
  uploadPath: UploadPath | undefined;
  /** A scope of the device's Runtime: its compiled kernels are shared, its buffers are this store's. */
  private readonly rt: Runtime;
  /** Storage buffers this store made itself (its kernels' uniforms belong to `rt`, destroyed with it). */
  private readonly owned: GPUBuffer[] = [];
  private readonly frames: GPUBuffer;
  private readonly taps: { spans: GPUBuffer; weights: GPUBuffer };
  private readonly params: GPUBuffer;
  /** Between the resize's two passes: the frame filtered along x (reused: uploads are queued in order). */
  private readonly scratch: GPUBuffer;
  /** The 'columns' pass's bind group, the same for every frame. */
  private columns?: GPUBindGroup;
  /** The 'rgba' frame: one frame's RGBA bytes (reused, as uploads are queued in order). */
  private pixels?: GPUBuffer;
  private bytes?: Uint8Array<ArrayBuffer>;
  /** Our own conversion of 10/12-bit frames: its params and the frame's samples (reused, as uploads are queued in order). */
  private yuv?: { params: GPUBuffer; samples?: GPUBuffer };
  /** Set once an imported frame went through without errors: later imports are not checked. */
  private externalWorks = false;

  private readonly geometry: ResizeGeometry;
  private readonly origins: StoreGeometry['origins'];

  constructor(
    rt: Runtime,
    readonly stored: Size,
    private readonly config: PreprocessorConfig,
    { resize: geometry, taps, origins }: StoreGeometry,
    readonly slots: number,
    private readonly requested: 'auto' | UploadPath,
    private readonly convert: 'browser' | 'own',
  ) {
    this.geometry = geometry;
    this.origins = origins;
    this.rt = rt;
    const { regionWidth: w, regionHeight: h } = geometry;
    this.frames = this.buffer('frame store', slots * 3 * w * h * 4);
    // x taps, then y taps, in one buffer each (see resize-kernel.ts).
    const spans = new Uint32Array(2 * (w + h));
    [...taps.x.first, ...taps.y.first].forEach((first, i) => spans.set([first, i < w ? taps.x.count[i] : taps.y.count[i - w]], 2 * i));
    const weights = new Float32Array(taps.x.weights.length + taps.y.weights.length);
    weights.set(taps.x.weights);
    weights.set(taps.y.weights, taps.x.weights.length);
    this.taps = { spans: this.buffer('resize spans', spans), weights: this.buffer('resize weights', weights) };
    this.params = this.rt.device.createBuffer({ label: 'resize params', size: RESIZE_PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.scratch = this.buffer('resize scratch', resizeScratchBytes(geometry));
    prepareNormalize(rt); // compiles while the frames are decoded
  }

  /**
   * Resize one frame into `slot`. The caller may close a VideoFrame as soon as this resolves: the GPU
   * work that reads it is submitted by then.
   */
  async upload(slot: number, frame: VideoFrame | RgbaImage): Promise<void> {
    const checked = checkUpload(this, slot, frame);
    if ('rgba' in checked) return this.resizeFromBytes(slot, checked.rgba, checked.rect);
    const video = checked.video;
    this.uploadPath ??= this.requested === 'auto' ? (this.importsFaithfully(video) ? 'external' : 'copy') : this.requested;
    if (this.uploadPath === 'external' && (await this.resizeExternal(slot, video, { x: 0, y: 0, ...this.stored }))) return;
    this.uploadPath = 'copy';
    // Only the pixels the resize reads: less colour conversion, copying and uploading (a 16:9 centre crop: 56%).
    const copied = await framePixels(video, this.copyRect, this.bytes, this.convert);
    if ('yuv' in copied) return this.resizeFromYuv(slot, copied.yuv);
    this.bytes = copied.bytes;
    this.resizeFromBytes(slot, copied.bytes, copied.rect);
  }

  get copyRect(): Rect {
    return this.geometry.copyRect;
  }

  clip(slots: number[], crop: CropPosition = 'centre'): PreprocessedClip {
    const origin = clipOrigin(this, this.origins, slots, crop);
    const { config, rt } = this;
    const shape: [number, number, number, number] = [slots.length, 3, config.cropHeight, config.cropWidth];
    const slotBuffer = this.buffer('clip slots', new Uint32Array(slots));
    let recorded: { target: GPUBuffer; step: Step } | undefined;
    return {
      shape,
      encode: (encoder, target) => {
        checkClipTarget(target, shape);
        if (recorded?.target !== target) {
          const step = normalize(rt, `preprocess ${crop}`, {
            frames: this.frames,
            slots: slotBuffer,
            pixels: target,
            T: slots.length,
            crop: { width: config.cropWidth, height: config.cropHeight, ...origin },
            region: { width: this.geometry.regionWidth, height: this.geometry.regionHeight },
            rescale: config.rescaleFactor,
            mean: config.imageMean,
            std: config.imageStd,
          });
          recorded = { target, step };
        }
        rt.encode([recorded.step], encoder);
      },
    };
  }

  destroy() {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.params.destroy();
    this.yuv?.params.destroy();
    this.rt.destroy();
    this.bytes = undefined;
  }

  /** `buffer`, or a new one of `bytes` where it is smaller: sized for the largest seen (whole frames and copied rectangles). */
  private grown(buffer: GPUBuffer | undefined, label: string, bytes: number): GPUBuffer {
    if (buffer && buffer.size >= bytes) return buffer;
    if (buffer) {
      buffer.destroy();
      this.owned.splice(this.owned.indexOf(buffer), 1);
    }
    return this.buffer(label, bytes);
  }

  /** A storage buffer of `contents` bytes, or holding `contents`. */
  private buffer(label: string, contents: number | Uint32Array<ArrayBuffer> | Float32Array<ArrayBuffer>): GPUBuffer {
    const bytes = typeof contents === 'number' ? contents : contents.byteLength;
    const limit = this.rt.device.limits.maxStorageBufferBindingSize;
    if (bytes > limit) throw new GpuError(`the ${label} needs ${bytes} bytes, more than this GPU allows in one buffer (${limit}): use fewer frames or views`);
    const buffer = this.rt.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    if (typeof contents !== 'number') this.rt.device.queue.writeBuffer(buffer, 0, contents);
    this.owned.push(buffer);
    return buffer;
  }

  /** Resize RGBA bytes holding `rect` of the stored frame (the whole frame, or a part covering copyRect). */
  private resizeFromBytes(slot: number, data: RgbaImage['data'], rect: Rect) {
    const { device } = this.rt;
    this.pixels = this.grown(this.pixels, 'frame pixels', data.length);
    device.queue.writeBuffer(this.pixels, 0, data);
    this.submitResize(slot, rect, 'rgba', { buffer: this.pixels });
  }

  /** Convert 10/12-bit planes to RGBA in the 'rgba' frame buffer (yuv-kernel.ts), and resize that. */
  private resizeFromYuv(slot: number, yuv: PlanarYuv) {
    const { device } = this.rt;
    this.pixels = this.grown(this.pixels, 'frame pixels', yuv.width * yuv.height * 4);
    this.yuv ??= { params: this.rt.device.createBuffer({ label: 'yuv params', size: YUV_PARAMS_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }) };
    this.yuv.samples = this.grown(this.yuv.samples, 'yuv samples', yuvSampleBytes(yuv));
    const encoder = device.createCommandEncoder({ label: 'yuv to rgba' });
    encodeYuvToRgba(this.rt, encoder, yuv, { params: this.yuv.params, samples: this.yuv.samples, rgba: this.pixels });
    device.queue.submit([encoder.finish()]);
    this.submitResize(slot, { x: 0, y: 0, ...this.stored }, 'rgba', { buffer: this.pixels });
  }

  /** Resize an imported frame; false if the browser could not import it (the caller copies instead). */
  private async resizeExternal(slot: number, frame: VideoFrame, whole: Rect): Promise<boolean> {
    const { device } = this.rt;
    const probing = !this.externalWorks;
    if (probing) {
      device.pushErrorScope('validation');
      device.pushErrorScope('internal');
    }
    let thrown = false;
    try {
      this.submitResize(slot, whole, 'external', device.importExternalTexture({ source: frame }));
    } catch {
      thrown = true;
    }
    if (!probing) return !thrown;
    const errors = [await device.popErrorScope(), await device.popErrorScope()];
    this.externalWorks = !thrown && errors.every((e) => e === null);
    return this.externalWorks;
  }

  /** Whether importing is both available and faithful to the decoder's colours (see FrameStoreOptions.upload). */
  private importsFaithfully(frame: VideoFrame): boolean {
    const primaries = frame.colorSpace.primaries;
    return typeof this.rt.device.importExternalTexture === 'function' && !this.rt.gpu.adapter.isFallback && (primaries === null || primaries === 'bt709');
  }

  private submitResize(slot: number, bound: Rect, source: FrameSource, resource: GPUExternalTexture | GPUBufferBinding) {
    const { device } = this.rt;
    device.queue.writeBuffer(this.params, 0, resizeParams(this.geometry, slot, bound));
    const pipelines = resizePipelines(this.rt, source);
    const bind = (kernel: CachedPipeline, label: string, input: GPUExternalTexture | GPUBufferBinding, output: GPUBuffer) =>
      device.createBindGroup({
        label,
        layout: kernel.layout,
        entries: [
          { binding: 0, resource: { buffer: this.params } },
          { binding: 1, resource: input },
          { binding: 2, resource: { buffer: this.taps.spans } },
          { binding: 3, resource: { buffer: this.taps.weights } },
          { binding: 4, resource: { buffer: output } },
        ],
      });
    this.columns ??= bind(pipelines.columns, 'resize columns', { buffer: this.scratch }, this.frames);
    const encoder = device.createCommandEncoder({ label: 'resize frame' });
    encodeResize(this.rt, encoder, pipelines, { rows: bind(pipelines.rows, `resize rows ${source}`, resource, this.scratch), columns: this.columns }, this.geometry);
    device.queue.submit([encoder.finish()]);
  }
}
