// Comparison backends: the same TimeSformer forward pass run by other libraries (onnxruntime-web,
// TensorFlow.js), behind one small interface so that the worker, `verify` and `bench` can switch between
// them and our WGSL engine. Everything here is DOM-free: it runs in a page, a worker and Node.
import type { NamedTensors } from '../tensor';

/** One clip without the batch dimension: frames, channels, height, width (`pixel_values[0]`). */
export type ClipShape = [T: number, C: number, H: number, W: number];

/** The backends by name, as `verify --backend`, `bench` and the worker call them. */
export type BackendName = 'onnx-wasm' | 'onnx-webgpu' | 'tfjs-webgpu' | 'tfjs-cpu';

export interface RunOptions {
  /** Also return `hidden_states.{i}` and `last_hidden_state` (where the backend can; ONNX exports cannot). */
  hiddenStates?: boolean;
  /** Also return every attention probability tensor, `attn.{l}.{temporal|spatial|full}` (where the backend can). */
  attention?: boolean;
}

export interface InferenceBackend {
  readonly name: BackendName;
  /** What `run` can return besides `logits`. */
  readonly produces: { hiddenStates: boolean; attention: boolean };
  /**
   * Run one clip: `pixels` [T, 3, H, W] normalized, row-major. Returns at least `logits` ([1, labels];
   * [T, labels] for space_only, as Hugging Face), named as the reference fixtures name them.
   * Calls are queued: one clip at a time.
   */
  run(pixels: Float32Array, shape: ClipShape, options?: RunOptions): Promise<NamedTensors>;
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

export function checkClip(backend: BackendName, pixels: Float32Array, shape: ClipShape): void {
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new BackendError(backend, `shape must be [T, 3, H, W] of positive integers, got [${shape}]`);
  }
  if (shape[1] !== 3) throw new BackendError(backend, `clips have 3 channels, shape [${shape}] has ${shape[1]}`);
  const n = shape[0] * shape[1] * shape[2] * shape[3];
  if (!(pixels instanceof Float32Array) || pixels.length !== n) {
    throw new BackendError(backend, `pixels must be a Float32Array of ${n} values for shape [${shape}], got ${pixels?.length}`);
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
