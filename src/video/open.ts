// Opening a video with mediabunny: File/Blob/URL → a decodable video track and what the model needs to
// know about it. Every way a file can be unusable ends here as a VideoError with a specific message.
import { ALL_FORMATS, BlobSource, EncodedPacketSink, Input, UrlSource, type InputVideoTrack } from 'mediabunny';
import type { Rotation, Size } from '../preprocess/geometry';
import { codecLabel, undecodableCodecError, unopenedVideoError, VideoError } from './errors';
import { acceptRecoveryPointKeyframes } from './keyframes';
import { mpegVideoCodec, SNIFF_BYTES, sniffVideo } from './sniff';
import { decodableTiming, frameCount, type TrackSpan, type VideoTiming } from './sampling';

/** Largest frame side we accept: the WebGPU texture limit on most GPUs (8K video is 7680 wide). */
export const MAX_FRAME_SIDE = 8192;

/** `startTime` and `duration` are the decodable span, which sampling uses (see decodableTiming). */
export interface VideoInfo extends VideoTiming {
  /** File name or URL. */
  name: string;
  /** The first packet's timestamp, shown as 0 s: messages give times from here. */
  origin: number;
  /** Container, e.g. 'MP4', 'WebM'. */
  container: string;
  /** mediabunny's codec id ('avc', 'vp9', 'av1', …) and the WebCodecs codec string. */
  codec: string;
  codecString: string | null;
  /** Frame size as decoded (before rotation): what the GPU uploads. */
  stored: Size;
  /** Frame size as displayed (after rotation), in stored pixels: what the model sees. */
  width: number;
  height: number;
  /** Clockwise rotation from stored to displayed frames. */
  rotation: Rotation;
  /** Non-square pixels are kept as stored (as ffmpeg-based training pipelines did); reported for information. */
  pixelAspectRatio: number;
  frameCount: number;
  /** True when frames do not sit on one regular lattice (phone recordings, screen captures). */
  variableFrameRate: boolean;
  /** What of the file cannot be used (frames before the first keyframe, a file that ends early). */
  notes: string[];
}

/** An opened video: `dispose()` it (or `using`) to release the file and any decoders. */
export class VideoFile implements Disposable {
  constructor(readonly info: VideoInfo, readonly track: InputVideoTrack, private readonly input: Input) {}
  dispose() {
    this.input.dispose();
  }
  [Symbol.dispose]() {
    this.dispose();
  }
}

export type VideoSource = Blob | string;

/** Open `source` (a File/Blob, or a URL) and check that its video can be decoded and preprocessed. */
export async function openVideo(source: VideoSource, options: { signal?: AbortSignal } = {}): Promise<VideoFile> {
  const name = typeof source === 'string' ? source : source instanceof File ? source.name : 'the video';
  if (typeof source !== 'string' && source.size === 0) throw new VideoError('empty', `${name} is empty (0 bytes)`);
  const input = new Input({ source: typeof source === 'string' ? new UrlSource(source) : new BlobSource(source), formats: ALL_FORMATS });
  try {
    const info = await probe(input, name, () => head(source), options.signal);
    return new VideoFile(info.info, info.track, input);
  } catch (e) {
    input.dispose();
    if (e instanceof VideoError || options.signal?.aborted) throw e;
    throw new VideoError('corrupt', `${name} could not be read as a video: ${(e as Error).message}. The file may be truncated or damaged.`, { cause: e });
  }
}

/** The first bytes of the file, for naming what it holds when mediabunny finds no video. */
async function head(source: VideoSource): Promise<Uint8Array> {
  const blob = typeof source === 'string' ? await (await fetch(source, { headers: { Range: `bytes=0-${SNIFF_BYTES - 1}` } })).blob() : source;
  return new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer());
}

async function probe(input: Input, name: string, readHead: () => Promise<Uint8Array>, signal?: AbortSignal): Promise<{ info: VideoInfo; track: InputVideoTrack }> {
  const step = async <T>(p: Promise<T>): Promise<T> => {
    const value = await p;
    signal?.throwIfAborted();
    return value;
  };
  let readable: boolean;
  try {
    readable = await step(input.canRead());
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new VideoError('unreadable', `${name} could not be read: ${(e as Error).message}`, { cause: e });
  }
  const unopened = async () => unopenedVideoError(name, sniffVideo(await step(readHead())));
  if (!readable) throw (await unopened()) ?? new VideoError('not-a-video', `${name} is not a video file this app can open (MP4, MOV, WebM or MKV)`);
  const container = (await step(input.getFormat())).name;
  const track = await step(input.getPrimaryVideoTrack());
  if (!track) {
    const audio = (await step(input.getAudioTracks())).length > 0;
    throw (await unopened()) ?? new VideoError('no-video-track', `${name} has no video track${audio ? ' (it holds only audio)' : ''}`);
  }
  const codec = await step(track.getCodec());
  if (!codec || !(await step(track.canDecode()))) {
    const id = await step(track.getInternalCodecId());
    // An MP4 'mp4v' track is MPEG-4 Part 2 or MPEG-1/2 (its esds says which; mediabunny does not): its first packet tells.
    const packet = id === 'mp4v' ? await step(new EncodedPacketSink(track).getFirstPacket()) : null;
    throw undecodableCodecError(name, (packet && mpegVideoCodec(packet.data)) ?? codecLabel(codec, id), id);
  }
  await step(acceptRecoveryPointKeyframes(track));
  const stored = { width: await step(track.getCodedWidth()), height: await step(track.getCodedHeight()) };
  const rotation = (await step(track.getRotation())) as Rotation;
  if (Math.max(stored.width, stored.height) > MAX_FRAME_SIDE) {
    throw new VideoError('too-large', `${name} has ${stored.width}×${stored.height} frames; the largest this app handles is ${MAX_FRAME_SIDE} px a side. Scale it down first (e.g. ffmpeg -i in.mp4 -vf scale=-2:1080 out.mp4).`);
  }
  const endTime = await step(track.computeDuration());
  // Frames before 0 s are cut by an MP4 edit list (a clip trimmed without re-encoding): players do not show them.
  const firstTimestamp = await step(track.getFirstTimestamp());
  const startTime = firstTimestamp < 0 && endTime > 0 ? 0 : firstTimestamp;
  const rate = await step(track.computeFrameRateMetrics());
  if (rate.probedPacketCount === 0 || !(endTime > startTime)) throw new VideoError('empty', `${name} has a video track without frames`);
  const par = await step(track.getPixelAspectRatio());
  const swap = rotation === 90 || rotation === 270;
  const span = await step(trackSpan(track, name, startTime, endTime, rate.bestGuessFrameRate));
  const { timing, notes } = decodableTiming(span, name);
  return {
    track,
    info: {
      name,
      container,
      codec,
      codecString: await step(track.getCodecParameterString()),
      stored,
      width: swap ? stored.height : stored.width,
      height: swap ? stored.width : stored.height,
      rotation,
      pixelAspectRatio: par.num / par.den,
      origin: startTime,
      ...timing,
      frameCount: frameCount(timing),
      variableFrameRate: !rate.frameRateIsConstant,
      notes,
    },
  };
}

/**
 * Where the decodable frames are: from the first real keyframe (a segment cut from a broadcast starts
 * mid-GOP) to the last packet whose data is in the file (an index can promise more than a cut file holds).
 */
async function trackSpan(track: InputVideoTrack, name: string, firstTimestamp: number, indexedEnd: number, frameRate: number): Promise<TrackSpan> {
  const packets = new EncodedPacketSink(track);
  const verify = { verifyKeyPackets: true };
  // The first keyframe in decode order, the first packet included; if the first packet's data is missing, the next.
  const first = await packets.getFirstPacket({ metadataOnly: true });
  const key = (await packets.getFirstKeyPacket(verify)) ?? (first && (await packets.getNextKeyPacket(first, verify)));
  if (!key) {
    // Truncated if the first keyframe the index lists has no data; else the data is there and holds no keyframe.
    const listed = await packets.getFirstKeyPacket({ metadataOnly: true });
    if (listed && !(await packets.getPacket(listed.timestamp))) throw new VideoError('corrupt', `${name} has no keyframe with its data in the file, so none of its frames can be decoded: the file looks truncated or damaged`);
    throw new VideoError('corrupt', `${name} has no keyframe a decoder can start from, though its data is in the file (a cut that kept no keyframe, or an index that names the wrong frames), so none of its frames can be decoded: the file looks damaged`);
  }
  let dataEnd = indexedEnd;
  if (!(await packets.getPacket(Infinity))) {
    // The last packet's data is missing: bisect for the last one whose data is there (the key one is).
    let present = key;
    let [lo, hi] = [key.timestamp, (await packets.getPacket(Infinity, { metadataOnly: true }))!.timestamp];
    while (hi - lo > 0.5 / frameRate) {
      const middle = (lo + hi) / 2;
      const packet = await packets.getPacket(middle);
      if (!packet) hi = middle;
      else {
        lo = middle;
        if (packet.timestamp > present.timestamp) present = packet;
      }
    }
    dataEnd = present.timestamp + present.duration;
  }
  return { firstTimestamp, indexedEnd, firstKeyTimestamp: key.timestamp, dataEnd, frameRate };
}
