// The live slice with a fake session: start (only with a model), results smoothed and logged, the
// session's failure shown and its camera released, stop.
import { describe, expect, it } from 'vitest';
import { LiveError } from '../../src/live/errors';
import type { LiveCaptureEvents } from '../../src/live/capture';
import { createAppStore } from '../../src/store/create';
import type { LiveDeps } from '../../src/store/live-slice';
import type { AppDeps } from '../../src/store/types';
import type { LiveSettings } from '../../src/worker/live-protocol';
import { tinyModelInfo as info } from './tiny-model';

const tick = () => new Promise((r) => setTimeout(r, 0));

function liveWorld(options: { failStart?: LiveError } = {}) {
  let time = 0;
  const sessions: { events: LiveCaptureEvents; settings: LiveSettings; stopped: boolean; changed: LiveSettings[] }[] = [];
  const live: LiveDeps = {
    cameras: async () => [{ deviceId: 'cam1', label: 'Fake camera' }],
    async start(_request, settings, events) {
      if (options.failStart) throw options.failStart;
      const s = { events, settings: settings(30), stopped: false, changed: [] as LiveSettings[] };
      sessions.push(s);
      return { session: { settingsChanged: (x) => s.changed.push(x), stop: () => (s.stopped = true), heldFrames: 1 }, info: { label: 'Fake camera', frameRate: 30, reader: 'processor' } };
    },
  };
  const deps: AppDeps = {
    client: () => ({ loadModel: async () => info, classify: () => new Promise(() => {}), timeline: () => new Promise(() => {}), readAttention: () => new Promise(() => {}), explain: () => new Promise(() => {}) }),
    localModels: async () => [{ id: 'tiny-divided', name: 'tiny', path: '/models/tiny-divided/', frames: 4, imageSize: 64, labels: 3, licence: 'random' }],
    cached: async (urls) => urls.map(() => false),
    evict: async () => 0,
    objectUrl: { create: () => 'blob:x', revoke: () => {} },
    pageUrl: 'http://app.test/',
    now: () => time,
    live,
  };
  const { store, liveAttention } = createAppStore(deps);
  return { store, liveAttention, sessions, actions: store.getState().actions, advance: (ms: number) => (time += ms) };
}

const video = {} as HTMLVideoElement;
const result = (probs: number[], newestTime: number) => ({ probs: Float32Array.from(probs), newestTime, inferenceMs: 10, heldFrames: 1, attention: { layer: 1, grid: [2, 2] as [number, number], values: Float32Array.from([0.1, 0.2, 0.3, 0.4]) } });

describe('the live slice', () => {
  it('needs a model before it starts', async () => {
    const w = liveWorld();
    await w.actions.liveStartRequested(video);
    expect(w.sessions).toHaveLength(0);
    expect(w.store.getState().live).toMatchObject({ status: 'error', error: { kind: 'no-model' } });
  });

  it('starts, smooths and logs results with clips/s and latency, and stops the session', async () => {
    const w = liveWorld();
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    await tick();
    expect(w.store.getState().model.status).toBe('ready');
    w.actions.liveSettingsChanged({ smoothing: 0.5, window: '4s' });
    await w.actions.liveStartRequested(video);
    expect(w.store.getState().live).toMatchObject({ status: 'running', sourceInfo: { label: 'Fake camera' } });
    // 4 s over the model's 4 frames; the overlay's layer: the last of 2.
    expect(w.sessions[0].settings).toEqual({ windowSeconds: 4, attentionLayer: 1 });

    w.sessions[0].events.result(result([1, 0, 0], 900), 1000);
    w.sessions[0].events.result(result([0, 1, 0], 1150), 1250);
    const s = w.store.getState().live;
    expect(s.raw.map((p) => p.label)).toEqual(['run', 'walk', 'jump']);
    expect(s.top.map((p) => [p.label, p.prob])).toEqual([['walk', 0.5], ['run', 0.5], ['jump', 0]]);
    expect(s).toMatchObject({ clips: 2, clipsPerSecond: 4, latencyMs: 100, openFrames: 2, logEntries: 2 });
    expect(Array.from(w.liveAttention.current!.values)).toEqual([expect.closeTo(0.1, 6), expect.closeTo(0.2, 6), expect.closeTo(0.3, 6), expect.closeTo(0.4, 6)]);
    expect(w.actions.liveLogExported('csv').split('\n')).toHaveLength(4);

    w.actions.liveSettingsChanged({ attentionLayer: 0 });
    expect(w.sessions[0].changed).toEqual([{ windowSeconds: 4, attentionLayer: 0 }]);
    w.actions.liveStopRequested();
    expect(w.sessions[0].stopped).toBe(true);
    expect(w.store.getState().live.status).toBe('stopped');
  });

  it('shows why the camera failed, and a session that fails later is stopped', async () => {
    const denied = liveWorld({ failStart: new LiveError('permission', 'Camera permission was denied.', 'Allow it.') });
    void denied.actions.appStarted('?model=tiny-divided');
    await tick();
    await tick();
    await denied.actions.liveStartRequested(video);
    expect(denied.store.getState().live).toMatchObject({ status: 'error', error: { kind: 'permission', message: 'Camera permission was denied.' } });
    denied.actions.liveErrorDismissed();
    expect(denied.store.getState().live).toMatchObject({ status: 'stopped', error: null });

    const w = liveWorld();
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    await tick();
    await w.actions.liveStartRequested(video);
    w.sessions[0].events.failed(new LiveError('ended', 'The camera stopped sending video (was it unplugged?).', 'Reconnect it.'));
    expect(w.sessions[0].stopped).toBe(true);
    expect(w.store.getState().live).toMatchObject({ status: 'error', error: { kind: 'ended' } });
  });
});
