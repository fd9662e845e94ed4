// What components select from the store. A component's selection is compared shallowly (useShallow in
// ./index.ts): it re-renders when one of the fields it shows changes, and for nothing else — not for a live
// clip's result, not for a download's progress. Kept apart from the browser's store so that the tests count
// re-renders in Node (test/ui/renders.test.ts).
import { isLiveOn } from './live-slice';
import type { AppState, SliceName } from './types';

/** Some fields of one slice. */
export function fieldsOf<K extends SliceName, F extends keyof AppState[K]>(slice: K, fields: readonly F[]): (s: AppState) => Pick<AppState[K], F> {
  return (s) => {
    const picked = {} as Pick<AppState[K], F>;
    for (const f of fields) picked[f] = s[slice][f];
    return picked;
  };
}

/** The live settings form: the settings, whether they are locked (a session is on), the model's layers, whether a video is chosen. */
export function selectLiveSettings(s: AppState) {
  const { source, deviceId, cameras, resolution, window, smoothing, showRaw, attentionLayer, status } = s.live;
  return { source, deviceId, cameras, resolution, window, smoothing, showRaw, attentionLayer, on: isLiveOn(status), layers: s.model.info?.layers ?? 0, videoChosen: s.video.current !== null };
}

/** The model select: the catalog, the selected entry, which entries' files are cached. */
export const selectModelChoices = fieldsOf('model', ['catalog', 'selectedId', 'cached']);
