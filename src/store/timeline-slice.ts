// The timeline slice: a long video classified window by window (the worker slides the model's clip
// across the whole video), shown as a strip of segments coloured by their top class. Segments stream
// in as they are done; only their top labels are kept.
import type { TimelineSegment } from '../worker/protocol';
import { classifyError, isCancel, type AppError } from './errors';
import { progressed, type Progress, type ProgressEvent } from './progress';
import { topK, type Prediction } from './summary';
import { patch, type SliceContext } from './types';

export interface SegmentSummary {
  index: number;
  /** Seconds. */
  start: number;
  end: number;
  top: Prediction;
}

export interface TimelineState {
  status: 'idle' | 'running' | 'done' | 'failed';
  segments: SegmentSummary[];
  /** How many segments the video gives (known from the first one). */
  count: number;
  progress: Progress | null;
  error: AppError | null;
}

export interface TimelineActions {
  timelineRequested(): Promise<void>;
  timelineSegmentArrived(segment: TimelineSegment): void;
  timelineCancelled(): void;
  /** The video changed: its timeline no longer applies. */
  timelineCleared(): void;
  /** The video it was made for is shown again (the next one could not be used). */
  timelineRestored(kept: TimelineState): void;
}

/** At most this many windows: a strip stays readable, and a long video does not run for ever. */
export const MAX_SEGMENTS = 48;

export const initialTimelineState: TimelineState = { status: 'idle', segments: [], count: 0, progress: null, error: null };

export function timelineActions(ctx: SliceContext): TimelineActions {
  const { get, deps } = ctx;
  const timeline = (fields: Partial<TimelineState>) => patch(ctx, 'timeline', fields);

  return {
    async timelineRequested() {
      const { video, model } = get();
      const blob = ctx.videos.get(video.current?.id);
      if (!video.current || !blob || model.status !== 'ready') return;
      ctx.running.timeline?.abort();
      const abort = (ctx.running.timeline = new AbortController());
      const current = () => ctx.running.timeline === abort;
      const name = video.current.name;
      timeline({ ...initialTimelineState, status: 'running' });
      const onProgress = (p: ProgressEvent) => {
        const next = current() && progressed(get().timeline.progress, p, deps.now());
        if (next) timeline({ progress: next });
      };
      try {
        await ctx.client().timeline(blob, (s) => current() && get().actions.timelineSegmentArrived(s), { maxSegments: MAX_SEGMENTS, onProgress, signal: abort.signal });
        if (current()) timeline({ status: 'done', progress: null });
      } catch (e) {
        if (current() && !isCancel(e)) timeline({ status: 'failed', progress: null, error: classifyError(e, name) });
      } finally {
        if (current()) ctx.running.timeline = undefined;
      }
    },

    timelineSegmentArrived(s) {
      const top = topK(s.probs, get().model.info?.labels ?? [], 1)[0];
      timeline({ segments: [...get().timeline.segments, { index: s.index, start: s.start, end: s.end, top }], count: s.count });
    },

    timelineCancelled() {
      ctx.running.timeline?.abort();
      ctx.running.timeline = undefined;
      timeline({ status: get().timeline.segments.length ? 'done' : 'idle', progress: null });
    },

    timelineCleared() {
      ctx.running.timeline?.abort();
      ctx.running.timeline = undefined;
      timeline(initialTimelineState);
    },

    timelineRestored(kept) {
      timeline(kept);
    },
  };
}
