// The app's store and the hooks components use. Components import hooks from here, never the store:
// selectors are defined once, at module level, so that each component re-renders only when the part it
// reads changes.
import { useStore } from 'zustand';
import type { ClassifyResult } from '../worker/protocol';
import { browserDeps } from './browser-deps';
import { createAppStore } from './create';
import type { AppState } from './types';

const { store, results, liveAttention } = createAppStore(browserDeps());

const selectModel = (s: AppState) => s.model;
const selectVideo = (s: AppState) => s.video;
const selectInference = (s: AppState) => s.inference;
const selectTimeline = (s: AppState) => s.timeline;
const selectExplorer = (s: AppState) => s.explorer;
const selectUi = (s: AppState) => s.ui;
const selectLive = (s: AppState) => s.live;
const selectActions = (s: AppState) => s.actions;
const selectResultId = (s: AppState) => s.inference.resultId;
const selectSelectedEntry = (s: AppState) => s.model.catalog.find((e) => e.id === s.model.selectedId);

export const useModelState = () => useStore(store, selectModel);
export const useVideoState = () => useStore(store, selectVideo);
export const useInferenceState = () => useStore(store, selectInference);
export const useTimelineState = () => useStore(store, selectTimeline);
export const useExplorerState = () => useStore(store, selectExplorer);
export const useUiState = () => useStore(store, selectUi);
export const useLiveState = () => useStore(store, selectLive);
export const useActions = () => useStore(store, selectActions);
export const useSelectedEntry = () => useStore(store, selectSelectedEntry);

/** The shown result with its frames and attention arrays (from the registry), or undefined. */
export function useResult(): ClassifyResult | undefined {
  return results.get(useStore(store, selectResultId));
}

/** The newest live attention map (read when the live state's `clips` changes). */
export const liveAttentionMap = () => liveAttention.current;

/** Called once by main.tsx: read ?model= and ?hub= and load the model. */
export function startApp(): void {
  void store.getState().actions.appStarted(location.search);
}

export type { AppState } from './types';
