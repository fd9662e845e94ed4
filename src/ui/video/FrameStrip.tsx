import { useEffect, useRef } from 'react';
import { useActions, useResult } from '../../store';
import { formatTime } from '../format';

function Thumb({ frame, index, time }: { frame: ImageBitmap; index: number; time: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { seekRequested } = useActions();
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    c.width = frame.width;
    c.height = frame.height;
    c.getContext('2d')?.drawImage(frame, 0, 0);
  }, [frame]);
  return (
    <li>
      <button type="button" className="thumb" onClick={() => seekRequested(time)} title={`Frame ${index + 1}: show ${formatTime(time)} in the player`}>
        <canvas ref={canvas} aria-hidden="true" />
        <span className="thumb-label">
          {index + 1} · {formatTime(time)}
        </span>
      </button>
    </li>
  );
}

/** The frames the model saw (first view, cropped), with their times; a click seeks the player. */
export function FrameStrip() {
  const result = useResult();
  if (!result || result.frames.length === 0) return null;
  return (
    <div className="frame-strip-wrap">
      <h3 className="subhead">Frames the model saw</h3>
      <ol className="frame-strip" data-testid="frame-strip">
        {result.frames.map((f, i) => (
          <Thumb key={i} frame={f} index={i} time={result.timestamps[i]} />
        ))}
      </ol>
    </div>
  );
}
