// The app's store and the hooks components use. Components import hooks from here, never the store. A hook
// selects what its component shows, compared shallowly (./selectors.ts): `useModelState('status', 'progress')`
// re-renders for those two fields only, whatever else changes in the model slice.
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { ClassifyResult, ExplainResult } from '../worker/protocol';
import { browserDeps } from './browser-deps';
import { createAppStore } from './create';
import { fieldsOf, selectLiveSettings, selectModelChoices } from './selectors';
import type { AppState, SliceName } from './types';

const { store, results, explanations, liveAttention } = createAppStore(browserDeps());

const useSelection = <T>(selector: (s: AppState) => T): T => useStore(store, useShallow(selector));

/** A hook that returns the named fields of one slice (at least one: a component shows something). */
const fieldsHook =
  <K extends SliceName>(slice: K) =>
  <F extends keyof AppState[K]>(field: F, ...more: F[]) =>
    useSelection(fieldsOf(slice, [field, ...more]));

const selectActions = (s: AppState) => s.actions;
const selectResultId = (s: AppState) => s.inference.resultId;
const selectSelectedEntry = (s: AppState) => s.model.catalog.find((e) => e.id === s.model.selectedId);

export const useModelState = fieldsHook('model');
export const useVideoState = fieldsHook('video');
export const useInferenceState = fieldsHook('inference');
export const useTimelineState = fieldsHook('timeline');
export const useExplorerState = fieldsHook('explorer');
export const useWhyState = fieldsHook('why');
export const useUiState = fieldsHook('ui');
export const useLiveState = fieldsHook('live');
export const useLiveSettings = () => useSelection(selectLiveSettings);
export const useModelChoices = () => useSelection(selectModelChoices);
/** The actions never change: no component re-renders for them. */
export const useActions = () => useStore(store, selectActions);
export const useSelectedEntry = () => useStore(store, selectSelectedEntry);

/** The shown result with its frames and attention arrays (from the registry), or undefined. */
export function useResult(): ClassifyResult | undefined {
  return results.get(useStore(store, selectResultId));
}

const selectExplanationId = (s: AppState) => s.why.explanationId;

/** The "Why" view's explanation with its frames and arrays (from the registry), or undefined. */
export function useExplanation(): ExplainResult | undefined {
  return explanations.get(useStore(store, selectExplanationId));
}

/** The newest live attention map (read when the live state's `clips` changes). */
export const liveAttentionMap = () => liveAttention.current;

/** Called once by main.tsx: read ?model= and ?hub= and load the model. */
export function startApp(): void {
  void store.getState().actions.appStarted(location.search);
}

export type { AppState } from './types';
