// Live-mode failures as the user sees them: what happened and what to do. getUserMedia's DOMException
// names say which: NotAllowedError (permission), NotFoundError / OverconstrainedError (no such camera),
// NotReadableError (another app holds the camera), and a track that ends mid-stream (unplugged).

export type LiveErrorKind = 'permission' | 'no-camera' | 'in-use' | 'ended' | 'unsupported' | 'no-model' | 'inference';

export class LiveError extends Error {
  override name = 'LiveError';
  constructor(
    readonly kind: LiveErrorKind,
    message: string,
    readonly advice: string,
  ) {
    super(message);
  }
}

export function cameraError(e: unknown): LiveError {
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  const message = e instanceof Error ? e.message : String(e);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new LiveError('permission', 'Camera permission was denied.', 'Allow camera access for this page (the camera icon in the address bar), then start again. Files can still be classified.');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new LiveError('no-camera', 'No camera was found that matches.', 'Connect a camera, or choose another camera or resolution, then start again. You can also run live mode on a playing video file.');
    case 'NotReadableError':
    case 'AbortError':
      return new LiveError('in-use', 'The camera could not be started: it may be in use by another application.', 'Close other apps or tabs using the camera, then start again.');
    default:
      return new LiveError('unsupported', `The camera could not be opened: ${message}`, 'Use a recent Chrome or Edge; the page must be served over HTTPS or from localhost.');
  }
}

export const trackEndedError = () => new LiveError('ended', 'The camera stopped sending video (was it unplugged?).', 'Reconnect the camera and start again.');
