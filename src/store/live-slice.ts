// The live slice: classifying the camera or a playing video as it goes. The state is small and plain
// (status, settings, the smoothed and raw top-5, clips/s, latency); the running session, the smoother,
// the meter, the log and the newest attention map live in this slice's closure, outside the store.
import { LiveError } from '../live/errors';
import { PredictionLog } from '../live/log';
import type { LiveCaptureEvents, LiveSourceInfo } from '../live/capture';
import { ProbabilitySmoother } from '../live/smoothing';
import type { CameraInfo, LiveSourceRequest, Resolution } from '../live/source';
import { LiveMeter } from '../live/stats';
import { windowSeconds, type LiveWindow } from '../live/window';
import type { LiveAttention, LiveResult, LiveSettings } from '../worker/live-protocol';
import { topK, type Prediction } from './summary';
import { patch, type SliceContext } from './types';

/** What the live slice needs from the browser (injected: the store's tests run in Node). */
export interface LiveDeps {
  cameras(): Promise<CameraInfo[]>;
  /** Open the source in `video` and start a session on the inference worker; rejects with a LiveError. */
  start(request: LiveSourceRequest, settings: (frameRate: number) => LiveSettings, events: LiveCaptureEvents, video: HTMLVideoElement): Promise<{ session: LiveSessionHandle; info: LiveSourceInfo }>;
}

export interface LiveSessionHandle {
  settingsChanged(settings: LiveSettings): void;
  stop(): void;
  readonly heldFrames: number;
}

export type LiveStatus = 'stopped' | 'starting' | 'running' | 'paused' | 'error';

/** A session is opening or open: its source and camera settings are fixed until it stops. */
export const isLiveOn = (status: LiveStatus) => status === 'starting' || status === 'running' || status === 'paused';

export interface LiveErrorView {
  kind: LiveError['kind'];
  message: string;
  advice: string;
}

export interface LiveState {
  status: LiveStatus;
  error: LiveErrorView | null;
  source: LiveSourceRequest['kind'];
  cameras: CameraInfo[];
  deviceId: string | null;
  resolution: Resolution;
  window: LiveWindow;
  /** EMA factor α in (0, 1]: 1 is each clip's raw result. */
  smoothing: number;
  /** Show the latest raw result rather than the smoothed one. */
  showRaw: boolean;
  /** Layer of the attention overlay: -1 the last, null none (then the loaded backend runs, attention or not). */
  attentionLayer: number | null;
  sourceInfo: LiveSourceInfo | null;
  /** Frames in the ring while it fills, before the first clip. */
  filling: { filled: number; slots: number } | null;
  top: Prediction[];
  raw: Prediction[];
  clips: number;
  clipsPerSecond: number;
  latencyMs: number | null;
  /** VideoFrames open in this page's live pipeline (UI side + worker side) at the last result. */
  openFrames: number;
  logEntries: number;
}

export interface LiveActions {
  liveCamerasRequested(): Promise<void>;
  liveSettingsChanged(settings: Partial<Pick<LiveState, 'source' | 'deviceId' | 'resolution' | 'window' | 'smoothing' | 'showRaw' | 'attentionLayer'>>): void;
  /** The start button: open the chosen source, shown in `video`. */
  liveStartRequested(video: HTMLVideoElement): Promise<void>;
  liveStopRequested(): void;
  liveResultArrived(result: LiveResult, shownAt: number): void;
  liveFailed(error: LiveError): void;
  liveErrorDismissed(): void;
  /** The log as a file's text. */
  liveLogExported(format: 'json' | 'csv'): string;
}

export const initialLiveState: LiveState = {
  status: 'stopped',
  error: null,
  source: 'camera',
  cameras: [],
  deviceId: null,
  resolution: { width: 640, height: 480 },
  window: '2s',
  smoothing: 0.3,
  showRaw: false,
  attentionLayer: -1,
  sourceInfo: null,
  filling: null,
  top: [],
  raw: [],
  clips: 0,
  clipsPerSecond: 0,
  latencyMs: null,
  openFrames: 0,
  logEntries: 0,
};

/** The newest live attention map, kept outside the store (the overlay reads it when `clips` changes). */
export interface LiveAttentionHolder {
  current?: LiveAttention;
}

export function liveActions(ctx: SliceContext, attention: LiveAttentionHolder): LiveActions {
  const { get, deps } = ctx;
  const live = (fields: Partial<LiveState>) => patch(ctx, 'live', fields);
  const actions = () => get().actions;
  let session: LiveSessionHandle | undefined;
  let startedAt = 0;
  const smoother = new ProbabilitySmoother(initialLiveState.smoothing);
  const meter = new LiveMeter();
  const log = new PredictionLog();

  const settings = (frameRate: number): LiveSettings => {
    const { live: s, model } = get();
    const info = model.info;
    const layers = info?.layers ?? 1;
    return {
      windowSeconds: windowSeconds(s.window, { id: info?.id ?? '', frames: info?.frames ?? 8 }, frameRate),
      attentionLayer: s.attentionLayer === null ? null : s.attentionLayer < 0 ? layers - 1 : Math.min(s.attentionLayer, layers - 1),
    };
  };

  const events: LiveCaptureEvents = {
    filling: (filled, slots) => live({ filling: { filled, slots } }),
    result: (result, shownAt) => actions().liveResultArrived(result, shownAt),
    failed: (error) => actions().liveFailed(error),
    paused: (paused) => {
      const status = get().live.status;
      if (status === 'running' || status === 'paused') live({ status: paused ? 'paused' : 'running' });
    },
  };

  const end = () => {
    session?.stop();
    session = undefined;
  };

  return {
    async liveCamerasRequested() {
      const cameras = await deps.live?.cameras().catch(() => []);
      live({ cameras: cameras ?? [] });
    },

    liveSettingsChanged(changes) {
      live(changes);
      if (changes.smoothing !== undefined) smoother.setFactor(changes.smoothing);
      if (session && (changes.window !== undefined || changes.attentionLayer !== undefined)) session.settingsChanged(settings(get().live.sourceInfo?.frameRate ?? 30));
    },

    async liveStartRequested(video) {
      const { live: s, model, video: chosen } = get();
      if (isLiveOn(s.status)) return;
      if (!deps.live) return actions().liveFailed(new LiveError('unsupported', 'Live mode is not available here.', 'Use a recent Chrome or Edge.'));
      if (model.status !== 'ready') return actions().liveFailed(new LiveError('no-model', 'No model is loaded yet.', 'Choose a model (or wait for it to load), then start live mode.'));
      let request: LiveSourceRequest;
      if (s.source === 'camera') request = { kind: 'camera', deviceId: s.deviceId ?? undefined, resolution: s.resolution };
      else if (chosen.current) request = { kind: 'video', url: chosen.current.url, name: chosen.current.name };
      else return actions().liveFailed(new LiveError('no-camera', 'No video is chosen.', 'Choose or drop a video first: live mode then plays it as if it came from a camera.'));
      smoother.reset();
      meter.reset();
      log.clear();
      attention.current = undefined;
      live({ status: 'starting', error: null, filling: null, top: [], raw: [], clips: 0, clipsPerSecond: 0, latencyMs: null, openFrames: 0, logEntries: 0, sourceInfo: null });
      ctx.client(); // the worker the session talks to exists from here on
      try {
        const started = await deps.live.start(request, settings, events, video);
        if (get().live.status !== 'starting') return started.session.stop(); // stopped while opening
        session = started.session;
        startedAt = deps.now();
        live({ status: 'running', sourceInfo: started.info });
        // Camera labels are only known once permission was given.
        if (request.kind === 'camera') void actions().liveCamerasRequested();
      } catch (e) {
        actions().liveFailed(e instanceof LiveError ? e : new LiveError('unsupported', `Live mode could not start: ${e instanceof Error ? e.message : String(e)}`, 'Try again, or choose another source.'));
      }
    },

    liveStopRequested() {
      end();
      live({ status: 'stopped', filling: null });
    },

    liveResultArrived(result, shownAt) {
      if (!session) return;
      const labels = get().model.info?.labels ?? [];
      const smoothed = smoother.update(result.probs);
      meter.clipShown(shownAt, result.newestTime);
      attention.current = result.attention ?? attention.current;
      const top = topK(smoothed, labels, 5);
      const latencyMs = meter.latencyMs();
      log.add({ time: Date.now(), elapsedMs: shownAt - startedAt, latencyMs: latencyMs ?? 0, top });
      live({
        top,
        raw: topK(result.probs, labels, 5),
        filling: null,
        clips: get().live.clips + 1,
        clipsPerSecond: meter.clipsPerSecond(shownAt),
        latencyMs,
        openFrames: session.heldFrames + result.heldFrames,
        logEntries: log.length,
      });
    },

    liveFailed(error) {
      end();
      live({ status: 'error', error: { kind: error.kind, message: error.message, advice: error.advice ?? '' }, filling: null });
    },

    liveErrorDismissed() {
      live({ error: null, status: get().live.status === 'error' ? 'stopped' : get().live.status });
    },

    liveLogExported(format) {
      return format === 'json' ? log.toJSON() : log.toCSV();
    },
  };
}
