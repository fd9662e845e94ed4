// Live classification in the worker: sampled frames from the UI go through the GPU frame ring, and a clip
// of the ring runs whenever the ring is full, no live clip is in flight and a newer frame has arrived.
//
// Backpressure: at most one live clip in flight; while one is, frames that are not sampling points wait
// as the one pending frame (a newer one replaces it, the older is closed), sampling points are written at
// once into their slot, and the pending frame is written when the clip is done. So nothing queues: open
// frames here are at most the one being written and the one pending, and every frame is closed as soon
// as it is in the ring (or replaced).
import type { PreprocessorConfig, TimesformerConfig } from '../checkpoint/config';
import { FrameRing } from '../preprocess/frame-ring';
import { patchGrid } from '../model/geometry';
import { attentionMaps } from '../predictions/attention-maps';
import { viewProbabilities } from '../predictions/scores';
import type { NamedTensors } from '../tensor';
import type { LiveAttention, LiveEvent, LiveRequest, LiveSettings } from './live-protocol';
import type { ErrorInfo } from './protocol';
import { TaskEnded } from './scheduler';
import type { InferenceService } from './service';

/** The loaded model as live mode needs it (the same object while the same model stays loaded). */
export interface LiveModel {
  config: TimesformerConfig;
  preprocessor: PreprocessorConfig;
}

/** What live classification needs from the worker that hosts it. */
export interface LiveHost {
  /** The loaded model (after a load in progress); rejects when there is none. */
  model(): Promise<LiveModel>;
  /** Where the ring allocates its buffers (the worker's GPU). */
  gpu(): Promise<Parameters<typeof FrameRing.create>[0]>;
  /**
   * Run one live clip of a ring made for `model` (through the scheduler, with live priority); attention:
   * record the maps where the backend can. 'stale': another model is loaded now (the ring must be made
   * again); undefined: the run was dropped (replaced) and live mode goes on with the next frame.
   */
  runLiveClip(clip: ReturnType<FrameRing['clip']>, model: LiveModel, attention: boolean): Promise<NamedTensors | 'stale' | undefined>;
  post(event: LiveEvent, transfer?: Transferable[]): void;
  describe(error: unknown): ErrorInfo;
}

interface Pending {
  frame: VideoFrame;
  time: number;
}

class LiveClassifier {
  private ring?: FrameRing;
  /** The model the ring was made for: another model (other T or preprocessing) needs another ring. */
  private ringModel?: LiveModel;
  private pending?: Pending;
  /** A frame is being written (to the ring, or into a ring being made). */
  private writing = false;
  private inFlight = false;
  private lastClipNewest = -Infinity;
  private stopped = false;

  constructor(
    readonly id: number,
    private settings: LiveSettings,
    private readonly host: LiveHost,
  ) {}

  settingsChanged(settings: LiveSettings) {
    const windowChanged = settings.windowSeconds !== this.settings.windowSeconds;
    this.settings = settings;
    // A new window spacing: start the ring again rather than mix spacings in one clip.
    if (windowChanged) this.dropRing();
  }

  frameArrived(frame: VideoFrame, time: number) {
    this.host.post({ type: 'live-frame-taken', session: this.id });
    if (this.stopped) return frame.close();
    const ring = this.ring;
    if (this.writing || (ring && this.inFlight && ring.full && !ring.commitsAt(time))) {
      this.pending?.frame.close();
      this.pending = { frame, time };
      return;
    }
    void this.write({ frame, time });
  }

  stop() {
    this.stopped = true;
    this.pending?.frame.close();
    this.pending = undefined;
    if (!this.writing && !this.inFlight) this.dropRing();
  }

  private async write({ frame, time }: Pending) {
    this.writing = true;
    try {
      const ring = await this.ringFor(frame);
      if (ring && !this.stopped) {
        await ring.push(frame, time);
        if (!ring.full) this.host.post({ type: 'live-filling', session: this.id, filled: ring.filled, slots: ring.slots });
      }
    } catch (error) {
      this.fail(error);
    } finally {
      frame.close();
      this.writing = false;
    }
    this.next();
  }

  /** After a write or a clip: write the pending frame if it may go now, else run a clip if one is due. */
  private next() {
    if (this.stopped) return this.writing || this.inFlight ? undefined : this.dropRing();
    const ring = this.ring;
    if (!ring || this.writing) return;
    if (this.pending && (!this.inFlight || !ring.full || ring.commitsAt(this.pending.time))) {
      const pending = this.pending;
      this.pending = undefined;
      return void this.write(pending);
    }
    if (!this.inFlight && ring.full && (ring.newest?.time ?? -Infinity) > this.lastClipNewest) void this.runClip(ring);
  }

  private async runClip(ring: FrameRing) {
    const model = this.ringModel!;
    this.inFlight = true;
    const layer = this.settings.attentionLayer;
    try {
      const clip = ring.clip();
      const t0 = performance.now();
      const outputs = await this.host.runLiveClip(clip, model, layer !== null);
      const inferenceMs = performance.now() - t0;
      // The clip is encoded when it runs: its newest frame is known from then on.
      const newestTime = clip.newest?.time;
      this.lastClipNewest = newestTime ?? this.lastClipNewest;
      // Another model was loaded: the ring is made again for it with the next frame.
      if (outputs === 'stale' && ring === this.ring) this.dropRing();
      else if (outputs && outputs !== 'stale' && newestTime !== undefined) {
        this.postResult(outputs, model, clip.shape, layer, newestTime, inferenceMs);
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.inFlight = false;
    }
    this.next();
  }

  private postResult(outputs: NamedTensors, model: LiveModel, shape: [number, number, number, number], layer: number | null, newestTime: number, inferenceMs: number) {
    const logits = outputs.get('logits')!;
    const probs = viewProbabilities(logits.data, logits.shape[0]);
    // No maps when the loaded backend cannot record attention (e.g. an ONNX export).
    const hasMaps = [...outputs.keys()].some((name) => name.startsWith('attn.'));
    const attention = layer === null || !hasMaps ? undefined : newestFrameAttention(outputs, model, shape, Math.min(layer, model.config.numLayers - 1));
    if (this.stopped) return;
    const transfer = [probs.buffer as ArrayBuffer, ...(attention ? [attention.values.buffer as ArrayBuffer] : [])];
    this.host.post({ type: 'live-result', session: this.id, result: { probs, attention, newestTime, inferenceMs, heldFrames: this.heldFrames } }, transfer);
  }

  /** VideoFrames this side holds open now (the pending one; a frame being written is closed right after). */
  private get heldFrames(): number {
    return (this.pending ? 1 : 0) + (this.writing ? 1 : 0);
  }

  /** The ring for this frame's size, made on first use, when the size changes and after another model was loaded. */
  private async ringFor(frame: VideoFrame): Promise<FrameRing | undefined> {
    const stored = frame.visibleRect ?? { width: frame.codedWidth, height: frame.codedHeight };
    if (this.ring && this.ring.stored.width === stored.width && this.ring.stored.height === stored.height) return this.ring;
    this.dropRing();
    const [loaded, gpu] = await Promise.all([this.host.model(), this.host.gpu()]);
    if (this.stopped) return undefined;
    const c = loaded.config;
    this.ring = FrameRing.create(gpu, { width: stored.width, height: stored.height }, 0, loaded.preprocessor, {
      slots: c.numFrames,
      interval: (this.settings.windowSeconds * 1000) / c.numFrames,
    });
    this.ringModel = loaded;
    this.lastClipNewest = -Infinity;
    return this.ring;
  }

  private dropRing() {
    this.ring?.destroy();
    this.ring = undefined;
    this.ringModel = undefined;
  }

  private fail(error: unknown) {
    if (this.stopped) return;
    this.host.post({ type: 'live-error', session: this.id, error: this.host.describe(error) });
    this.stop();
  }
}

/** Spatial attention of the clip's last frame at `layer`: CLS → each patch, mean over heads. */
function newestFrameAttention(outputs: NamedTensors, model: LiveModel, shape: [number, number, number, number], layer: number): LiveAttention {
  const c = model.config;
  const [T, , Hpx, Wpx] = shape;
  const grid = patchGrid(c, Hpx, Wpx);
  const N = grid[0] * grid[1], H = c.numHeads;
  const maps = attentionMaps(outputs, c.numLayers, T, H, grid);
  // spatialCls [L, T, H, N]
  const values = new Float32Array(N);
  const base = (layer * T + (T - 1)) * H * N;
  for (let h = 0; h < H; h++) for (let p = 0; p < N; p++) values[p] += maps.spatialCls[base + h * N + p] / H;
  return { layer, grid, values };
}

/** The worker's live side: one session at a time (a new start replaces the old one). */
export function liveHandler(host: LiveHost): (request: LiveRequest) => void {
  let session: LiveClassifier | undefined;
  return (request) => {
    switch (request.type) {
      case 'live-start':
        session?.stop();
        session = new LiveClassifier(request.session, request.settings, host);
        return;
      case 'live-settings':
        if (session?.id === request.session) session.settingsChanged(request.settings);
        return;
      case 'live-frame':
        // A frame of a stopped or replaced session is closed, never kept.
        if (session?.id === request.session) session.frameArrived(request.frame, request.time);
        else request.frame.close();
        return;
      case 'live-stop':
        if (session?.id === request.session) {
          session.stop();
          session = undefined;
        }
        return;
    }
  };
}

/** Live mode on the worker's inference service: each clip a task of purpose 'live:camera' with priority live. */
export function serviceLiveHost(service: InferenceService, post: LiveHost['post'], describe: LiveHost['describe']): LiveHost {
  const live = { purpose: 'live:camera', priority: 'live' } as const;
  return {
    model: () => service.scheduler.submit({ ...live, purpose: 'live:model' }, async (task) => (await service.use(task)).model),
    gpu: () => service.runtime(),
    async runLiveClip(clip, model, attention) {
      try {
        return await service.scheduler.submit(live, async (task) => {
          const loaded = await service.use(task);
          if (loaded.model !== model) return 'stale' as const;
          // The overlay needs attention maps: from our engine when the loaded backend has none (e.g. the wasm EP).
          const backend = attention && !loaded.backend.capabilities.attention ? await service.engineFor(loaded) : loaded.backend;
          // 'cls': the overlay draws the CLS rows of one frame; no rollout or maps to read back per clip.
          return service.runClip(task, backend, clip, clip.shape, { attention: attention ? 'cls' : false });
        });
      } catch (error) {
        if (error instanceof TaskEnded && error.outcome === 'replaced') return undefined;
        throw error;
      }
    },
    post,
    describe,
  };
}
