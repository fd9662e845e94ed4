// The video slice: the file the user chose (its Blob lives in the registry) and seek requests from the
// frame strip to the player. The video shown before, with its result, is kept until the new one is
// classified: a file that cannot be used gives the screen back to it.
import type { KeptResult } from './inference-slice';
import { initialTimelineState, type TimelineState } from './timeline-slice';
import { patch, type SliceContext } from './types';

export interface ChosenVideo {
  /** Registry id of the Blob. */
  id: number;
  name: string;
  size: number;
  type: string;
  /** Object URL for the <video> element. */
  url: string;
}

/** A video whose result was on screen when another was chosen. */
export interface KeptVideo {
  video: ChosenVideo;
  result: KeptResult;
  timeline: TimelineState;
}

export interface VideoState {
  current: ChosenVideo | null;
  /** What to go back to if `current` cannot be used; dropped once `current` is classified. */
  previous: KeptVideo | null;
  /** The latest seek the player should perform (nonce: seeking to the same time twice still seeks). */
  seek: { time: number; nonce: number } | null;
}

export interface VideoActions {
  /** A file was dropped or picked: show it, and classify it. */
  videoChosen(file: File): void;
  /** The worker could not use the video: forget it, and show the one before again, with its result. */
  videoRejected(): void;
  /** The current video was classified: the one kept from before is not needed any more. */
  videoClassified(): void;
  seekRequested(time: number): void;
}

export const initialVideoState: VideoState = { current: null, previous: null, seek: null };

export function videoActions(ctx: SliceContext): VideoActions {
  const { get, deps } = ctx;

  const forget = (video: ChosenVideo | null | undefined) => {
    if (!video) return;
    deps.objectUrl.revoke(video.url);
    ctx.videos.release(video.id);
  };
  const forgetKept = (kept: KeptVideo | null) => {
    forget(kept?.video);
    ctx.results.release(kept?.result.resultId);
  };

  return {
    videoChosen(file) {
      const { video, inference, timeline, actions } = get();
      let previous = video.previous;
      if (video.current && inference.resultId !== null && inference.ranWith?.videoId === video.current.id) {
        // The shown video has a result: keep both until the new file proves usable.
        forgetKept(previous);
        previous = { video: video.current, result: { resultId: inference.resultId, summary: inference.summary, ranWith: inference.ranWith }, timeline: timeline.status === 'done' ? timeline : initialTimelineState };
        actions.resultSetAside();
      } else {
        // Nothing was classified from it (still running, or failed): the kept one, if any, stays.
        forget(video.current);
        actions.resultDiscarded();
      }
      const id = ctx.videos.put(file);
      patch(ctx, 'video', { current: { id, name: file.name, size: file.size, type: file.type, url: deps.objectUrl.create(file) }, previous, seek: null });
      actions.timelineCleared();
      void actions.classificationRequested();
    },

    videoRejected() {
      const { current, previous } = get().video;
      forget(current);
      get().actions.timelineCleared();
      patch(ctx, 'video', { current: previous?.video ?? null, previous: null, seek: null });
      if (!previous) return;
      get().actions.resultRestored(previous.result);
      get().actions.timelineRestored(previous.timeline);
    },

    videoClassified() {
      forgetKept(get().video.previous);
      patch(ctx, 'video', { previous: null });
    },

    seekRequested(time) {
      patch(ctx, 'video', { seek: { time, nonce: (get().video.seek?.nonce ?? 0) + 1 } });
    },
  };
}
