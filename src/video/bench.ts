// Time to turn a video into the model's input: open + sample + decode + GPU preprocess of one 8-frame
// clip (8×32 stride policy, 224 px centre crop), until the GPU has finished. DOM-free: runs in a page or
// a worker; e2e/bench-video.spec.ts runs it in Chromium.
import type { PreprocessorConfig } from '../checkpoint/config';
import type { EngineDevice } from '../engine/device';
import { Runtime } from '../engine/runtime';
import type { UploadPath } from '../preprocess/frame-store';
import { prepareViews } from './clips';
import { decodeFrames } from './decode';
import { openVideo, type VideoSource } from './open';
import { sampleViews } from './sampling';

export interface VideoBenchResult {
  video: string;
  width: number;
  height: number;
  codec: string;
  frames: number;
  runs: number;
  /** Milliseconds per clip, after one warm-up run (shader compilation). */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Medians of the stages: open (probe), decode + upload + resize submitted, GPU finished (normalize included). */
  stagesMs: { open: number; decodeUpload: number; gpu: number };
  /** Median of open + decoding the same frames alone (each closed at once), in the same run: the codec's own time. */
  decodeOnlyMs: number;
  uploadPath: UploadPath | undefined;
}

/** The facebook/timesformer-base checkpoints' preprocessing. */
const BASE_PREPROCESSOR: PreprocessorConfig = { imageMean: [0.45, 0.45, 0.45], imageStd: [0.225, 0.225, 0.225], shortestEdge: 224, cropHeight: 224, cropWidth: 224, rescaleFactor: 1 / 255 };

export async function benchVideo(source: VideoSource, gpu: EngineDevice, options: { runs?: number; upload?: 'auto' | UploadPath } = {}): Promise<VideoBenchResult> {
  const runs = options.runs ?? 5;
  const { device } = gpu;
  // One Runtime for every run, as the app keeps one per device: the warm-up run compiles the kernels.
  const rt = new Runtime(gpu);
  const target = device.createBuffer({ label: 'bench pixels', size: 8 * 3 * 224 * 224 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const times: number[] = [];
  const stages = { open: [] as number[], decodeUpload: [] as number[], gpu: [] as number[] };
  const decodeOnly: number[] = [];
  const policy = { kind: 'stride', frames: 8, stride: 32 } as const;
  let last: Omit<VideoBenchResult, 'runs' | 'medianMs' | 'minMs' | 'maxMs' | 'stagesMs' | 'decodeOnlyMs'> | undefined;
  try {
    for (let run = 0; run <= runs; run++) {
      const start = performance.now();
      const video = await openVideo(source);
      const opened = performance.now();
      try {
        const prepared = await prepareViews(video, rt, BASE_PREPROCESSOR, policy, undefined, { upload: options.upload });
        const decoded = performance.now();
        try {
          const encoder = device.createCommandEncoder();
          prepared.views[0].clip.encode(encoder, target);
          device.queue.submit([encoder.finish()]);
          await device.queue.onSubmittedWorkDone();
        } finally {
          prepared.release();
        }
        const end = performance.now();
        if (run > 0) {
          times.push(end - start);
          stages.open.push(opened - start);
          stages.decodeUpload.push(decoded - opened);
          stages.gpu.push(end - decoded);
        }
        const { info } = video;
        last = { video: info.name, width: info.width, height: info.height, codec: info.codec, frames: 8, uploadPath: prepared.uploadPath };
      } finally {
        video.dispose();
      }
      // The same frames decoded alone, from a fresh open as above.
      const t0 = performance.now();
      using alone = await openVideo(source);
      await decodeFrames(alone, sampleViews(alone.info, policy).timestamps, () => {});
      if (run > 0) decodeOnly.push(performance.now() - t0);
    }
  } finally {
    target.destroy();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    ...last!,
    runs,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    stagesMs: { open: median(stages.open), decodeUpload: median(stages.decodeUpload), gpu: median(stages.gpu) },
    decodeOnlyMs: median(decodeOnly),
  };
}
