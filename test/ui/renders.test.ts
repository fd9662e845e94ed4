// Re-renders without a DOM: a component selects from the store through useShallow (src/store/index.ts), so
// React renders it again when its selection stops being shallow-equal to the last one. The live settings form
// and the model select take no props and are memoized, so nothing else re-renders them. These counters apply
// that rule to their selections while the store goes through a download's progress and a live session's clips,
// neither of which they show.
import { describe, expect, it } from 'vitest';
import type { StoreApi } from 'zustand/vanilla';
import { shallow } from 'zustand/vanilla/shallow';
import type { LiveCaptureEvents } from '../../src/live/capture';
import { createAppStore } from '../../src/store/create';
import { selectLiveSettings, selectModelChoices } from '../../src/store/selectors';
import type { AppDeps, AppState } from '../../src/store/types';
import type { ModelInfo } from '../../src/worker/protocol';
import { tinyModelInfo as info } from '../store/tiny-model';

const tick = () => new Promise((r) => setTimeout(r, 0));

/** How often a component selecting `selector` would render again, from now on. */
function renderCounter<T>(store: StoreApi<AppState>, selector: (s: AppState) => T) {
  let shown = selector(store.getState());
  const counter = { renders: 0 };
  store.subscribe((s) => {
    const next = selector(s);
    if (shallow(shown, next)) return;
    shown = next;
    counter.renders++;
  });
  return counter;
}

function world() {
  let time = 0;
  let load: { onProgress?: (p: { stage: 'download'; done: number; total: number }) => void; resolve(info: ModelInfo): void } | undefined;
  let session: LiveCaptureEvents | undefined;
  const deps: AppDeps = {
    client: () => ({
      loadModel: (_ref, onProgress) => new Promise<ModelInfo>((resolve) => (load = { onProgress, resolve })),
      classify: () => new Promise(() => {}),
      timeline: () => new Promise(() => {}),
      readAttention: () => new Promise(() => {}), explain: () => new Promise(() => {}),
    }),
    localModels: async () => [
      { id: 'tiny-divided', name: 'tiny', path: '/models/tiny-divided/', frames: 4, imageSize: 64, labels: 3, licence: 'random' },
      { id: 'small-divided', name: 'small', path: '/models/small-divided/', frames: 8, imageSize: 96, labels: 3, licence: 'random' },
    ],
    cached: async (urls) => urls.map(() => false),
    evict: async () => 0,
    objectUrl: { create: () => 'blob:x', revoke: () => {} },
    pageUrl: 'http://app.test/',
    now: () => time,
    live: {
      cameras: async () => [{ deviceId: 'cam1', label: 'Fake camera' }],
      async start(_request, _settings, events) {
        session = events;
        return { session: { settingsChanged: () => {}, stop: () => {}, heldFrames: 1 }, info: { label: 'Fake camera', frameRate: 30, reader: 'processor' } };
      },
    },
  };
  const { store } = createAppStore(deps);
  /** `events` progress events of the model's download, 200 ms apart (each one published: more than PROGRESS_INTERVAL_MS). */
  const downloadProgressed = (events: number) => {
    for (let done = 1; done <= events; done++) {
      time += 200;
      load!.onProgress!({ stage: 'download', done, total: 10 });
    }
  };
  return { store, actions: store.getState().actions, load: () => load!, session: () => session!, downloadProgressed, advance: (ms: number) => (time += ms) };
}

describe('what a component re-renders for', () => {
  it('the model select: not for download progress; for the catalog and the selection', async () => {
    const w = world();
    const modelSelect = renderCounter(w.store, selectModelChoices);
    const modelSlice = renderCounter(w.store, (s) => s.model);
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    expect(modelSelect.renders).toBeGreaterThan(0); // the catalog arrived
    modelSelect.renders = modelSlice.renders = 0;

    w.downloadProgressed(10);
    // The slice changed with every event (what a whole-slice selector would re-render for); the select did not.
    expect(modelSlice.renders).toBe(10);
    expect(modelSelect.renders).toBe(0);

    w.actions.modelSelected('small-divided');
    expect(modelSelect.renders).toBe(1);
  });

  it('the live settings form: not for clips or download progress; for a setting, a session starting, a model loaded', async () => {
    const w = world();
    const settingsForm = renderCounter(w.store, selectLiveSettings);
    const liveSlice = renderCounter(w.store, (s) => s.live);
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    w.downloadProgressed(5);
    expect(settingsForm.renders).toBe(0);

    w.load().resolve(info);
    await tick();
    expect(settingsForm.renders).toBe(1); // the attention layer's choices: the model's 2 layers
    await w.actions.liveStartRequested({} as HTMLVideoElement);
    await tick();
    expect(w.store.getState().live.status).toBe('running');
    expect(settingsForm.renders).toBe(3); // locked while starting; the cameras' names once permitted
    settingsForm.renders = liveSlice.renders = 0;

    for (let clip = 1; clip <= 10; clip++) {
      w.advance(100);
      w.session().result({ probs: Float32Array.from([0.2, 0.5, 0.3]), newestTime: clip * 100, inferenceMs: 10, heldFrames: 1 }, clip * 100 + 50);
    }
    expect(liveSlice.renders).toBe(10);
    expect(settingsForm.renders).toBe(0);

    w.actions.liveSettingsChanged({ smoothing: 0.5 });
    expect(settingsForm.renders).toBe(1);
  });
});
