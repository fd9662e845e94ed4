import { useEffect, useRef } from 'react';
import { useVideoState } from '../../store';

/** The chosen file in a <video>, seeking when the frame strip asks. */
export function Player() {
  const { current, seek } = useVideoState('current', 'seek');
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (seek && video.current) video.current.currentTime = seek.time;
  }, [seek]);
  if (!current) return null;
  return <video ref={video} className="player" src={current.url} controls muted playsInline preload="metadata" aria-label={`Video: ${current.name}`} />;
}
