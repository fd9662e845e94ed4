// Why a video cannot be used, in words a user can act on. `kind` is for code (and tests); the message
// names the file's problem and what to do about it.

export type VideoErrorKind =
  | 'not-a-video' // no container format we know (a text file, an image, a damaged header)
  | 'no-video-track' // a media file without video (e.g. audio only)
  | 'undecodable-codec' // video this browser cannot decode (e.g. HEVC without platform support)
  | 'empty' // zero bytes, or no frames
  | 'too-large' // frames bigger than a GPU texture
  | 'corrupt' // truncated or damaged data found while reading or decoding
  | 'unreadable'; // the bytes could not be read (network, permissions)

export class VideoError extends Error {
  override name = 'VideoError';
  constructor(readonly kind: VideoErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Human names of mediabunny's codec ids. */
const CODEC_NAMES: Record<string, string> = {
  avc: 'H.264 (AVC)',
  hevc: 'HEVC (H.265)',
  vp8: 'VP8',
  vp9: 'VP9',
  av1: 'AV1',
};

export function codecName(codec: string | null, internalId?: unknown): string {
  if (codec) return CODEC_NAMES[codec] ?? codec;
  return typeof internalId === 'string' ? `an unknown codec ('${internalId}')` : 'an unknown codec';
}
