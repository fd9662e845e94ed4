// Messages between the UI thread and the inference worker (decoding, preprocessing and the engine
// all run in the worker, so the page stays responsive). Large arrays travel as transferables.
import type { DeviceTier } from '../engine/device';
import type { DeletionCurve } from '../attention/explanation';
import type { BackendCapabilities, BackendName } from '../backends/backend';
import type { BackendChoice } from '../backends/choose';
import type { AttentionSlice } from '../engine/timesformer';
import type { AttentionMaps } from '../model/attention-maps';
import type { Priority } from './scheduler';

export type { BackendChoice };

/** The backend that runs the loaded model, and why it was chosen. */
export interface BackendInfo {
  name: BackendName;
  /** One line for the UI: why this backend (and what was asked for, when that could not run). */
  reason: string;
  capabilities: BackendCapabilities;
}

/** Where a model's files come from. */
export type ModelRef =
  | { kind: 'url'; id: string; base: string } // the hub's resolve URL, or /models/<id> of this app
  | { kind: 'files'; id: string; files: File[] }; // a local folder picked or dropped by the user

export interface ModelInfo {
  id: string;
  source: string;
  format: string;
  attentionType: 'divided_space_time' | 'joint_space_time' | 'space_only';
  frames: number;
  imageSize: number;
  patchSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  labels: string[];
  parameters: number;
  /** 'registers' or 'tiled': the GEMM chosen for this GPU (our engine's, whichever backend runs). */
  gemmVariant: string;
  adapter: string;
  backend: BackendInfo;
  /** Set when the model could not be kept in Cache Storage (it loaded from memory): why, for the user. */
  cacheWarning?: string;
  /** How this load went: where the weights came from and how long each stage took. */
  load?: LoadReport;
}

/** A model load's stages: files read (downloaded or from the cache), weights to the GPU, kernels tuned and compiled. */
export interface LoadReport {
  /** 'engine-ready copy': the packed weights kept after an earlier load, streamed to the GPU (no checkpoint read). */
  from: 'engine-ready copy' | 'checkpoint';
  ms: { files: number; upload: number; compile: number; total: number };
  /** Our engine's kernels tuned from the config while the checkpoint's files were read: for how long (the rest is in `compile`). */
  tunedWhileReadingMs?: number;
  /** Whether an engine-ready copy was written for next time, or why not (checkpoint loads on our engine). */
  copy?: string;
}

export interface ClassifyOptions {
  /** 'single': one centred clip, centre crop (fast). 'multi': the paper's K temporal clips × 3 spatial crops. */
  views: 'single' | 'multi';
  /** Record attention maps for the explorer. */
  attention: boolean;
  /** Frame sampling; 'auto' follows the checkpoint (stride for Kinetics, segments for SSv2). */
  sampling: 'auto' | 'stride' | 'segments';
  /** 'wgsl': run this request on our engine whatever backend is loaded (attention maps it cannot give). */
  backend?: 'wgsl';
}

export interface ViewResult {
  name: string;
  probs: Float32Array;
}

export interface ClassifyResult {
  /** Class probabilities, softmax averaged over views. */
  probs: Float32Array;
  views: ViewResult[];
  /** The first view's frames as the model saw them (cropped), for display. */
  frames: ImageBitmap[];
  timestamps: number[];
  attention?: AttentionMaps;
  /** Something the user should know (e.g. a short video sampled evenly instead of by stride). */
  notes: string[];
  timings: { decodeMs: number; inferenceMs: number };
  /** Who computed it. */
  backend: BackendName;
}

export interface ExplainOptions {
  /** The class to explain: an index into the model's labels. */
  classIndex: number;
  /** Frame sampling, as the classification that named the class. */
  sampling: ClassifyOptions['sampling'];
}

/** Why the model names one class in the video's first view (our engine's backward pass; src/attention/explanation.ts). */
export interface ExplainResult {
  classIndex: number;
  /** The class's probability on the whole clip. */
  probability: number;
  /** The clip's frames as the model saw them, and their times. */
  frames: ImageBitmap[];
  timestamps: number[];
  grid: [number, number];
  /** Relevance of each patch, [T, N] frame-major, and the row's CLS entry (space-only: the frames' mean). */
  relevance: Float32Array;
  relevanceCls: number;
  /** The rollout (mean fusion, through the last layer) of each patch, [T, N]: the class-agnostic comparison. */
  rollout: Float32Array;
  /** Input × gradient summed over the channels, [T, H, W] at the model's input size `size`. */
  saliency: Float32Array;
  size: [number, number];
  /** The relevance summed over each frame's patches, [T]. */
  frameImportance: Float32Array;
  /** The class's probability as the most relevant patches are removed, per order, with each curve's area. */
  curves: DeletionCurve[];
  timings: { decodeMs: number; explainMs: number; deletionMs: number };
}

/** One window of a long video's timeline, classified on its own. */
export interface TimelineSegment {
  index: number;
  count: number;
  /** Seconds. */
  start: number;
  end: number;
  probs: Float32Array;
}

export type Stage = 'download' | 'read' | 'parse' | 'upload' | 'compile' | 'decode' | 'inference';

/** How a request is scheduled: a newer request with the same purpose replaces the older one. */
export interface Scheduling {
  purpose: string;
  priority: Priority;
}

export type Request =
  | { type: 'load-model'; requestId: number; model: ModelRef; backend: BackendChoice }
  | { type: 'classify'; requestId: number; video: Blob; options: ClassifyOptions; scheduling: Scheduling }
  | { type: 'timeline'; requestId: number; video: Blob; maxSegments: number; scheduling: Scheduling }
  | { type: 'attention-slices'; requestId: number; token: number; slices: AttentionSlice[] }
  | { type: 'explain'; requestId: number; video: Blob; options: ExplainOptions; scheduling: Scheduling }
  | { type: 'cancel'; requestId: number }
  /** Sent first, before any request: which device the worker asks for (`?gpu=baseline`: WebGPU's default limits). */
  | { type: 'device-tier'; tier: DeviceTier };

export interface ErrorInfo {
  /**
   * What failed, for the UI to phrase its advice: a model file, the video, the GPU, work refused before it started
   * because its planned GPU memory does not fit ('memory': the GPU is fine), or a cancel.
   */
  kind: 'model' | 'video' | 'gpu' | 'memory' | 'cancelled' | 'internal';
  message: string;
}

export type Event =
  | { type: 'progress'; requestId: number; stage: Stage; done: number; total?: number; detail?: string }
  | { type: 'model-loaded'; requestId: number; info: ModelInfo }
  | { type: 'result'; requestId: number; result: ClassifyResult }
  | { type: 'segment'; requestId: number; segment: TimelineSegment }
  | { type: 'timeline-done'; requestId: number; segments: number }
  | { type: 'attention-slices'; requestId: number; slices: Float32Array[] }
  | { type: 'explanation'; requestId: number; result: ExplainResult }
  | { type: 'error'; requestId: number; error: ErrorInfo }
  /** The request did not run to its end: a newer one replaced it, or it was cancelled. */
  | { type: 'ended'; requestId: number; outcome: 'replaced' | 'cancelled'; message: string }
  | { type: 'device-lost'; message: string }
  /** A GPU error outside any request's run (WebGPU's uncapturederror). */
  | { type: 'gpu-error'; message: string }
  /** The worker holds its liveness lock (see client.ts) and takes requests. */
  | { type: 'ready' };
