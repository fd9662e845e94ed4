import { useRef, useState, type DragEvent } from 'react';
import { useActions, useVideoState } from '../../store';
import { routeDrop } from '../dropped-files';
import { formatBytes } from '../format';
import { Panel } from '../Panel';
import { FrameStrip } from './FrameStrip';
import { Player } from './Player';

/** The input: drop zone and file picker (the webcam: the live panel), then the player and the sampled frames. */
export function VideoPanel() {
  const { current } = useVideoState('current');
  const actions = useActions();
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void routeDrop(e.dataTransfer, actions);
  };
  // The camera is run by the live panel: choose it there and bring its start button into view.
  const useWebcam = () => {
    actions.liveSettingsChanged({ source: 'camera' });
    const start = document.querySelector<HTMLButtonElement>('[data-testid="webcam-toggle"]');
    start?.scrollIntoView({ behavior: 'smooth', block: 'center' });
    start?.focus({ preventScroll: true });
  };
  const choose = (
    <button type="button" className="button primary" onClick={() => input.current?.click()}>
      {current ? 'Choose another video…' : 'Choose a video…'}
    </button>
  );

  return (
    <Panel title="Video" className="video-panel" actions={current && <span className="muted small">{current.name} · {formatBytes(current.size)}</span>}>
      <div
        className={`drop-zone ${dragging ? 'dragging' : ''} ${current ? 'has-video' : ''}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        {current ? (
          <Player />
        ) : (
          <div className="drop-prompt">
            <svg className="drop-icon" viewBox="0 0 24 24" aria-hidden="true">
              <path d="M4 5h11a2 2 0 0 1 2 2v2.5l4-2.5v10l-4-2.5V17a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z" />
            </svg>
            <p className="drop-title">Drop a video here</p>
            <p className="muted small">MP4, WebM or MKV (H.264, VP9, AV1). It never leaves your computer.</p>
          </div>
        )}
        <div className="button-row center">
          {choose}
          <button type="button" className="button" onClick={useWebcam}>
            Use webcam
          </button>
        </div>
        <input
          ref={input}
          type="file"
          accept="video/*,.mkv"
          hidden
          data-testid="video-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = ''; // picking the same file again still fires change
            if (file) actions.videoChosen(file);
          }}
        />
      </div>
      <FrameStrip />
    </Panel>
  );
}
