// The frame store: decoded frames are uploaded one by one into a store of resized frames (and closed at
// once), and each view of the video becomes a clip that crops, rescales and normalizes its frames into the
// engine's input buffer inside the engine's own submission.
//
// Why resize at upload and crop at run: the store then holds frames at the model's size (shortest edge
// 224), not the video's, so 4K and long clips cost the same memory as 320×240, only one frame of the
// video's size is held at a time, and the 3 spatial crops of the test protocol share one resize.
//
// Two implementations of one contract: on the GPU (gpu-frame-store.ts: the resize and normalize kernels),
// and on the CPU (cpu-frame-store.ts) for CPU adapters, where the "GPU" is emulated on the same cores that
// decode: the same separable filter in plain loops costs 3–5× less CPU time than the emulated kernels.
import type { PreprocessorConfig } from '../checkpoint/config';
import type { EngineDevice } from '../engine/device';
import { Runtime } from '../engine/runtime';
import type { GpuClip } from '../engine/timesformer';
import { CpuFrameStore } from './cpu-frame-store';
import { bilinearTaps, cropOrigin, displaySize, resizedSize, storedRect, type CropPosition, type Rect, type Rotation, type Size, type Taps } from './geometry';
import { GpuFrameStore } from './gpu-frame-store';
import type { RgbaImage } from './reference';
import type { ResizeGeometry } from './resize-kernel';
import { copyPlanarYuv, type PlanarYuv } from './yuv';

/**
 * How a VideoFrame reaches the model's input. 'external': `importExternalTexture` (no copy through the CPU).
 * 'copy': `frame.copyTo` RGBA bytes + `writeBuffer`, resized on the GPU (works everywhere, e.g. SwiftShader
 * without Vulkan). 'cpu': `frame.copyTo` RGBA bytes, resized and normalized on the CPU, the clip written to
 * the GPU whole (CPU adapters).
 */
export type UploadPath = 'external' | 'copy' | 'cpu';

export interface FrameStoreOptions {
  /** How many frames it holds. */
  slots: number;
  /** The crops its clips will take: only the part of the resized frame they cover is kept. */
  crops: CropPosition[];
  /**
   * 'auto' (default): 'cpu' on a CPU adapter; on a real GPU 'external' when the frame's colour primaries are
   * BT.709 (or unstated), else 'copy'. Importing converts other primaries (e.g. BT.601 SD video) to sRGB's, a
   * colour shift the model never saw (its training frames came from ffmpeg, which converts YUV→RGB without
   * gamut mapping). On a CPU adapter (SwiftShader) importing saves nothing, and its YUV sampling showed
   * artefacts (a wrong last row, seams at chroma edges: mean error 2.8/255 against ffmpeg, against 1.0 for
   * 'copy'). 'external' falls back to 'copy' when the browser cannot import the frame.
   */
  upload?: 'auto' | UploadPath;
  /**
   * Who converts 10/12-bit frames to 8-bit RGB for 'copy' and 'cpu': 'browser' (default: copyTo RGBA, sRGB,
   * where the browser can; else our own), or 'own' (yuv.ts: on the GPU for 'copy', on the CPU for 'cpu').
   */
  convert?: 'browser' | 'own';
}

/** A frame's pixels as the stores take them: RGBA bytes of a rectangle, or 10/12-bit planes for our own conversion. */
export type FramePixels = { bytes: Uint8Array<ArrayBuffer>; rect: Rect } | { yuv: PlanarYuv };

/** The pixels of `rect` of a VideoFrame (see copyFramePixels), or its planes where we convert it ourselves. */
export async function framePixels(frame: VideoFrame, rect: Rect, bytes: Uint8Array<ArrayBuffer> | undefined, convert: 'browser' | 'own'): Promise<FramePixels> {
  const ours = convert === 'own' ? await copyPlanarYuv(frame) : undefined;
  if (ours) return { yuv: ours };
  try {
    return await copyFramePixels(frame, rect, bytes);
  } catch (e) {
    // A browser that cannot convert this format to RGBA: convert it ourselves if we can.
    const planes = await copyPlanarYuv(frame);
    if (!planes) throw e;
    return { yuv: planes };
  }
}

/** A clip of the store's frames: implements the engine's GpuClip, with its tensor shape. */
export interface PreprocessedClip extends GpuClip {
  shape: [number, number, number, number];
  /** Its pixels on the CPU, where the store made them there (a backend that takes CPU input needs no read-back). */
  pixels?(): Float32Array;
}

export interface FrameStore {
  readonly stored: Size;
  readonly slots: number;
  /** The path the frames took (known after the first upload). */
  readonly uploadPath: UploadPath | undefined;
  /** The rectangle of the stored frame the resize reads (even corner and size): all of a frame that needs uploading. */
  readonly copyRect: Rect;
  /**
   * Resize one frame into `slot`: a VideoFrame, the whole stored frame as RGBA, or a part of it that covers
   * copyRect. The caller may close a VideoFrame as soon as this resolves.
   */
  upload(slot: number, frame: VideoFrame | RgbaImage): Promise<void>;
  /** A clip of the frames in `slots` (in order; a slot may repeat), cropped at `crop`. */
  clip(slots: number[], crop?: CropPosition): PreprocessedClip;
  destroy(): void;
}

/** What both stores compute from the video's size and the preprocessing: the resize and where each crop starts. */
export interface StoreGeometry {
  resize: ResizeGeometry;
  taps: { x: Taps; y: Taps };
  /** Where each crop starts in the kept region of the resized frame. */
  origins: Map<CropPosition, { x: number; y: number }>;
}

/**
 * A store for `options.slots` frames of `stored` size (before `rotation`), preprocessed as `config` says. Pass
 * the device's Runtime to share its compiled kernels; a bare EngineDevice gets a runtime of its own.
 */
export function createFrameStore(gpu: Runtime | EngineDevice, stored: Size, rotation: Rotation, config: PreprocessorConfig, options: FrameStoreOptions): FrameStore {
  if (!Number.isInteger(options.slots) || options.slots < 1) throw new RangeError(`slots must be a positive integer, got ${options.slots}`);
  const geometry = storeGeometry(stored, rotation, config, options.crops);
  const rt = gpu instanceof Runtime ? gpu.scope() : new Runtime(gpu);
  const requested = options.upload ?? 'auto';
  const convert = options.convert ?? 'browser';
  if (requested === 'cpu' || (requested === 'auto' && rt.gpu.adapter.isFallback)) return new CpuFrameStore(rt, stored, config, geometry, options.slots, convert);
  return new GpuFrameStore(rt, stored, config, geometry, options.slots, requested, convert);
}

export function storeGeometry(stored: Size, rotation: Rotation, config: PreprocessorConfig, crops: CropPosition[]): StoreGeometry {
  const crop = { width: config.cropWidth, height: config.cropHeight };
  const display = displaySize(stored, rotation);
  const resized = resizedSize(display, config.shortestEdge);
  const origins = new Map([...new Set(crops)].map((c) => [c, cropOrigin(resized, crop, c)] as const));
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
  const resize: ResizeGeometry = { stored, rotation, regionWidth: region.width, regionHeight: region.height, tapsX: taps.x.taps, tapsY: taps.y.taps, rowStart, rowCount: rowEnd - rowStart, copyRect };
  return { resize, taps, origins };
}

/**
 * An upload checked against the store: RGBA bytes of a rectangle of the stored frame (whole, or a part that
 * covers copyRect), or a VideoFrame of the stored size.
 */
export function checkUpload(store: FrameStore, slot: number, frame: VideoFrame | RgbaImage): { rgba: RgbaImage['data']; rect: Rect } | { video: VideoFrame } {
  if (!Number.isInteger(slot) || slot < 0 || slot >= store.slots) throw new RangeError(`slot ${slot} is outside 0..${store.slots - 1}`);
  const whole = { x: 0, y: 0, ...store.stored };
  if (isRgba(frame) && (frame.x !== undefined || frame.y !== undefined)) {
    const part = { x: frame.x ?? 0, y: frame.y ?? 0, width: frame.width, height: frame.height };
    if (!contains(whole, part) || !contains(part, store.copyRect)) {
      throw new RangeError(`a ${part.width}×${part.height} part at (${part.x}, ${part.y}) of a ${whole.width}×${whole.height} frame must cover the pixels the resize reads, ${rectText(store.copyRect)}`);
    }
    return checkedBytes(frame.data, part);
  }
  const size = isRgba(frame) ? frame : frame.visibleRect;
  if (!size) throw new RangeError('the frame is closed');
  if (size.width !== whole.width || size.height !== whole.height) {
    throw new RangeError(`a ${size.width}×${size.height} frame in a store of ${whole.width}×${whole.height} frames (did the video change size?)`);
  }
  return isRgba(frame) ? checkedBytes(frame.data, whole) : { video: frame };
}

/** Where `crop` starts in a store's kept region, with `slots` checked against the store: what a clip needs first. */
export function clipOrigin(store: FrameStore, origins: StoreGeometry['origins'], slots: number[], crop: CropPosition): { x: number; y: number } {
  const origin = origins.get(crop);
  if (!origin) throw new RangeError(`this store keeps no '${crop}' crop (made for ${[...origins.keys()].join(', ')})`);
  for (const s of slots) if (!Number.isInteger(s) || s < 0 || s >= store.slots) throw new RangeError(`slot ${s} is outside 0..${store.slots - 1}`);
  return origin;
}

/** Throws unless `target` holds a clip of `shape` (f32). */
export function checkClipTarget(target: GPUBuffer, shape: readonly number[]): void {
  const bytes = shape.reduce((a, b) => a * b) * 4;
  if (target.size < bytes) throw new RangeError(`the target buffer holds ${target.size} bytes; a [${shape}] clip needs ${bytes}`);
}

/**
 * A VideoFrame's pixels in `rect` (of the frame as stored: its visible rectangle) as RGBA bytes (sRGB), into
 * `bytes` where they fit; returns the bytes and the rectangle copied. copyTo takes coded coordinates, so the
 * rectangle moves by the visible rectangle's corner; where that corner is odd (chroma samples would split), the
 * whole visible rectangle is copied instead.
 */
export async function copyFramePixels(frame: VideoFrame, rect: Rect, bytes?: Uint8Array<ArrayBuffer>): Promise<{ bytes: Uint8Array<ArrayBuffer>; rect: Rect }> {
  const visible = frame.visibleRect!;
  const copied = visible.x % 2 === 0 && visible.y % 2 === 0 ? rect : { x: 0, y: 0, width: visible.width, height: visible.height };
  const size = copied.width * copied.height * 4;
  const into = bytes && bytes.buffer.byteLength >= size ? new Uint8Array(bytes.buffer, 0, size) : new Uint8Array(size);
  await frame.copyTo(into, { rect: { ...copied, x: copied.x + visible.x, y: copied.y + visible.y }, format: 'RGBA', colorSpace: 'srgb' });
  return { bytes: into, rect: copied };
}

function checkedBytes(data: RgbaImage['data'], rect: Rect) {
  if (data.length !== rect.width * rect.height * 4) throw new RangeError(`${data.length} RGBA bytes for a ${rect.width}×${rect.height} frame`);
  return { rgba: data, rect };
}

function isRgba(frame: VideoFrame | RgbaImage): frame is RgbaImage {
  return 'data' in frame;
}

const contains = (outer: Rect, inner: Rect) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
const rectText = (r: Rect) => `${r.width}×${r.height} at (${r.x}, ${r.y})`;
