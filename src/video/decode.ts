// Decoding the sampled frames: each timestamp once, in order, every frame closed as soon as the caller
// has uploaded it, cancellable, with progress. Decoding runs in WebCodecs through mediabunny.
import { VideoSampleSink, type VideoSample } from 'mediabunny';
import { VideoError } from './errors';
import type { VideoFile } from './open';

export interface DecodeOptions {
  signal?: AbortSignal;
  /** Called after each frame is handled: frames done so far, out of `total`. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decode the frames shown at `timestamps` (seconds, sorted, each once) and hand each to `onFrame` with its
 * index in `timestamps`. The frame is closed when `onFrame` resolves: copy or upload it before then.
 */
export async function decodeFrames(video: VideoFile, timestamps: number[], onFrame: (frame: VideoFrame, index: number) => void | Promise<void>, options: DecodeOptions = {}): Promise<void> {
  const { signal, onProgress } = options;
  for (let i = 1; i < timestamps.length; i++) {
    if (!(timestamps[i] > timestamps[i - 1])) throw new RangeError('timestamps must be sorted and distinct');
  }
  signal?.throwIfAborted();
  const { name } = video.info;
  const sink = new VideoSampleSink(video.track);
  const samples = sink.samplesAtTimestamps(timestamps);
  let index = 0;
  try {
    for (;;) {
      let next: IteratorResult<VideoSample | null, void>;
      try {
        next = await samples.next();
      } catch (e) {
        throw new VideoError('corrupt', `${name} could not be decoded near ${timestamps[index]?.toFixed(2)} s: ${(e as Error).message}. The file may be damaged.`, { cause: e });
      }
      if (next.done) break;
      const sample = next.value;
      if (!sample) {
        throw new VideoError('corrupt', `${name} has no decodable frame at ${timestamps[index].toFixed(2)} s of its ${video.info.duration.toFixed(2)} s: the file looks truncated or damaged`);
      }
      const frame = sample.toVideoFrame();
      try {
        signal?.throwIfAborted();
        await onFrame(frame, index);
      } finally {
        frame.close();
        sample.close();
      }
      index++;
      onProgress?.(index, timestamps.length);
    }
  } finally {
    // Stops decoding and closes frames decoded ahead when we leave early (error, abort).
    await samples.return(undefined);
  }
  if (index !== timestamps.length) throw new VideoError('corrupt', `${name} ended after ${index} of ${timestamps.length} frames: the file looks truncated`);
}
