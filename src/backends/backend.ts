// Backends: the TimeSformer forward pass behind one small interface — our WGSL engine (wgsl.ts) and the same
// model run by other libraries (onnxruntime-web, TensorFlow.js) — so that the worker, `verify` and `bench`
// switch between them. The worker runs a model only through this interface. Everything here is DOM-free:
// it runs in a page, a worker and Node.
import type { AttentionSlice, GpuClip, RolloutRequest } from '../engine/timesformer';
import type { NamedTensors } from '../tensor';
import type { BackendName } from './registry';

/** One clip without the batch dimension: frames, channels, height, width (`pixel_values[0]`). */
export type ClipShape = [T: number, C: number, H: number, W: number];

/** Each backend's name, what it needs and how it is made are in registry.ts. */
export type { BackendName } from './registry';

/** A clip as a backend takes it: CPU pixels, or (where `capabilities.gpuInput`) a clip recorded on the GPU. */
export type ClipInput = Float32Array | GpuClip;

export interface RunOptions {
  /** Also return `hidden_states.{i}` and `last_hidden_state` (where the backend can; ONNX exports cannot). */
  hiddenStates?: boolean;
  /**
   * Attention probabilities (where the backend can): `true` every tensor, `attn.{l}.{temporal|spatial|full}`;
   * 'maps' what the explorer shows: temporal, and the CLS query's rows `attn.{l}.{spatial|full}.cls`;
   * 'cls' those CLS rows alone (the live overlay).
   */
  attention?: boolean | 'maps' | 'cls';
  /** Also return the clip as the model saw it, `pixel_values` [T, 3, H, W] (to display a GPU clip's frames). */
  returnInput?: boolean;
  /**
   * Explain these classes (where `capabilities.explain`): also `grad_pixels.class.<c>` [1, T, 3, H, W] and
   * `relevance.class.<c>` ([1 + N·T]; space-only [T, 1 + N]), as src/reference/relevance.ts defines them.
   */
  explain?: number[];
  /** Our engine: also the attention rollout, `rollout.<fusion>` (e.g. beside `explain`, from the same forward pass). */
  rollout?: RolloutRequest;
}

/** What a backend can do, as the worker and the UI read it. */
export interface BackendCapabilities {
  /** Attention probabilities (the explorer's maps). */
  attention: boolean;
  hiddenStates: boolean;
  /** Takes a GpuClip (preprocessing on the same device, pixels never on the CPU); else CPU pixels. */
  gpuInput: boolean;
  /** Class-specific explanations (`RunOptions.explain`): a backward pass, only our engine has one. */
  explain: boolean;
  /** CPU threads it computes with (the wasm EP); null for GPU backends. */
  threads: number | null;
}

export interface InferenceBackend {
  readonly name: BackendName;
  readonly capabilities: BackendCapabilities;
  /**
   * Run one clip [T, 3, H, W], normalized (CPU pixels row-major, or a GpuClip where `capabilities.gpuInput`).
   * Returns at least `logits` ([1, labels]; [T, labels] for space_only, as Hugging Face), named as the
   * reference fixtures name them. Calls are queued: one clip at a time.
   */
  run(input: ClipInput, shape: ClipShape, options?: RunOptions): Promise<NamedTensors>;
  /**
   * Several clips of one shape (CPU pixels), the same options, no explanation, run as a batch: one submission and
   * one read-back for as many as fit (queued like runs); each clip's outputs are what `run` gives it. Only our engine has it.
   */
  runBatch?(clips: Float32Array[], shape: ClipShape, options?: RunOptions): Promise<NamedTensors[]>;
  /** Slices of the attention the last 'maps' run kept on the GPU (queued like runs); only our engine has it. */
  readAttention?(slices: AttentionSlice[]): Promise<Float32Array[]>;
  /** Free the session / weights. The backend cannot run afterwards; a shared GPUDevice is left alive. */
  dispose(): Promise<void>;
}

/** Anything that went wrong inside a comparison backend, with the backend's name in the message. */
export class BackendError extends Error {
  override name = 'BackendError';
  constructor(
    readonly backend: BackendName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${backend}: ${message}`, options);
  }
}

/** Checks a clip for a backend that takes CPU pixels only. */
export function checkClip(backend: BackendName, pixels: ClipInput, shape: ClipShape): asserts pixels is Float32Array {
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new BackendError(backend, `shape must be [T, 3, H, W] of positive integers, got [${shape}]`);
  }
  if (shape[1] !== 3) throw new BackendError(backend, `clips have 3 channels, shape [${shape}] has ${shape[1]}`);
  const n = shape[0] * shape[1] * shape[2] * shape[3];
  if (!(pixels instanceof Float32Array)) throw new BackendError(backend, 'takes CPU pixels (a Float32Array), not a GPU clip');
  if (pixels.length !== n) {
    throw new BackendError(backend, `pixels must be a Float32Array of ${n} values for shape [${shape}], got ${pixels.length}`);
  }
}

/** Runs async jobs one after another (sessions and tfjs' global engine are not re-entrant). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => {});
    return next;
  }
}

export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
