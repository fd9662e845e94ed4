// The timeline in the worker: windows across the whole video, each classified on the loaded backend as soon as
// it is decoded and preprocessed, and handed on one segment at a time.
import { viewProbabilities } from '../predictions/scores';
import { windowClips } from '../video/clips';
import { openVideo } from '../video/open';
import { policyForModel } from '../video/sampling';
import type { ProgressFn } from './model-loading';
import type { TimelineSegment } from './protocol';
import type { Task } from './scheduler';
import type { InferenceService } from './service';

export type TimelineHost = Pick<InferenceService, 'use' | 'runtime' | 'runClip'>;

/** Classifies up to `maxSegments` windows; the number classified. */
export async function timelineOf(service: TimelineHost, task: Task, video: Blob, maxSegments: number, progress: ProgressFn, onSegment: (s: TimelineSegment) => void): Promise<number> {
  const { id, model, backend } = await service.use(task);
  const runtime = await service.runtime();
  using file = await openVideo(video, { signal: task.signal });
  let count = 0;
  const windows = windowClips(file, runtime, model.preprocessor, policyForModel(id, model.config), { signal: task.signal, maxWindows: maxSegments, onProgress: (done, total) => progress('decode', done, total) });
  for await (const w of windows) {
    const logits = (await service.runClip(task, backend, w.clip, w.clip.shape, {})).get('logits')!;
    task.signal.throwIfAborted();
    onSegment({ index: w.index, count: w.count, start: w.start - file.info.origin, end: w.end - file.info.origin, probs: viewProbabilities(logits.data, logits.shape[0]) });
    progress('inference', ++count, w.count);
  }
  return count;
}
