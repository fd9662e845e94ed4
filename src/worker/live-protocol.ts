// Messages of live classification between the UI thread and the inference worker. The UI sends sampled
// VideoFrames (transferred: the worker closes them) with their arrival time on the UI's clock; the worker
// answers each frame at once (`live-frame-taken`: the UI then sends its newest one, so at most one frame
// is ever in transit) and posts a result per clip. Times are the UI's `performance.now()` milliseconds.
import type { ErrorInfo } from './protocol';

export interface LiveSettings {
  /** Seconds the model's T frames are spread over. */
  windowSeconds: number;
  /** Layer whose spatial attention (CLS → patches, head mean, newest frame) each result carries; null: none. */
  attentionLayer: number | null;
}

export type LiveRequest =
  | { type: 'live-start'; session: number; settings: LiveSettings }
  | { type: 'live-settings'; session: number; settings: LiveSettings }
  | { type: 'live-frame'; session: number; frame: VideoFrame; time: number }
  | { type: 'live-stop'; session: number };

/** The newest frame's spatial attention: CLS → each patch of `grid` (row-major), mean over heads. */
export interface LiveAttention {
  layer: number;
  grid: [number, number];
  values: Float32Array;
}

export interface LiveResult {
  /** Class probabilities of the clip. */
  probs: Float32Array;
  attention?: LiveAttention;
  /** Arrival time of the clip's newest frame (latency is measured from it). */
  newestTime: number;
  /** Milliseconds from submitting the clip to its outputs on the CPU (the worker's own clock). */
  inferenceMs: number;
  /** VideoFrames the worker held open when it posted this (for the memory checks: it stays ≤ 2). */
  heldFrames: number;
}

/** The `session` of an event for every session: the worker went away (sessions are numbered from 1). */
export const EVERY_SESSION = 0;

export type LiveEvent =
  | { type: 'live-frame-taken'; session: number }
  | { type: 'live-filling'; session: number; filled: number; slots: number }
  | { type: 'live-result'; session: number; result: LiveResult }
  | { type: 'live-error'; session: number; error: ErrorInfo };

/** The UI's end of the live channel (InferenceClient.liveLink()). */
export interface LiveLink {
  send(request: LiveRequest, transfer?: Transferable[]): void;
  /** Receive live events; returns the unsubscribe. */
  listen(handler: (event: LiveEvent) => void): () => void;
}

export function isLiveRequest(message: { type: string }): message is LiveRequest {
  return message.type.startsWith('live-');
}

export function isLiveEvent(message: { type: string }): message is LiveEvent {
  return message.type.startsWith('live-');
}
