import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../src/store/create';
import { fetchedAttention } from '../../src/store/explorer-slice';
import { randomMaps } from '../attention/maps';
import type { AttentionSlice } from '../../src/engine/timesformer';
import type { AppDeps } from '../../src/store/types';
import { InferenceError, type ClientEvents, type ProgressHandler } from '../../src/worker/client';
import type { BackendChoice, ClassifyOptions, ClassifyResult, ExplainOptions, ExplainResult, ModelInfo, ModelRef, TimelineSegment } from '../../src/worker/protocol';
import { tinyModelInfo as info } from './tiny-model';

/** A promise with its resolve/reject at hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

interface Call<T> {
  onProgress?: ProgressHandler;
  signal?: AbortSignal;
  reply: ReturnType<typeof deferred<T>>;
}

/** A fake worker client: every call waits until the test replies. */
function fakeWorld(overrides: Partial<AppDeps> = {}) {
  const loads: (Call<ModelInfo> & { ref: ModelRef; backend?: BackendChoice })[] = [];
  const classifies: (Call<ClassifyResult> & { video: Blob; options: ClassifyOptions })[] = [];
  const timelines: (Call<number> & { onSegment: (s: TimelineSegment) => void; maxSegments?: number })[] = [];
  const attentionReads: (Pick<Call<Float32Array[]>, 'reply'> & { token: number; slices: AttentionSlice[] })[] = [];
  const explains: (Call<ExplainResult> & { video: Blob; options: ExplainOptions })[] = [];
  let deviceLost: (m: string) => void = () => {};
  let events: Required<ClientEvents> | undefined;
  let time = 0;
  const revoked: string[] = [];
  const deps: AppDeps = {
    client(given) {
      events = given;
      deviceLost = given.onDeviceLost;
      return {
        loadModel(ref, onProgress, signal, backend) {
          const reply = deferred<ModelInfo>();
          loads.push({ ref, onProgress, signal, reply, backend });
          return reply.promise;
        },
        classify(video, options, onProgress, signal) {
          const reply = deferred<ClassifyResult>();
          classifies.push({ video, options, onProgress, signal, reply });
          return reply.promise;
        },
        timeline(_video, onSegment, { maxSegments, onProgress, signal } = {}) {
          const reply = deferred<number>();
          timelines.push({ onSegment, maxSegments, onProgress, signal, reply });
          return reply.promise;
        },
        readAttention(token, slices) {
          const reply = deferred<Float32Array[]>();
          attentionReads.push({ token, slices, reply });
          return reply.promise;
        },
        explain(video, options, onProgress, signal) {
          const reply = deferred<ExplainResult>();
          explains.push({ video, options, onProgress, signal, reply });
          return reply.promise;
        },
      };
    },
    localModels: async () => [{ id: 'tiny-divided', name: 'tiny', path: '/models/tiny-divided/', frames: 4, imageSize: 64, labels: 3, licence: 'random' }],
    cached: async (urls) => urls.map(() => false),
    evict: async () => 0,
    objectUrl: { create: (b) => `blob:${(b as File).name}`, revoke: (u) => void revoked.push(u) },
    pageUrl: 'http://app.test/',
    now: () => time,
    ...overrides,
  };
  const { store, results, explanations } = createAppStore(deps);
  return { store, results, explanations, loads, classifies, timelines, attentionReads, explains, revoked, deviceLost: (m: string) => deviceLost(m), events: () => events!, advance: (ms: number) => (time += ms), actions: store.getState().actions };
}


const result = (probs: number[]): ClassifyResult => ({
  probs: Float32Array.from(probs),
  views: [{ name: 'centre', probs: Float32Array.from(probs) }],
  frames: [],
  timestamps: [0, 1, 2, 3],
  notes: [],
  timings: { decodeMs: 5, inferenceMs: 50 },
  backend: 'wgsl',
});

const tick = () => new Promise((r) => setTimeout(r, 0));

/** The app started with ?model=tiny-divided, and the worker has loaded it. */
async function worldWithModel() {
  const w = fakeWorld();
  void w.actions.appStarted('?model=tiny-divided');
  await tick();
  w.loads[0].reply.resolve(info);
  await tick();
  return w;
}
const clip = (name = 'clip.mp4') => new File([new Uint8Array(10)], name, { type: 'video/mp4' });

describe('the app store', () => {
  it('loads the model ?model= names, with progress, and sets the explorer to its last layer', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('?model=/models/tiny-divided');
    await tick();
    expect(w.loads).toHaveLength(1);
    expect(w.loads[0].ref).toEqual({ kind: 'url', id: 'tiny-divided', base: '/models/tiny-divided' });
    expect(w.store.getState().model.status).toBe('loading');

    w.loads[0].onProgress!({ stage: 'download', done: 100, total: 1000 });
    w.advance(500);
    w.loads[0].onProgress!({ stage: 'download', done: 600, total: 1000 });
    const progress = w.store.getState().model.progress!;
    expect(progress.rate).toBeCloseTo(1000); // 500 bytes in 0.5 s
    expect(progress.eta).toBeCloseTo(0.4);

    w.loads[0].reply.resolve(info);
    await tick();
    const s = w.store.getState();
    expect(s.model.status).toBe('ready');
    expect(s.model.info).toBe(info);
    expect(s.explorer.layer).toBe(1);
  });

  it('offline on a first visit, starts quietly on a served model and says why', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('');
    await tick();
    expect(w.loads[0].ref).toMatchObject({ id: 'facebook/timesformer-base-finetuned-k400', base: 'https://huggingface.co/facebook/timesformer-base-finetuned-k400/resolve/main' });
    w.loads[0].reply.reject(new InferenceError('model', 'could not fetch https://huggingface.co/…/config.json: Failed to fetch (offline?)'));
    await tick();
    expect(w.loads[1].ref).toEqual({ kind: 'url', id: 'tiny-divided', base: '/models/tiny-divided' });
    let { model } = w.store.getState();
    expect(model).toMatchObject({ status: 'loading', error: null, currentId: 'tiny-divided', selectedId: 'tiny-divided' });
    expect(model.notice).toEqual({ id: 'tiny-divided', message: expect.stringMatching(/^Started on tiny, served by this app: .* could not be downloaded \(you may be offline\)/) });
    w.loads[1].reply.resolve(info);
    await tick();
    ({ model } = w.store.getState());
    expect(model).toMatchObject({ status: 'ready', error: null });
  });

  it('a default model that fails for another reason than the network is reported', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('');
    await tick();
    w.loads[0].reply.reject(new InferenceError('model', 'config.json has no num_frames'));
    await tick();
    expect(w.loads).toHaveLength(1);
    expect(w.store.getState().model).toMatchObject({ status: 'failed', notice: null });
  });

  it('says what to do when a hub model asked for cannot be downloaded, and keeps working', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('?model=facebook/timesformer-base-finetuned-k400');
    await tick();
    expect(w.loads[0].ref).toMatchObject({ id: 'facebook/timesformer-base-finetuned-k400', base: 'https://huggingface.co/facebook/timesformer-base-finetuned-k400/resolve/main' });
    w.loads[0].reply.reject(new InferenceError('model', 'could not fetch https://huggingface.co/…/config.json: Failed to fetch (offline?)'));
    await tick();
    const { model } = w.store.getState();
    expect(model.status).toBe('failed');
    expect(model.error!.advice).toMatch(/offline/);
    expect(model.error!.advice).toMatch(/Served by this app/);
    // Another model still loads.
    void w.actions.modelRequested('tiny-divided');
    expect(w.loads).toHaveLength(2);
    expect(w.store.getState().model.error).toBeNull();
  });

  it('points hub entries at ?hub=', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('?hub=http://127.0.0.1:9999/&model=facebook/timesformer-base-finetuned-k600');
    await tick();
    expect(w.loads[0].ref).toMatchObject({ base: 'http://127.0.0.1:9999/facebook/timesformer-base-finetuned-k600/resolve/main' });
  });

  it("knows which entries have our engine's engine-ready copy, apart from the cached files", async () => {
    const asked: string[][] = [];
    const k400 = 'https://huggingface.co/facebook/timesformer-base-finetuned-k400/resolve/main';
    const w = fakeWorld({ engineReadyCopies: async (bases) => (asked.push(bases), bases.map((b) => b === k400)) });
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    await w.actions.cacheChanged();
    const { cached, copies } = w.store.getState().model;
    expect(asked.at(-1)).toContain(k400);
    expect(copies['facebook/timesformer-base-finetuned-k400']).toBe(true);
    expect(cached['facebook/timesformer-base-finetuned-k400']).toBe(false);
    expect(Object.entries(copies).filter(([, kept]) => kept).map(([id]) => id)).toEqual(['facebook/timesformer-base-finetuned-k400']);
  });

  it('reports an unknown ?model= without loading anything', async () => {
    const w = fakeWorld();
    await w.actions.appStarted('?model=no-such-thing');
    expect(w.loads).toHaveLength(0);
    expect(w.store.getState().model.error!.title).toContain('no-such-thing');
  });

  it('classifies a video chosen before the model is ready once it is, and keeps the result outside the store', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    w.actions.videoChosen(clip());
    expect(w.store.getState().inference.status).toBe('waiting');
    expect(w.classifies).toHaveLength(0);

    w.loads[0].reply.resolve(info);
    await tick();
    expect(w.classifies).toHaveLength(1);
    expect(w.classifies[0].options).toEqual({ views: 'single', attention: true, sampling: 'auto' });
    w.classifies[0].reply.resolve(result([0.2, 0.7, 0.1]));
    await tick();

    const { inference } = w.store.getState();
    expect(inference.status).toBe('done');
    expect(inference.summary!.top.map((p) => p.label)).toEqual(['run', 'walk', 'jump']);
    expect(inference.summary!.views[0].ofTop).toEqual([expect.closeTo(0.7), expect.closeTo(0.2), expect.closeTo(0.1)]);
    expect(w.results.get(inference.resultId)!.probs[1]).toBeCloseTo(0.7);
  });

  it('drops a video the worker cannot read, shows why, and classifies the next one', async () => {
    const w = await worldWithModel();

    w.actions.videoChosen(clip('broken.mp4'));
    w.classifies[0].reply.reject(new InferenceError('video', 'broken.mp4 is not a video file'));
    await tick();
    let s = w.store.getState();
    expect(s.inference.status).toBe('failed');
    expect(s.inference.error!.title).toBe('Cannot use broken.mp4');
    expect(s.video.current).toBeNull();
    expect(w.revoked).toEqual(['blob:broken.mp4']);

    w.actions.videoChosen(clip('good.mp4'));
    s = w.store.getState();
    expect(s.inference.error).toBeNull();
    expect(s.inference.status).toBe('running');
    w.classifies[1].reply.resolve(result([1, 0, 0]));
    await tick();
    expect(w.store.getState().inference.status).toBe('done');
  });

  it('keeps the video, result and timeline on screen when the next file cannot be used; the alert names that file', async () => {
    const w = await worldWithModel();
    w.actions.videoChosen(clip('good.mp4'));
    w.classifies[0].reply.resolve(result([0.2, 0.7, 0.1]));
    await tick();
    void w.actions.timelineRequested();
    w.timelines[0].onSegment({ index: 0, count: 1, start: 0, end: 2, probs: Float32Array.from([0.1, 0.1, 0.8]) });
    w.timelines[0].reply.resolve(1);
    await tick();
    const shown = w.store.getState();

    // While the new file is tried, the old result is hidden but not freed.
    w.actions.videoChosen(clip('broken.mp4'));
    expect(w.store.getState().inference.summary).toBeNull();
    expect(w.results.get(shown.inference.resultId)).toBeDefined();
    w.classifies[1].reply.reject(new InferenceError('video', 'broken.mp4 is not a video file'));
    await tick();
    let s = w.store.getState();
    expect(s.inference.error!.title).toBe('Cannot use broken.mp4');
    expect(s.video.current).toEqual(shown.video.current);
    expect(s.inference).toMatchObject({ status: 'done', resultId: shown.inference.resultId, summary: shown.inference.summary, ranWith: shown.inference.ranWith });
    expect(w.results.get(s.inference.resultId)!.probs[1]).toBeCloseTo(0.7);
    expect(s.timeline).toEqual(shown.timeline);
    expect(w.revoked).toEqual(['blob:broken.mp4']);

    // A third file that is still running when a fourth comes: the kept one stays the first.
    w.actions.videoChosen(clip('slow.mp4'));
    w.actions.videoChosen(clip('bad.mp4'));
    w.classifies[3].reply.reject(new InferenceError('video', 'bad.mp4 has no video track'));
    await tick();
    s = w.store.getState();
    expect(s.inference.error!.title).toBe('Cannot use bad.mp4');
    expect(s.video.current!.name).toBe('good.mp4');
    expect(s.inference.summary).toEqual(shown.inference.summary);

    // A usable file replaces it for good: the old result and video are freed.
    w.actions.videoChosen(clip('next.mp4'));
    w.classifies[4].reply.resolve(result([1, 0, 0]));
    await tick();
    s = w.store.getState();
    expect(s.video).toMatchObject({ current: { name: 'next.mp4' }, previous: null });
    expect(w.results.get(shown.inference.resultId)).toBeUndefined();
    expect(w.revoked).toEqual(['blob:broken.mp4', 'blob:slow.mp4', 'blob:bad.mp4', 'blob:good.mp4']);
  });

  it('cancels a classification: the worker is told, and its late answer is ignored', async () => {
    const w = await worldWithModel();
    w.actions.videoChosen(clip());
    w.actions.classificationCancelled();
    expect(w.classifies[0].signal!.aborted).toBe(true);
    w.classifies[0].reply.reject(new InferenceError('cancelled', 'cancelled'));
    await tick();
    const { inference } = w.store.getState();
    expect(inference.status).toBe('idle');
    expect(inference.error).toBeNull();
  });

  it('cancels a model download', async () => {
    const w = fakeWorld();
    void w.actions.appStarted('?model=tiny-divided');
    await tick();
    w.actions.modelLoadCancelled();
    expect(w.loads[0].signal!.aborted).toBe(true);
    w.loads[0].reply.resolve(info); // too late: ignored
    await tick();
    expect(w.store.getState().model.status).toBe('idle');
  });

  it('offers to reload the model when the GPU device is lost', async () => {
    const w = await worldWithModel();
    w.deviceLost('GPU reset');
    const { model } = w.store.getState();
    expect(model.status).toBe('lost');
    expect(model.error).toMatchObject({ action: 'reload-model', message: 'GPU reset' });
    void w.actions.modelRequested(model.currentId!);
    expect(w.loads).toHaveLength(2);
  });

  it('loads an opened model folder from its files', async () => {
    const w = fakeWorld();
    const files = [new File(['{}'], 'config.json'), new File([new Uint8Array(8)], 'model.safetensors')];
    w.actions.modelFolderOpened('my-model', files);
    await tick();
    expect(w.loads[0].ref).toEqual({ kind: 'files', id: 'folder:my-model', files });
    expect(w.store.getState().model.catalog.at(-1)).toMatchObject({ id: 'folder:my-model', origin: 'folder' });
  });

  it('streams a timeline of the whole video, and drops it when the video changes', async () => {
    const w = await worldWithModel();
    w.actions.videoChosen(clip());
    void w.actions.timelineRequested();
    expect(w.timelines[0].maxSegments).toBeGreaterThan(1);
    w.timelines[0].onSegment({ index: 0, count: 2, start: 0, end: 2, probs: Float32Array.from([0.1, 0.1, 0.8]) });
    w.timelines[0].onSegment({ index: 1, count: 2, start: 2, end: 4, probs: Float32Array.from([0.6, 0.3, 0.1]) });
    w.timelines[0].reply.resolve(2);
    await tick();
    const { timeline } = w.store.getState();
    expect(timeline.status).toBe('done');
    expect(timeline.segments.map((s) => [s.start, s.top.label])).toEqual([
      [0, 'jump'],
      [2, 'walk'],
    ]);

    void w.actions.timelineRequested();
    w.actions.videoChosen(clip('other.mp4'));
    expect(w.timelines[1].signal!.aborted).toBe(true);
    expect(w.store.getState().timeline).toMatchObject({ status: 'idle', segments: [] });
  });

  it('loads on the backend ?backend= names (auto by default), and again on the one the user picks', async () => {
    const auto = fakeWorld();
    void auto.actions.appStarted('?model=tiny-divided');
    await tick();
    expect(auto.loads[0].backend).toBe('auto');
    const w = fakeWorld();
    void w.actions.appStarted('?model=tiny-divided&backend=onnx-wasm');
    await tick();
    expect(w.loads[0].backend).toBe('onnx-wasm');
    w.loads[0].reply.resolve(info);
    await tick();
    void w.actions.backendChosen('tfjs-webgpu');
    await tick();
    expect(w.loads.map((l) => l.backend)).toEqual(['onnx-wasm', 'tfjs-webgpu']);
    expect(w.store.getState().model).toMatchObject({ backend: 'tfjs-webgpu', status: 'loading' });
    // A name that is no backend is ignored.
    const bad = fakeWorld();
    void bad.actions.appStarted('?model=tiny-divided&backend=cuda');
    await tick();
    expect(bad.loads[0].backend).toBe('auto');
  });

  it('the one-click engine attention runs this clip with attention on wgsl, and later runs on the chosen backend again', async () => {
    const w = await worldWithModel();
    w.actions.classifyOptionsChanged({ attention: false });
    w.actions.videoChosen(clip());
    await tick();
    void w.actions.engineAttentionRequested();
    await tick();
    expect(w.classifies.at(-1)!.options).toMatchObject({ attention: true, backend: 'wgsl' });
    expect(w.store.getState().inference.options).toMatchObject({ attention: false, backend: undefined });
  });

  it('a GPU error outside a run is a GPU alert; a restarted worker reloads the model and the video is classified again', async () => {
    const w = await worldWithModel();
    w.events().onGpuError('GPU error: out of memory');
    expect(w.store.getState().model.error).toMatchObject({ kind: 'gpu', title: 'The GPU reported an error', action: 'reload-model' });
    w.actions.modelErrorDismissed();
    w.actions.videoChosen(clip());
    await tick();
    const reload = deferred<ModelInfo>();
    w.events().onRestarted('the inference worker stopped', reload.promise);
    await tick();
    expect(w.store.getState().model.status).toBe('loading');
    const before = w.classifies.length;
    reload.resolve(info);
    await tick();
    expect(w.store.getState().model.status).toBe('ready');
    expect(w.classifies.length).toBe(before + 1);
  });

  it('reads the rows of the picked patch that stayed on the GPU once, draws from them, and says why a read failed', async () => {
    const w = await worldWithModel();
    w.actions.videoChosen(clip());
    await tick();
    // A long clip: the temporal maps and full spatial rows stayed on the GPU (4 frames, 2 heads, 2×3 patches, 3 layers).
    const whole = randomMaps(3, 4, 2, 2, 3);
    const maps = { ...whole, temporal: new Float32Array(0), spatial: new Float32Array(0), spatialHeads: false, kept: { token: 7, attentionType: 'divided_space_time' as const } };
    w.classifies[0].reply.resolve({ ...result([0.2, 0.7, 0.1]), attention: maps });
    await tick();
    w.actions.layerChosen(1);
    w.actions.patchPicked({ frame: 2, patch: 4 });
    void w.actions.keptRowsWanted();
    expect(w.store.getState().explorer.fetching).toEqual({ loading: true, cached: 0, error: null });
    expect(w.attentionReads).toHaveLength(1);
    const read = w.attentionReads[0];
    expect(read.token).toBe(7);
    // Patch 4's temporal block of layer 1 and its query row per head in frame 2.
    expect(read.slices).toEqual([{ name: 'attn.1.temporal', offset: 4 * 2 * 16, count: 32 }, ...[0, 1].map((h) => ({ name: 'attn.1.spatial', offset: ((2 * 2 + h) * 7 + 5) * 7, count: 7 }))]);
    const temporal = whole.temporal.slice((1 * 6 + 4) * 32, (1 * 6 + 5) * 32);
    const rows = [0, 1].map((h) => whole.spatial.slice((((1 * 4 + 2) * 2 + h) * 7 + 5) * 7, (((1 * 4 + 2) * 2 + h) * 7 + 6) * 7));
    read.reply.resolve([temporal, ...rows]);
    await tick();
    expect(w.store.getState().explorer.fetching).toEqual({ loading: false, cached: 2, error: null });
    const fetched = fetchedAttention(w.results.get(w.store.getState().inference.resultId)!.attention!);
    expect(fetched.get('temporal 1 4')).toEqual(temporal);
    expect(fetched.get('spatial 1 2 4')).toEqual(Float32Array.from([...rows[0], ...rows[1]]));

    // Back to that patch: nothing to read. Another one whose clip was replaced on the GPU: the error, the pick kept.
    void w.actions.keptRowsWanted();
    expect(w.attentionReads).toHaveLength(1);
    w.actions.patchPicked({ frame: 0, patch: 1 });
    void w.actions.keptRowsWanted();
    const stale = "this clip's attention is no longer on the GPU: another clip ran since — run it again to explore it";
    w.attentionReads[1].reply.reject(new InferenceError('internal', stale));
    await tick();
    expect(w.store.getState().explorer).toMatchObject({ query: { frame: 0, patch: 1 }, fetching: { loading: false, cached: 2, error: stale } });

    // A new result: its maps start with nothing fetched.
    w.actions.videoChosen(clip());
    await tick();
    const next = { ...maps, kept: { token: 8, attentionType: 'divided_space_time' as const } };
    w.classifies[1].reply.resolve({ ...result([0.2, 0.7, 0.1]), attention: next });
    await tick();
    expect(fetchedAttention(next).size).toBe(0);
    void w.actions.keptRowsWanted();
    expect(w.attentionReads.at(-1)!.token).toBe(8);
  });

  it('explains the top class by default, then a picked one; progress, cancel, and the explanation outside the store', async () => {
    const w = await worldWithModel();
    w.actions.videoChosen(clip());
    w.classifies[0].reply.resolve(result([0.2, 0.7, 0.1]));
    await tick();
    const closed: number[] = [];
    const explained = (classIndex: number): ExplainResult => ({
      classIndex, probability: 0.7, frames: [{ close: () => closed.push(classIndex) } as unknown as ImageBitmap], timestamps: [0, 1, 2, 3], grid: [4, 4],
      relevance: new Float32Array(64), relevanceCls: 0.5, rollout: new Float32Array(64), saliency: new Float32Array(4 * 64 * 64), size: [64, 64],
      frameImportance: new Float32Array(4), curves: [], timings: { decodeMs: 1, explainMs: 2, deletionMs: 3 },
    });

    void w.actions.explanationRequested();
    expect(w.explains).toHaveLength(1);
    expect(w.explains[0].options).toEqual({ classIndex: 1, sampling: 'auto' });
    void w.actions.explanationRequested(); // the same class of the same result: not asked again
    expect(w.explains).toHaveLength(1);
    w.explains[0].onProgress!({ stage: 'inference', done: 3, total: 33, detail: 'for the deletion curves' });
    expect(w.store.getState().why).toMatchObject({ status: 'running', progress: { done: 3, total: 33 } });
    w.explains[0].reply.resolve(explained(1));
    await tick();
    let why = w.store.getState().why;
    expect(why).toMatchObject({ status: 'done', progress: null, explains: { resultId: w.store.getState().inference.resultId, classIndex: 1 } });
    expect(w.explanations.get(why.explanationId)!.classIndex).toBe(1);

    // Another class: a new explanation replaces the shown one, whose frames are closed.
    void w.actions.whyClassChosen(2);
    expect(w.explains[1].options.classIndex).toBe(2);
    w.explains[1].reply.resolve(explained(2));
    await tick();
    why = w.store.getState().why;
    expect(why.explains!.classIndex).toBe(2);
    expect(closed).toEqual([1]);

    // Cancelled: the worker is told, the late answer is dropped, the shown explanation stays.
    void w.actions.whyClassChosen(0);
    w.actions.explanationCancelled();
    expect(w.explains[2].signal!.aborted).toBe(true);
    w.explains[2].reply.reject(new InferenceError('cancelled', 'cancelled'));
    await tick();
    expect(w.store.getState().why).toMatchObject({ status: 'idle', error: null, explains: { classIndex: 2 } });

    // A failure says which class, and the shown explanation stays.
    void w.actions.explanationRequested();
    w.explains[3].reply.reject(new InferenceError('internal', 'this build of the WGSL engine has no backward pass'));
    await tick();
    expect(w.store.getState().why).toMatchObject({ status: 'failed', explains: { classIndex: 2 }, error: { title: 'Explaining “walk” failed' } });
    // An explanation refused before it started, its planned GPU memory over the device's: said in one line, the shown one kept.
    const shown = w.store.getState().why.explanationId;
    void w.actions.explanationRequested();
    const refusal = 'An explanation of 16 frames of 448×448 needs a 473 MiB buffer (spatial probabilities); this GPU allows 128 MiB in one';
    w.explains[4].reply.reject(new InferenceError('memory', refusal));
    await tick();
    expect(w.store.getState().why).toMatchObject({ status: 'failed', explanationId: shown, explains: { classIndex: 2 }, error: { kind: 'memory', message: refusal } });
    expect(w.explanations.get(shown)!.classIndex).toBe(2);
    expect(w.store.getState().why.error!.action).toBeUndefined();

    // A new result: its top class next, the old explanation freed.
    void w.actions.classificationRequested();
    w.classifies[1].reply.resolve(result([0.1, 0.7, 0.2]));
    await tick();
    expect(w.store.getState().why).toEqual({ classIndex: null, status: 'idle', progress: null, explanationId: null, explains: null, error: null });
    expect(closed).toEqual([1, 2]);
    void w.actions.explanationRequested();
    expect(w.explains[5].options.classIndex).toBe(1); // the new top, not the class picked before
  });
});
