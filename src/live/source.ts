// Where live frames come from: a camera (chosen among enumerateDevices()'s, at a chosen resolution), or a
// video file playing in the page as if it were live. Both end up as a MediaStream video track (a file via
// `captureStream()`), read as VideoFrames by MediaStreamTrackProcessor where the browser has it, else
// from a <video> element showing the source, one `new VideoFrame(video)` per requestVideoFrameCallback.
import { cameraError, LiveError, trackEndedError } from './errors';

export interface CameraInfo {
  deviceId: string;
  label: string;
}

export interface Resolution {
  width: number;
  height: number;
}

export const RESOLUTIONS: Resolution[] = [
  { width: 320, height: 240 },
  { width: 640, height: 480 },
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
];

export type LiveSourceRequest = { kind: 'camera'; deviceId?: string; resolution?: Resolution } | { kind: 'video'; url: string; name: string };

/** The cameras the browser offers (labels are empty until camera permission was given once). */
export async function listCameras(): Promise<CameraInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === 'videoinput').map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
}

/** An open source: its track, shown in `video`; `stop()` stops every track and frees the element. */
export interface OpenSource {
  kind: LiveSourceRequest['kind'];
  track: MediaStreamVideoTrack;
  label: string;
  frameRate: number;
  stop(): void;
}

/** Open the source and show it in `video` (which live mode also reads frames from when it must). */
export async function openSource(request: LiveSourceRequest, video: HTMLVideoElement, onEnded: (e: LiveError) => void): Promise<OpenSource> {
  let stream: MediaStream;
  if (request.kind === 'camera') {
    if (!navigator.mediaDevices?.getUserMedia) throw new LiveError('unsupported', 'This browser offers no camera access here.', 'Use a recent Chrome or Edge, on HTTPS or localhost.');
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: {
          ...(request.deviceId ? { deviceId: { exact: request.deviceId } } : {}),
          ...(request.resolution ? { width: { ideal: request.resolution.width }, height: { ideal: request.resolution.height } } : {}),
        },
        audio: false,
      });
    } catch (e) {
      throw cameraError(e);
    }
    video.srcObject = stream;
  } else {
    video.srcObject = null;
    video.src = request.url;
    video.loop = true;
    await video.play();
    const capture = (video as HTMLVideoElement & { captureStream?: () => MediaStream }).captureStream;
    if (!capture) throw new LiveError('unsupported', 'This browser cannot stream a playing video (no captureStream).', 'Use a recent Chrome or Edge.');
    stream = capture.call(video);
  }
  video.muted = true;
  if (request.kind === 'camera') await video.play().catch(() => undefined);
  const track = stream.getVideoTracks()[0] as MediaStreamVideoTrack | undefined;
  if (!track) {
    stream.getTracks().forEach((t) => t.stop());
    throw new LiveError('no-camera', 'The source has no video track.', 'Choose another camera or video.');
  }
  let stopped = false;
  // 'ended' fires when the source goes away (camera unplugged, permission revoked), never on our own stop().
  track.addEventListener('ended', () => stopped || onEnded(trackEndedError()), { once: true });
  return {
    kind: request.kind,
    track,
    label: request.kind === 'camera' ? track.label || 'camera' : request.name,
    frameRate: track.getSettings().frameRate ?? 30,
    stop() {
      stopped = true;
      stream.getTracks().forEach((t) => t.stop());
      video.pause();
      video.srcObject = null;
      if (request.kind === 'video') video.removeAttribute('src');
    },
  };
}

export interface FrameReader {
  /** 'processor': MediaStreamTrackProcessor; 'video': requestVideoFrameCallback on the <video>. */
  readonly kind: 'processor' | 'video';
  stop(): void;
}

interface TrackProcessor {
  readable: ReadableStream<VideoFrame>;
}
declare const MediaStreamTrackProcessor: { new (init: { track: MediaStreamTrack; maxBufferSize?: number }): TrackProcessor } | undefined;

/** Read the track's frames (the handler owns each one and must close it) until stopped or the track ends. */
export function readFrames(track: MediaStreamVideoTrack, video: HTMLVideoElement, onFrame: (frame: VideoFrame) => void): FrameReader {
  if (typeof MediaStreamTrackProcessor !== 'undefined') {
    // maxBufferSize 1: a reader that falls behind gets the newest frame, older ones are dropped by the browser.
    const reader = new MediaStreamTrackProcessor({ track, maxBufferSize: 1 }).readable.getReader();
    let stopped = false;
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done || !value) return;
        if (stopped) value.close();
        else onFrame(value);
      }
    })();
    return {
      kind: 'processor',
      stop() {
        stopped = true;
        void reader.cancel().catch(() => undefined);
      },
    };
  }
  let handle = 0;
  const next = () => {
    handle = video.requestVideoFrameCallback((_now, meta) => {
      onFrame(new VideoFrame(video, { timestamp: Math.round(meta.mediaTime * 1e6) }));
      next();
    });
  };
  next();
  return { kind: 'video', stop: () => video.cancelVideoFrameCallback(handle) };
}
