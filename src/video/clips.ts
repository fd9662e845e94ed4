// Video → GpuClips for the engine: the sampled views of one video (multi-view test protocol), or a stream
// of windows across a long video (timeline). Decoding and preprocessing happen here; running the model
// is the caller's (each clip's `encode` writes the engine's input inside the engine's submission).
import type { PreprocessorConfig } from '../checkpoint/config';
import type { EngineDevice } from '../engine/device';
import type { Runtime } from '../engine/runtime';
import { createFrameStore, type FrameStore, type PreprocessedClip, type UploadPath } from '../preprocess/frame-store';
import { decodeFrames, type DecodeOptions } from './decode';
import { VideoError } from './errors';
import type { VideoFile } from './open';
import { sampleViews, slidingWindows, type SampledView, type SampledWindow, type Sampling, type SamplingPolicy, type ViewPlan } from './sampling';

export interface ClipOptions extends DecodeOptions {
  upload?: 'auto' | UploadPath;
}

export interface PreparedViews {
  sampling: Sampling;
  views: { view: SampledView; clip: PreprocessedClip }[];
  /** How frames reached the GPU. */
  uploadPath: UploadPath | undefined;
  /** For the user: what of the file could not be used, how frames were sampled, which were replaced. */
  notes: string[];
  /** Free the GPU memory of the frames. */
  release(): void;
}

/** Decode every frame the views need once, preprocess them on the GPU, and give one clip per view. */
export async function prepareViews(video: VideoFile, gpu: Runtime | EngineDevice, preprocessor: PreprocessorConfig, policy: SamplingPolicy, plan?: ViewPlan, options: ClipOptions = {}): Promise<PreparedViews> {
  const sampling = sampleViews(video.info, policy, plan);
  const store = createStore(video, gpu, preprocessor, sampling.timestamps.length, [...new Set(sampling.views.map((v) => v.crop))], options);
  try {
    const decodeNotes = await decodeFrames(video, sampling.timestamps, (frame, slot) => store.upload(slot, frame), options);
    const slotOf = new Map(sampling.timestamps.map((t, slot) => [t, slot]));
    return {
      sampling,
      views: sampling.views.map((view) => ({ view, clip: store.clip(view.timestamps.map((t) => slotOf.get(t)!), view.crop) })),
      uploadPath: store.uploadPath,
      notes: [...video.info.notes, ...(sampling.note ? [sampling.note] : []), ...decodeNotes],
      release: () => store.destroy(),
    };
  } catch (e) {
    store.destroy();
    throw e;
  }
}

export interface WindowClip extends SampledWindow {
  index: number;
  count: number;
  clip: PreprocessedClip;
}

/**
 * Windows slid across the whole video (see slidingWindows), each decoded and preprocessed when the caller
 * asks for it. A window's clip is valid until the next one is requested: run the engine on it first.
 * Stop early with `break` or the signal; the GPU memory is freed either way.
 */
export async function* windowClips(video: VideoFile, gpu: Runtime | EngineDevice, preprocessor: PreprocessorConfig, policy: SamplingPolicy, options: ClipOptions & { maxWindows?: number } = {}): AsyncGenerator<WindowClip> {
  const windows = slidingWindows(video.info, policy, options.maxWindows);
  const store = createStore(video, gpu, preprocessor, policy.frames, ['centre'], options);
  try {
    for (const [index, window] of windows.entries()) {
      // Short videos repeat frames: decode each distinct one once.
      const distinct = [...new Set(window.timestamps)];
      await decodeFrames(video, distinct, (frame, slot) => store.upload(slot, frame), {
        signal: options.signal,
        onProgress: (done, total) => options.onProgress?.(index * policy.frames + (done / total) * policy.frames, windows.length * policy.frames),
      });
      yield { ...window, index, count: windows.length, clip: store.clip(window.timestamps.map((t) => distinct.indexOf(t)), 'centre') };
    }
  } finally {
    store.destroy();
  }
}

function createStore(video: VideoFile, gpu: Runtime | EngineDevice, preprocessor: PreprocessorConfig, slots: number, crops: SampledView['crop'][], options: ClipOptions): FrameStore {
  const { stored, name } = video.info;
  const maxSide = gpu.device.limits.maxTextureDimension2D;
  if (Math.max(stored.width, stored.height) > maxSide) {
    throw new VideoError('too-large', `${name} has ${stored.width}×${stored.height} frames; this GPU's textures are at most ${maxSide} px a side. Scale the video down first.`);
  }
  return createFrameStore(gpu, stored, video.info.rotation, preprocessor, { slots, crops, upload: options.upload });
}
