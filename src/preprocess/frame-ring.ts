// The live input's GPU frame ring: T slots, each one frame already in the model's input layout
// ([3, cropH, cropW] normalized f32), so that a new prediction re-uses the T−1 older frames as they are
// and costs one frame's preprocessing, never a re-upload or CPU pixels.
//
// A frame is preprocessed once, on arrival: resized by a one-slot FrameStore and cropped + normalized by the
// same store straight into its ring slot (its kernels; on a CPU adapter, its CPU loops and a writeBuffer). A clip is the
// ring's slots copied in temporal order into the engine's input, inside the engine's own submission.
//
// The newest slot is the "head": frames that arrive before the next sampling point overwrite it; at a
// sampling point the head moves on, so the committed slots hold frames `interval` apart and the head is
// always the newest frame (see `push`). Writes reach the GPU queue in order, so a clip encoded while a
// frame is being written sees the slot's old frame or its new one, never half of each.
import type { PreprocessorConfig } from '../checkpoint/config';
import { createFrameStore, type FrameStore, type PreprocessedClip, type UploadPath } from './frame-store';
import type { Rotation, Size } from './geometry';
import type { RgbaImage } from './reference';

export interface FrameRingOptions {
  /** T: frames per clip. */
  slots: number;
  /** Milliseconds between committed frames (the sampling window / T). */
  interval: number;
  upload?: 'auto' | UploadPath;
}

/** What the ring knows about the frame in a slot. */
export interface SlotFrame {
  /** When the frame arrived (ms, the caller's clock): sampling and latency are measured on it. */
  time: number;
}

export class FrameRing {
  readonly slots: number;
  readonly interval: number;
  private readonly store: FrameStore;
  private readonly slotBuffers: GPUBuffer[];
  /** Each slot's normalize step (store slot 0 → ring slot i), recorded once. */
  private readonly toSlot: PreprocessedClip[];
  private readonly frameBytes: number;
  private readonly shape: [number, number, number, number];
  private readonly info: (SlotFrame | undefined)[];
  private head = 0;
  private lastCommit = -Infinity;
  private writing = false;

  private constructor(
    private readonly device: GPUDevice,
    gpu: Parameters<typeof createFrameStore>[0],
    readonly stored: Size,
    rotation: Rotation,
    config: PreprocessorConfig,
    options: FrameRingOptions,
  ) {
    this.slots = options.slots;
    this.interval = options.interval;
    this.store = createFrameStore(gpu, stored, rotation, config, { slots: 1, crops: ['centre'], upload: options.upload });
    this.frameBytes = 3 * config.cropHeight * config.cropWidth * 4;
    this.shape = [this.slots, 3, config.cropHeight, config.cropWidth];
    this.slotBuffers = Array.from({ length: this.slots }, (_, i) =>
      device.createBuffer({ label: `frame ring slot ${i}`, size: this.frameBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }),
    );
    this.toSlot = this.slotBuffers.map(() => this.store.clip([0], 'centre'));
    this.info = Array.from({ length: this.slots }, () => undefined);
  }

  /** A ring of `options.slots` frames of `stored` size (before `rotation`), preprocessed as `config` says. */
  static create(gpu: Parameters<typeof createFrameStore>[0], stored: Size, rotation: Rotation, config: PreprocessorConfig, options: FrameRingOptions): FrameRing {
    if (!Number.isInteger(options.slots) || options.slots < 1) throw new RangeError(`slots must be a positive integer, got ${options.slots}`);
    if (!(options.interval >= 0)) throw new RangeError(`interval must be ≥ 0 ms, got ${options.interval}`);
    return new FrameRing(gpu.device, gpu, stored, rotation, config, options);
  }

  /** The path frames take to the GPU (known after the first push). */
  get uploadPath(): UploadPath | undefined {
    return this.store.uploadPath;
  }

  /** Whether a frame is being written (pushes must not overlap: the caller keeps at most one waiting). */
  get busy(): boolean {
    return this.writing;
  }

  /** Whether every slot holds a frame, i.e. `clip()` is a whole clip. */
  get full(): boolean {
    return this.info.every((f) => f !== undefined);
  }

  /** Slots holding a frame (T once full). */
  get filled(): number {
    return this.info.filter((f) => f !== undefined).length;
  }

  /** The newest frame's info. */
  get newest(): SlotFrame | undefined {
    return this.info[this.head];
  }

  /** Whether a frame arriving at `time` would start a new slot rather than overwrite the head. */
  commitsAt(time: number): boolean {
    return time - this.lastCommit >= this.interval;
  }

  /**
   * Preprocess `frame` into the ring: into a new slot if `time` is a sampling point (≥ interval after the
   * last one), else over the head. The caller may close a VideoFrame as soon as this resolves.
   */
  async push(frame: VideoFrame | RgbaImage, time: number): Promise<void> {
    if (this.writing) throw new RangeError('a frame is already being written to the ring');
    this.writing = true;
    try {
      // Resize into the store's one slot; the normalize below is queued after it.
      await this.store.upload(0, frame);
      const advance = this.commitsAt(time) && this.info[this.head] !== undefined;
      const slot = advance ? (this.head + 1) % this.slots : this.head;
      const encoder = this.device.createCommandEncoder({ label: 'frame ring write' });
      this.toSlot[slot].encode(encoder, this.slotBuffers[slot]);
      this.device.queue.submit([encoder.finish()]);
      if (this.commitsAt(time)) this.lastCommit = time;
      this.head = slot;
      this.info[slot] = { time };
    } finally {
      this.writing = false;
    }
  }

  /**
   * The ring's frames, oldest first, as the engine's input: copied on the GPU when the clip is encoded,
   * in the order the ring has then; `newest` says which frame was the newest at that moment.
   */
  clip(): PreprocessedClip & { readonly newest: SlotFrame | undefined } {
    if (!this.full) throw new RangeError(`the ring holds ${this.filled} of ${this.slots} frames`);
    let newest: SlotFrame | undefined;
    return {
      shape: this.shape,
      get newest() {
        return newest;
      },
      encode: (encoder, target) => {
        if (target.size < this.slots * this.frameBytes) throw new RangeError(`the target buffer holds ${target.size} bytes; a [${this.shape}] clip needs ${this.slots * this.frameBytes}`);
        newest = this.newest;
        for (let t = 0; t < this.slots; t++) {
          const slot = (this.head + 1 + t) % this.slots;
          encoder.copyBufferToBuffer(this.slotBuffers[slot], 0, target, t * this.frameBytes, this.frameBytes);
        }
      },
    };
  }

  /** GPU bytes the ring holds (its slots; the resize store's are on top). */
  get bytes(): number {
    return this.slots * this.frameBytes;
  }

  destroy() {
    for (const b of this.slotBuffers) b.destroy();
    this.store.destroy();
  }
}
