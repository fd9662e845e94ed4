// Builds the app store from its slices. Tests call createAppStore with fake dependencies; the app uses
// the one made in ./index.ts.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ClassifyResult, ExplainResult } from '../worker/protocol';
import { explorerActions, initialExplorerState } from './explorer-slice';
import { inferenceActions, initialInferenceState } from './inference-slice';
import { initialModelState, modelActions } from './model-slice';
import { Registry } from './registry';
import { initialTimelineState, timelineActions } from './timeline-slice';
import type { AppDeps, AppState, SliceContext } from './types';
import { initialUiState, uiActions } from './ui-slice';
import { initialVideoState, videoActions } from './video-slice';
import { initialWhyState, whyActions } from './why-slice';
import { initialLiveState, liveActions, type LiveAttentionHolder } from './live-slice';

export interface AppStore {
  store: StoreApi<AppState>;
  results: Registry<ClassifyResult>;
  explanations: Registry<ExplainResult>;
  /** The newest live attention map (an array: kept out of the store). */
  liveAttention: LiveAttentionHolder;
}

export function createAppStore(deps: AppDeps): AppStore {
  const closeFrames = (r: { frames: ImageBitmap[] }) => r.frames.forEach((f) => f.close());
  const results = new Registry<ClassifyResult>(closeFrames);
  const explanations = new Registry<ExplainResult>(closeFrames);
  const liveAttention: LiveAttentionHolder = {};
  const store = createStore<AppState>()((set, get) => {
    let client: ReturnType<AppDeps['client']> | undefined;
    const ctx: SliceContext = {
      set,
      get,
      deps,
      client: () =>
        (client ??= deps.client({
          onDeviceLost: (message) => get().actions.deviceLost(message),
          onGpuError: (message) => get().actions.gpuFailed(message),
          onRestarted: (message, reload) => get().actions.workerRestarted(message, reload),
        })),
      results,
      videos: new Registry<Blob>(),
      explanations,
      folders: new Map(),
      running: {},
    };
    return {
      model: initialModelState,
      video: initialVideoState,
      inference: initialInferenceState,
      timeline: initialTimelineState,
      explorer: initialExplorerState,
      why: initialWhyState,
      ui: initialUiState(deps.storage),
      live: initialLiveState,
      actions: { ...modelActions(ctx), ...videoActions(ctx), ...inferenceActions(ctx), ...timelineActions(ctx), ...explorerActions(ctx), ...whyActions(ctx), ...uiActions(ctx), ...liveActions(ctx, liveAttention) },
    };
  });
  return { store, results, explanations, liveAttention };
}
