// The video slice: the file the user chose (its Blob lives in the registry) and seek requests from the
// frame strip to the player.
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

export interface VideoState {
  current: ChosenVideo | null;
  /** The latest seek the player should perform (nonce: seeking to the same time twice still seeks). */
  seek: { time: number; nonce: number } | null;
}

export interface VideoActions {
  /** A file was dropped or picked: show it, and classify it. */
  videoChosen(file: File): void;
  /** The worker could not use the video: forget it (the next file starts clean). */
  videoRejected(): void;
  seekRequested(time: number): void;
}

export const initialVideoState: VideoState = { current: null, seek: null };

export function videoActions(ctx: SliceContext): VideoActions {
  const { get, deps } = ctx;

  const forget = () => {
    const current = get().video.current;
    if (!current) return;
    deps.objectUrl.revoke(current.url);
    ctx.videos.release(current.id);
  };

  return {
    videoChosen(file) {
      forget();
      const id = ctx.videos.put(file);
      patch(ctx, 'video', { current: { id, name: file.name, size: file.size, type: file.type, url: deps.objectUrl.create(file) }, seek: null });
      get().actions.resultDiscarded();
      get().actions.timelineCleared();
      void get().actions.classificationRequested();
    },

    videoRejected() {
      forget();
      get().actions.timelineCleared();
      patch(ctx, 'video', { current: null, seek: null });
    },

    seekRequested(time) {
      patch(ctx, 'video', { seek: { time, nonce: (get().video.seek?.nonce ?? 0) + 1 } });
    },
  };
}
