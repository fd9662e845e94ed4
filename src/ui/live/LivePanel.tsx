import { memo, useEffect, useRef } from 'react';
import { LIVE_WINDOWS, type LiveWindow } from '../../live/window';
import { RESOLUTIONS } from '../../live/source';
import { useActions, useLiveSettings, useLiveState, useModelState } from '../../store';
import { isLiveOn, type LiveState } from '../../store/live-slice';
import { Panel } from '../Panel';
import { PredictionList } from '../PredictionList';
import { AttentionOverlay } from './AttentionOverlay';
import './live.css';

function download(text: string, name: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** It takes no props: memo keeps the panel's renders (a session starting or stopping) from re-rendering it. */
const Settings = memo(function Settings() {
  const live = useLiveSettings();
  const { liveSettingsChanged } = useActions();
  const { on } = live;
  return (
    <div className="live-settings">
      <label className="field inline">
        <span className="field-label">Source</span>
        <select value={live.source} disabled={on} onChange={(e) => liveSettingsChanged({ source: e.target.value as LiveState['source'] })} data-testid="live-source">
          <option value="camera">Camera</option>
          <option value="video" disabled={!live.videoChosen}>
            The chosen video, playing
          </option>
        </select>
      </label>
      {live.source === 'camera' && (
        <>
          <label className="field inline">
            <span className="field-label">Camera</span>
            <select value={live.deviceId ?? ''} disabled={on} onChange={(e) => liveSettingsChanged({ deviceId: e.target.value || null })}>
              <option value="">Default camera</option>
              {live.cameras.map((c) => (
                <option key={c.deviceId} value={c.deviceId}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <label className="field inline">
            <span className="field-label">Resolution</span>
            <select
              value={`${live.resolution.width}x${live.resolution.height}`}
              disabled={on}
              onChange={(e) => liveSettingsChanged({ resolution: RESOLUTIONS.find((r) => `${r.width}x${r.height}` === e.target.value)! })}
            >
              {RESOLUTIONS.map((r) => (
                <option key={`${r.width}x${r.height}`} value={`${r.width}x${r.height}`}>
                  {r.width}×{r.height}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
      <label className="field inline">
        <span className="field-label">Window</span>
        <select value={live.window} onChange={(e) => liveSettingsChanged({ window: e.target.value as LiveWindow })} data-testid="live-window">
          {LIVE_WINDOWS.map((w) => (
            <option key={w.value} value={w.value}>
              {w.label}
            </option>
          ))}
        </select>
      </label>
      <label className="field inline">
        <span className="field-label">Smoothing</span>
        <input type="range" min={0.05} max={1} step={0.05} value={live.smoothing} onChange={(e) => liveSettingsChanged({ smoothing: Number(e.target.value) })} aria-valuetext={`factor ${live.smoothing}`} />
        <span className="muted small">α {live.smoothing.toFixed(2)}</span>
      </label>
      <label className="field inline">
        <input type="checkbox" checked={live.showRaw} onChange={(e) => liveSettingsChanged({ showRaw: e.target.checked })} />
        <span className="small">Latest raw result</span>
      </label>
      <label className="field inline">
        <span className="field-label">Attention layer</span>
        <select value={live.attentionLayer ?? 'off'} onChange={(e) => liveSettingsChanged({ attentionLayer: e.target.value === 'off' ? null : Number(e.target.value) })}>
          <option value="off">off (fastest backend)</option>
          <option value={-1}>last</option>
          {Array.from({ length: live.layers }, (_, l) => (
            <option key={l} value={l}>
              {l + 1}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
});

function Stats() {
  const live = useLiveState('status', 'clipsPerSecond', 'latencyMs', 'clips', 'openFrames', 'sourceInfo', 'filling');
  const state = live.status === 'starting' ? 'starting' : live.status;
  return (
    <p className="live-stats small" data-testid="live-stats" data-state={state} data-clips-per-second={live.clipsPerSecond.toFixed(2)} data-latency-ms={live.latencyMs?.toFixed(0) ?? ''} data-clips={live.clips} data-open-frames={live.openFrames} role="status">
      {live.status === 'starting' && 'Starting…'}
      {live.status === 'paused' && 'Paused while the tab is hidden.'}
      {live.status === 'stopped' && 'Stopped.'}
      {(live.status === 'running' || live.status === 'paused') && (
        <>
          {live.sourceInfo && <span>{live.sourceInfo.label} · </span>}
          {live.filling ? <span>filling the window: {live.filling.filled} of {live.filling.slots} frames · </span> : null}
          <span>{live.clipsPerSecond.toFixed(1)} clips/s</span> · <span>latency {live.latencyMs === null ? '–' : `${Math.round(live.latencyMs)} ms`}</span> · <span>{live.clips} clips</span>
        </>
      )}
    </p>
  );
}

function LivePredictions() {
  const live = useLiveState('showRaw', 'raw', 'top');
  return <PredictionList predictions={live.showRaw ? live.raw : live.top} testId="live-predictions" label={live.showRaw ? 'Latest raw result' : 'Smoothed predictions'} />;
}

/** The prediction log's downloads: its own component, as the count grows with every clip. */
function LogDownloads() {
  const { logEntries } = useLiveState('logEntries');
  const { liveLogExported } = useActions();
  if (logEntries === 0) return null;
  return (
    <div className="button-row">
      <span className="muted small">{logEntries} results logged</span>
      <button type="button" className="button small" onClick={() => download(liveLogExported('json'), 'live-predictions.json', 'application/json')}>
        Download log (JSON)
      </button>
      <button type="button" className="button small" onClick={() => download(liveLogExported('csv'), 'live-predictions.csv', 'text/csv')}>
        Download log (CSV)
      </button>
    </div>
  );
}

/** Live classification of the camera or the chosen video as it plays. */
export function LivePanel() {
  const live = useLiveState('status', 'source', 'error');
  const { status: modelStatus } = useModelState('status');
  const actions = useActions();
  const video = useRef<HTMLVideoElement>(null);
  const on = isLiveOn(live.status);
  useEffect(() => {
    void actions.liveCamerasRequested();
    return () => actions.liveStopRequested();
  }, [actions]);

  return (
    <Panel
      title="Live"
      className="live-panel"
      actions={
        <button type="button" className={`button ${on ? '' : 'primary'}`} data-testid="webcam-toggle" disabled={!on && modelStatus !== 'ready'} onClick={() => (on ? actions.liveStopRequested() : void actions.liveStartRequested(video.current!))}>
          {on ? 'Stop' : live.source === 'camera' ? 'Start camera' : 'Start live on the video'}
        </button>
      }
    >
      {live.error && (
        <div className="alert" role="alert" data-kind={live.error.kind}>
          <div className="alert-body">
            <strong>{live.error.message}</strong>
            <p className="alert-advice">{live.error.advice}</p>
          </div>
          <button type="button" className="button ghost small" onClick={actions.liveErrorDismissed}>
            Dismiss
          </button>
        </div>
      )}
      <Settings />
      <div className={`live-view ${on ? '' : 'idle'}`}>
        <video ref={video} className="live-video" data-testid="live-video" muted playsInline />
        <AttentionOverlay video={video} />
      </div>
      <Stats />
      <LivePredictions />
      <LogDownloads />
    </Panel>
  );
}
