// The app's state: one zustand store in slices (model, video, inference, timeline, explorer, why, ui, live). Each
// slice file holds its state's initial value and its actions; actions are named as the events they handle
// (`videoChosen`, `classificationFinished`), so that reading a component says what happened, not how
// the state changes. A slice changes only its own state: what an event means for another slice is that
// slice's action, named as the event (the model slice's load calls the inference slice's `modelLoadStarted`).
import type { StoreApi } from 'zustand';
import type { ClientEvents, InferenceClient } from '../worker/client';
import type { LocalIndexEntry } from '../hub/registry';
import type { ClassifyResult, ExplainResult } from '../worker/protocol';
import type { ModelActions, ModelState } from './model-slice';
import type { VideoActions, VideoState } from './video-slice';
import type { InferenceActions, InferenceState } from './inference-slice';
import type { ExplorerActions, ExplorerState } from './explorer-slice';
import type { TimelineActions, TimelineState } from './timeline-slice';
import type { UiActions, UiState } from './ui-slice';
import type { WhyActions, WhyState } from './why-slice';
import type { LiveActions, LiveDeps, LiveState } from './live-slice';
import type { Registry } from './registry';

export type Actions = ModelActions & VideoActions & InferenceActions & TimelineActions & ExplorerActions & WhyActions & UiActions & LiveActions;

export interface AppState {
  model: ModelState;
  video: VideoState;
  inference: InferenceState;
  timeline: TimelineState;
  explorer: ExplorerState;
  why: WhyState;
  ui: UiState;
  live: LiveState;
  actions: Actions;
}

/** What the store needs from the world, injected so that tests run without a browser. */
export interface AppDeps {
  /** The inference worker's client, made on first use; `events` hear of a lost GPU, GPU errors, a restarted worker. */
  client(events: Required<ClientEvents>): Pick<InferenceClient, 'loadModel' | 'classify' | 'timeline' | 'readAttention' | 'explain'>;
  /** Entries of /models/index.json. */
  localModels(): Promise<LocalIndexEntry[]>;
  /** Which of these URLs are in the model cache. */
  cached(urls: string[]): Promise<boolean[]>;
  /** Which of these model bases have our engine's engine-ready copy (absent: none do). */
  engineReadyCopies?(bases: string[]): Promise<boolean[]>;
  /** Drops a model's files from the cache. */
  evict(base: string): Promise<unknown>;
  objectUrl: { create(blob: Blob): string; revoke(url: string): void };
  /** Where the page is (resolves relative model URLs like the worker does). */
  pageUrl: string;
  now(): number;
  storage?: Pick<Storage, 'getItem' | 'setItem'>;
  /** Camera and live sessions (absent: live mode says it is unavailable). */
  live?: LiveDeps;
}

/** What every slice's actions get: the store, the world, and the state that is not data. */
export interface SliceContext {
  set: StoreApi<AppState>['setState'];
  get: StoreApi<AppState>['getState'];
  deps: AppDeps;
  client(): ReturnType<AppDeps['client']>;
  results: Registry<ClassifyResult>;
  videos: Registry<Blob>;
  /** The "Why" view's explanations (frames and arrays). */
  explanations: Registry<ExplainResult>;
  /** Files of opened model folders, by entry id. */
  folders: Map<string, File[]>;
  /** The running requests; aborting one cancels it in the worker. */
  running: { model?: AbortController; classify?: AbortController; timeline?: AbortController; explain?: AbortController };
}

export type SliceName = Exclude<keyof AppState, 'actions'>;

/** Replace some fields of one slice. */
export function patch<K extends SliceName>(ctx: Pick<SliceContext, 'set'>, key: K, fields: Partial<AppState[K]>): void {
  ctx.set((s) => ({ [key]: { ...s[key], ...fields } }) as Pick<AppState, K>);
}
