// Decoding the sampled frames: each timestamp once, in order, every frame closed as soon as the caller
// has uploaded it, cancellable, with progress. Decoding runs in WebCodecs through mediabunny.
// A frame the decoder rejects (a damaged slice) is replaced by the nearest sampled frame that decodes;
// only when too few decode is the file refused.
import { VideoSampleSink, type VideoSample } from 'mediabunny';
import { VideoError } from './errors';
import type { VideoFile } from './open';
import { formatSeconds, nearestDecoded } from './sampling';

export interface DecodeOptions {
  signal?: AbortSignal;
  /** Called after each frame is handled: frames done so far, out of `total`. */
  onProgress?: (done: number, total: number) => void;
}

/** At least this share of the sampled frames must decode; the others are stood in for by their neighbours. */
export const MIN_DECODED_SHARE = 0.5;

type FrameHandler = (frame: VideoFrame, index: number) => void | Promise<void>;

/**
 * Decode the frames shown at `timestamps` (seconds, sorted, each once) and hand each to `onFrame` with its
 * index in `timestamps`. The frame is closed when `onFrame` resolves: copy or upload it before then.
 * Returns notes for the user: which frames could not be decoded and what stands in for them.
 */
export async function decodeFrames(video: VideoFile, timestamps: number[], onFrame: FrameHandler, options: DecodeOptions = {}): Promise<string[]> {
  const { signal, onProgress } = options;
  for (let i = 1; i < timestamps.length; i++) {
    if (!(timestamps[i] > timestamps[i - 1])) throw new RangeError('timestamps must be sorted and distinct');
  }
  signal?.throwIfAborted();
  const { name, origin } = video.info;
  let done = 0;
  const hand = async (sample: VideoSample, indices: number[]) => {
    const frame = sample.toVideoFrame();
    try {
      for (const index of indices) {
        signal?.throwIfAborted();
        await onFrame(frame, index);
        onProgress?.(++done, timestamps.length);
      }
    } finally {
      frame.close();
      sample.close();
    }
  };

  const decoded = timestamps.map(() => false);
  let firstError: string | undefined;
  for (let next = 0; next < timestamps.length; ) {
    // A decoder error ends the iterator (and may surface a frame early, as mediabunny decodes ahead):
    // that timestamp is tried once on its own, and a new iterator takes the rest.
    const samples = new VideoSampleSink(video.track).samplesAtTimestamps(timestamps.slice(next));
    try {
      for (;;) {
        let step: IteratorResult<VideoSample | null, void>;
        try {
          step = await samples.next();
        } catch (e) {
          if (signal?.aborted) throw e;
          firstError ??= (e as Error).message;
          const alone = await new VideoSampleSink(video.track).getSample(timestamps[next]).catch(() => null);
          if (alone) await hand(alone, [next]);
          decoded[next++] = alone !== null;
          break;
        }
        // Done early: the frames left are not in the file.
        if (step.done) {
          next = timestamps.length;
          break;
        }
        if (step.value) await hand(step.value, [next]);
        decoded[next++] = step.value !== null;
      }
    } finally {
      // Stops decoding and closes frames decoded ahead when we leave early (error, abort).
      await samples.return(undefined);
    }
  }

  const count = decoded.filter(Boolean).length;
  if (count === timestamps.length) return [];
  const at = (indices: number[]) => indices.map((i) => (timestamps[i] - origin).toFixed(2)).join(', ');
  const failed = timestamps.flatMap((_, i) => (decoded[i] ? [] : [i]));
  const said = firstError ? `; the decoder said: ${firstError}` : '';
  if (count < Math.max(1, Math.ceil(timestamps.length * MIN_DECODED_SHARE))) {
    throw new VideoError('corrupt', `${name}: only ${count} of the ${timestamps.length} frames needed could be decoded (none at ${at(failed)} s${said}): the file looks truncated or damaged`);
  }
  // Each stand-in decoded a moment ago: decode it again, on its own (an iterator decodes ahead, into the
  // damage), for the frames it stands in for.
  const standIns = nearestDecoded(timestamps, decoded);
  const sources = [...new Set(standIns.values())].sort((a, b) => a - b);
  for (const source of sources) {
    const sample = await new VideoSampleSink(video.track).getSample(timestamps[source]);
    if (!sample) throw new VideoError('corrupt', `${name} decoded differently the second time at ${formatSeconds(timestamps[source] - origin)}: the file looks damaged`);
    await hand(sample, failed.filter((i) => standIns.get(i) === source));
  }
  return [`${failed.length} of the ${timestamps.length} frames needed from ${name} could not be decoded (at ${at(failed)} s${said}): the nearest decodable frames (at ${at(sources)} s) were used instead`];
}
