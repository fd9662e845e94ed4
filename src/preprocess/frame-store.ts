// GPU preprocessing straight into the engine's input: decoded frames are uploaded one by one into a store
// of resized frames (and closed at once), and each view of the video becomes a GpuClip that crops,
// rescales and normalizes its frames into the engine's input buffer inside the engine's own submission.
//
// Why resize at upload and crop at run: the store then holds frames at the model's size (shortest edge
// 224), not the video's, so 4K and long clips cost the same GPU memory as 320×240, only one frame of
// the video's size is on the GPU at a time, and the 3 spatial crops of the test protocol share one resize.
import type { PreprocessorConfig } from '../checkpoint/config';
import { GpuError, type EngineDevice } from '../engine/device';
import { Runtime, type Step } from '../engine/runtime';
import type { GpuClip } from '../engine/timesformer';
import { bilinearTaps, cropOrigin, displaySize, resizedSize, type CropPosition, type Rotation, type Size, type Taps } from './geometry';
import { normalize, prepareNormalize } from './normalize-kernel';
import type { RgbaImage } from './reference';
import { encodeResize, RESIZE_PARAMS_BYTES, resizeParams, resizePipelines, resizeScratchBytes, storedRect, type FrameSource, type Rect, type ResizeGeometry } from './resize-kernel';

/**
 * How a VideoFrame reaches the GPU. 'external': `importExternalTexture` (no copy through the CPU).
 * 'copy': `frame.copyTo` RGBA bytes + `writeBuffer` (works everywhere, e.g. SwiftShader without Vulkan).
 */
export type UploadPath = 'external' | 'copy';

export interface FrameStoreOptions {
  /** How many frames it holds. */
  slots: number;
  /** The crops its clips will take: only the part of the resized frame they cover is kept. */
  crops: CropPosition[];
  /**
   * 'auto' (default): 'external' on a real GPU when the frame's colour primaries are BT.709 (or unstated),
   * else 'copy'. Importing converts other primaries (e.g. BT.601 SD video) to sRGB's, a colour shift the
   * model never saw (its training frames came from ffmpeg, which converts YUV→RGB without gamut mapping).
   * On a CPU adapter (SwiftShader) importing saves nothing, and its YUV sampling showed artefacts (a
   * wrong last row, seams at chroma edges: mean error 2.8/255 against ffmpeg, against 1.0 for 'copy').
   * 'external' falls back to 'copy' when the browser cannot import the frame.
   */
  upload?: 'auto' | UploadPath;
}

/** A clip of the store's frames: implements the engine's GpuClip, with its tensor shape. */
export interface PreprocessedClip extends GpuClip {
  shape: [number, number, number, number];
}

export class FrameStore {
  /** The path the frames took (known after the first upload). */
  uploadPath?: UploadPath;
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
  /** Set once an imported frame went through without errors: later imports are not checked. */
  private externalWorks = false;

  private constructor(
    rt: Runtime,
    readonly stored: Size,
    private readonly config: PreprocessorConfig,
    private readonly geometry: ResizeGeometry,
    taps: { x: Taps; y: Taps },
    /** Where each crop starts in the kept region of the resized frame. */
    private readonly origins: Map<CropPosition, { x: number; y: number }>,
    readonly slots: number,
    private readonly requested: 'auto' | UploadPath,
  ) {
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
   * A store for `slots` frames of `stored` size (before `rotation`), preprocessed as `config` says. Pass the
   * device's Runtime to share its compiled kernels; a bare EngineDevice gets a runtime of its own.
   */
  static create(gpu: Runtime | EngineDevice, stored: Size, rotation: Rotation, config: PreprocessorConfig, options: FrameStoreOptions): FrameStore {
    if (!Number.isInteger(options.slots) || options.slots < 1) throw new RangeError(`slots must be a positive integer, got ${options.slots}`);
    const crop = { width: config.cropWidth, height: config.cropHeight };
    const display = displaySize(stored, rotation);
    const resized = resizedSize(display, config.shortestEdge);
    const origins = new Map([...new Set(options.crops)].map((c) => [c, cropOrigin(resized, crop, c)] as const));
    if (origins.size === 0) throw new RangeError('crops must name at least one crop position');
    // Keep only the part of the resized frame that the crops cover.
    const xs = [...origins.values()].map((o) => o.x), ys = [...origins.values()].map((o) => o.y);
    const region = { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs) + crop.width, height: Math.max(...ys) - Math.min(...ys) + crop.height };
    for (const o of origins.values()) {
      o.x -= region.x;
      o.y -= region.y;
    }
    const taps = { x: bilinearTaps(display.width, resized.width, region.x, region.width), y: bilinearTaps(display.height, resized.height, region.y, region.height) };
    const rowStart = Math.min(...taps.y.first), rowEnd = Math.max(...taps.y.first.map((f, i) => f + taps.y.count[i]));
    const columnStart = Math.min(...taps.x.first), columnEnd = Math.max(...taps.x.first.map((f, i) => f + taps.x.count[i]));
    const copyRect = storedRect(stored, rotation, columnStart, columnEnd, rowStart, rowEnd);
    const geometry: ResizeGeometry = { stored, rotation, regionWidth: region.width, regionHeight: region.height, tapsX: taps.x.taps, tapsY: taps.y.taps, rowStart, rowCount: rowEnd - rowStart, copyRect };
    const rt = gpu instanceof Runtime ? gpu.scope() : new Runtime(gpu);
    return new FrameStore(rt, stored, config, geometry, taps, origins, options.slots, options.upload ?? 'auto');
  }

  /**
   * Resize one frame into `slot`. The caller may close a VideoFrame as soon as this resolves: the GPU
   * work that reads it is submitted by then.
   */
  async upload(slot: number, frame: VideoFrame | RgbaImage): Promise<void> {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) throw new RangeError(`slot ${slot} is outside 0..${this.slots - 1}`);
    const whole = { x: 0, y: 0, ...this.stored };
    if (isRgba(frame) && (frame.x !== undefined || frame.y !== undefined)) {
      const part = { x: frame.x ?? 0, y: frame.y ?? 0, width: frame.width, height: frame.height };
      if (!contains(whole, part) || !contains(part, this.copyRect)) {
        throw new RangeError(`a ${part.width}×${part.height} part at (${part.x}, ${part.y}) of a ${whole.width}×${whole.height} frame must cover the pixels the resize reads, ${rectText(this.copyRect)}`);
      }
      return this.resizeFromBytes(slot, frame.data, part);
    }
    const size = isRgba(frame) ? frame : frame.visibleRect;
    if (!size) throw new RangeError('the frame is closed');
    if (size.width !== this.stored.width || size.height !== this.stored.height) {
      throw new RangeError(`a ${size.width}×${size.height} frame in a store of ${this.stored.width}×${this.stored.height} frames (did the video change size?)`);
    }
    if (isRgba(frame)) return this.resizeFromBytes(slot, frame.data, whole);
    this.uploadPath ??= this.requested === 'auto' ? (this.importsFaithfully(frame) ? 'external' : 'copy') : this.requested;
    if (this.uploadPath === 'external' && (await this.resizeExternal(slot, frame, whole))) return;
    this.uploadPath = 'copy';
    // Only the pixels the resize reads: less colour conversion, copying and uploading (a 16:9 centre crop: 56%).
    const rect = this.copyRect;
    this.bytes ??= new Uint8Array(rect.width * rect.height * 4);
    await frame.copyTo(this.bytes, { rect, format: 'RGBA', colorSpace: 'srgb' });
    this.resizeFromBytes(slot, this.bytes, rect);
  }

  /** The rectangle of the stored frame the resize reads (even corner and size): all of a frame that needs uploading. */
  get copyRect(): Rect {
    return this.geometry.copyRect;
  }

  /** A clip of the frames in `slots` (in order; a slot may repeat), cropped at `crop`. */
  clip(slots: number[], crop: CropPosition = 'centre'): PreprocessedClip {
    const origin = this.origins.get(crop);
    if (!origin) throw new RangeError(`this store keeps no '${crop}' crop (made for ${[...this.origins.keys()].join(', ')})`);
    for (const s of slots) if (!Number.isInteger(s) || s < 0 || s >= this.slots) throw new RangeError(`slot ${s} is outside 0..${this.slots - 1}`);
    const { config, rt } = this;
    const shape: [number, number, number, number] = [slots.length, 3, config.cropHeight, config.cropWidth];
    const slotBuffer = this.buffer('clip slots', new Uint32Array(slots));
    let recorded: { target: GPUBuffer; step: Step } | undefined;
    return {
      shape,
      encode: (encoder, target) => {
        const bytes = shape.reduce((a, b) => a * b) * 4;
        if (target.size < bytes) throw new RangeError(`the target buffer holds ${target.size} bytes; a [${shape}] clip needs ${bytes}`);
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
    this.rt.destroy();
    this.bytes = undefined;
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

  /** Resize RGBA bytes holding `rect` of the stored frame (the whole frame, or the copy rectangle). */
  private resizeFromBytes(slot: number, data: RgbaImage['data'], rect: Rect) {
    const { device } = this.rt;
    if (data.length !== rect.width * rect.height * 4) throw new RangeError(`${data.length} RGBA bytes for a ${rect.width}×${rect.height} frame`);
    // Sized for the largest seen (a store given whole RGBA images and copied rectangles keeps the larger).
    if (!this.pixels || this.pixels.size < data.length) {
      if (this.pixels) {
        this.pixels.destroy();
        this.owned.splice(this.owned.indexOf(this.pixels), 1);
      }
      this.pixels = this.buffer('frame pixels', data.length);
    }
    device.queue.writeBuffer(this.pixels, 0, data);
    this.submitResize(slot, rect, 'rgba', { buffer: this.pixels });
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
    const bind = (pipeline: GPUComputePipeline, label: string, input: GPUExternalTexture | GPUBufferBinding, output: GPUBuffer) =>
      device.createBindGroup({
        label,
        layout: pipeline.getBindGroupLayout(0),
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
    encodeResize(encoder, pipelines, { rows: bind(pipelines.rows, `resize rows ${source}`, resource, this.scratch), columns: this.columns }, this.geometry);
    device.queue.submit([encoder.finish()]);
  }
}

function isRgba(frame: VideoFrame | RgbaImage): frame is RgbaImage {
  return 'data' in frame;
}

const contains = (outer: Rect, inner: Rect) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
const rectText = (r: Rect) => `${r.width}×${r.height} at (${r.x}, ${r.y})`;

