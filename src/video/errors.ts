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

/** Human names of mediabunny's codec ids, and of the container codec ids of tracks it cannot decode. */
const CODEC_NAMES: Record<string, string> = {
  avc: 'H.264 (AVC)',
  hevc: 'HEVC (H.265)',
  vp8: 'VP8',
  vp9: 'VP9',
  av1: 'AV1',
  mp4v: 'MPEG-4 Part 2',
  'V_MPEG4/ISO/ASP': 'MPEG-4 Part 2',
  'V_MPEG4/ISO/SP': 'MPEG-4 Part 2',
  V_MPEG1: 'MPEG-1',
  V_MPEG2: 'MPEG-2',
  s263: 'H.263',
  h263: 'H.263',
  vvc1: 'VVC (H.266)',
  vvi1: 'VVC (H.266)',
  'V_MPEGH/ISO/VVC': 'VVC (H.266)',
};

/** How to make a file this app opens: re-encode the video to H.264 in MP4. */
export const CONVERT_LINE = 'ffmpeg -i in.mp4 -c:v libx264 -c:a aac out.mp4';

/** The human name of a codec: mediabunny's id, else the container's; undefined for an id we do not know. */
export function codecLabel(codec: string | null, internalId?: unknown): string | undefined {
  const id = codec ?? internalId;
  return typeof id === 'string' ? CODEC_NAMES[id] : undefined;
}

/** A track in a codec this browser cannot decode: `label` names it, else the container's `id` is quoted. */
export function undecodableCodecError(name: string, label: string | undefined, id?: unknown): VideoError {
  const what = label ? `is ${label} video` : `holds video in a codec this app does not know${typeof id === 'string' ? ` ('${id}')` : ''}`;
  const elsewhere = label ? `, or open it in a browser that decodes ${label}` : '';
  return new VideoError('undecodable-codec', `${name} ${what}, which this browser cannot decode. Convert it to H.264, VP9 or AV1 (e.g. ${CONVERT_LINE})${elsewhere}.`);
}

/** A file where mediabunny found no video, named by what its bytes hold (see sniffVideo); undefined if nothing is known. */
export function unopenedVideoError(name: string, sniffed: { container?: string; codec?: string }): VideoError | undefined {
  const convert = `Convert it to H.264 in MP4 (e.g. ${CONVERT_LINE})`;
  if (sniffed.codec) {
    return new VideoError('undecodable-codec', `${name} holds ${sniffed.codec} video${sniffed.container ? ` in ${sniffed.container}` : ''}, which this app cannot decode. ${convert}.`);
  }
  if (sniffed.container) return new VideoError('not-a-video', `${name} is ${sniffed.container === 'AVI' ? 'an' : 'a'} ${sniffed.container} file, a container this app does not open. ${convert}.`);
  return undefined;
}
