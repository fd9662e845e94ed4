// The browser side of e2e/video.spec.ts and e2e/bench-video.spec.ts: functions on window.videoTest that
// run the video pipeline in the page and return plain data.
import type { PreprocessorConfig } from '../../src/checkpoint/config';
import { loadModel } from '../../src/checkpoint/load';
import { urlSource } from '../../src/checkpoint/source';
import { requestEngineDevice, type EngineDevice } from '../../src/engine/device';
import { TimesformerEngine, type GpuClip } from '../../src/engine/timesformer';
import { createFrameStore, type FrameStore, type UploadPath } from '../../src/preprocess/frame-store';
import { preprocessReference, type RgbaImage } from '../../src/preprocess/reference';
import { benchVideo } from '../../src/video/bench';
import { prepareViews, windowClips } from '../../src/video/clips';
import { decodeFrames } from '../../src/video/decode';
import { VideoError } from '../../src/video/errors';
import { openVideo, type VideoFile } from '../../src/video/open';
import { frameTimestamp, policyForModel, sampleViews, type SamplingPolicy, type ViewPlan } from '../../src/video/sampling';

let device: Promise<EngineDevice> | undefined;
const gpu = () => (device ??= requestEngineDevice(navigator.gpu));

/** A clip as a user's file (BlobSource), or by URL (UrlSource). */
async function open(url: string, asFile = true): Promise<VideoFile> {
  if (!asFile) return openVideo(url);
  const blob = await (await fetch(url)).blob();
  return openVideo(new File([blob], url.split('/').pop()!));
}

async function withVideo<T>(url: string, f: (video: VideoFile) => Promise<T>): Promise<T> {
  const video = await open(url);
  try {
    return await f(video);
  } finally {
    video.dispose();
  }
}

async function readBuffer(g: EngineDevice, clip: GpuClip, floats: number): Promise<Float32Array> {
  const target = g.device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const staging = g.device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = g.device.createCommandEncoder();
    clip.encode(encoder, target);
    encoder.copyBufferToBuffer(target, 0, staging, 0, floats * 4);
    g.device.pushErrorScope('validation');
    g.device.queue.submit([encoder.finish()]);
    const error = await g.device.popErrorScope();
    if (error) throw new Error(error.message);
    await staging.mapAsync(GPUMapMode.READ);
    return new Float32Array(staging.getMappedRange().slice(0));
  } finally {
    target.destroy();
    staging.destroy();
  }
}

/** RGBA bytes of the frames at `timestamps`, as the 'copy' upload path gets them. */
async function rgbaFrames(video: VideoFile, timestamps: number[]): Promise<RgbaImage[]> {
  const distinct = [...new Set(timestamps)].sort((a, b) => a - b);
  const frames: RgbaImage[] = [];
  await decodeFrames(video, distinct, async (frame) => {
    const { width, height } = frame.visibleRect!;
    const data = new Uint8Array(width * height * 4);
    await frame.copyTo(data, { format: 'RGBA', colorSpace: 'srgb' });
    frames.push({ width, height, data });
  });
  return timestamps.map((t) => frames[distinct.indexOf(t)]);
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const api = {
  async probe(url: string, asFile = true) {
    try {
      const video = await open(url, asFile);
      video.dispose();
      return { info: video.info };
    } catch (e) {
      return { error: { name: (e as Error).name, kind: e instanceof VideoError ? e.kind : undefined, message: (e as Error).message } };
    }
  },

  /** Where the policy samples, and the timestamps of the frames the decoder returned for it. */
  async sample(url: string, policy: SamplingPolicy, plan?: ViewPlan) {
    return withVideo(url, async (video) => {
      const sampling = sampleViews(video.info, policy, plan);
      // Per timestamp, the presentation time of the frame handed over (a stand-in's where one was replaced).
      const decoded: number[] = [];
      const notes = await decodeFrames(video, sampling.timestamps, (frame, index) => void (decoded[index] = frame.timestamp / 1e6));
      return { info: video.info, sampling, decoded, notes };
    });
  },

  /** The frames at lattice `indices` (frame i's timestamp): what was handed over per index, and the notes; or the error. */
  async decodeIndices(url: string, indices: number[]) {
    return withVideo(url, async (video) => {
      const decoded: number[] = [];
      try {
        const notes = await decodeFrames(video, indices.map((i) => frameTimestamp(video.info, i)), (frame, index) => void (decoded[index] = frame.timestamp / 1e6));
        return { decoded, notes };
      } catch (e) {
        return { error: { name: (e as Error).name, kind: e instanceof VideoError ? e.kind : undefined, message: (e as Error).message } };
      }
    });
  },

  /**
   * Frames `indices` through the GPU path with nothing resized or normalized (the frames as displayed,
   * 0..255), against ffmpeg's rgb24 frames: mean and max absolute error per frame, in 0..255.
   */
  async compareWithFfmpeg(url: string, indices: number[], ffmpegRgb: string[], upload: 'auto' | UploadPath, convert: 'browser' | 'own' = 'browser') {
    const g = await gpu();
    return withVideo(url, async (video) => {
      const { width: W, height: H } = video.info;
      const store = createFrameStore(g, video.info.stored, video.info.rotation, identityConfig(video), { slots: indices.length, crops: ['centre'], upload, convert });
      try {
        await decodeFrames(video, indices.map((i) => frameTimestamp(video.info, i)), (frame, slot) => store.upload(slot, frame));
        const frames: { meanAbs: number; maxAbs: number }[] = [];
        for (const [k, base64] of ffmpegRgb.entries()) {
          const out = await readBuffer(g, store.clip([k]), 3 * H * W);
          const rgb = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          let sum = 0, max = 0;
          for (let i = 0; i < H * W; i++) {
            for (let c = 0; c < 3; c++) {
              const d = Math.abs(out[c * H * W + i] - rgb[i * 3 + c]);
              sum += d;
              max = Math.max(max, d);
            }
          }
          frames.push({ meanAbs: sum / (H * W * 3), maxAbs: max });
        }
        return { width: W, height: H, uploadPath: store.uploadPath, cpuAdapter: g.adapter.isFallback, frames };
      } finally {
        store.destroy();
      }
    });
  },

  /** Every view of the plan through a store (the GPU's: 'copy', the CPU's: 'cpu') against the CPU reference on the same bytes. */
  async storeVsReference(url: string, config: PreprocessorConfig, policy: SamplingPolicy, plan: ViewPlan, upload: 'copy' | 'cpu') {
    const g = await gpu();
    return withVideo(url, async (video) => {
      const prepared = await prepareViews(video, g, config, policy, plan, { upload });
      try {
        const views = [];
        for (const { view, clip } of prepared.views) {
          const out = await readBuffer(g, clip, clip.shape.reduce((a, b) => a * b));
          const expected = preprocessReference(await rgbaFrames(video, view.timestamps), video.info.rotation, config, view.crop);
          views.push({ crop: view.crop, shape: clip.shape, maxAbs: maxAbs(out, expected) });
        }
        return { views, note: prepared.sampling.note };
      } finally {
        prepared.release();
      }
    });
  },

  /** File → frames → GPU preprocessing → engine on the tiny model; and the engine on CPU-preprocessed pixels. */
  async classify(url: string, model = 'tiny-divided', upload: 'auto' | UploadPath = 'copy') {
    const g = await gpu();
    const loaded = await loadModel(urlSource(`/models/${model}`));
    const engine = await TimesformerEngine.create(g, loaded);
    return withVideo(url, async (video) => {
      const policy = policyForModel(model, loaded.config);
      const prepared = await prepareViews(video, g, loaded.preprocessor, policy, undefined, { upload });
      try {
        const { view, clip } = prepared.views[0];
        const request = { attention: 'none', hiddenStates: false } as const;
        const logits = (await engine.run(clip, clip.shape, request)).get('logits')!.data;
        const pixels = preprocessReference(await rgbaFrames(video, view.timestamps), video.info.rotation, loaded.preprocessor, view.crop);
        const reference = (await engine.run(pixels, clip.shape, request)).get('logits')!.data;
        const exp = Array.from(logits, (v) => Math.exp(v - Math.max(...logits)));
        const total = exp.reduce((a, b) => a + b);
        const top5 = exp.map((p, i) => ({ label: loaded.config.labels[i], probability: p / total })).sort((a, b) => b.probability - a.probability).slice(0, 5);
        return { top5, logitsMaxAbs: maxAbs(logits, reference), uploadPath: prepared.uploadPath, frameIndices: view.frameIndices, note: prepared.sampling.note };
      } finally {
        prepared.release();
      }
    });
  },

  /** Windows across the video: their ranges, and the progress reports; stops after `stopAfter` windows. */
  async windows(url: string, policy: SamplingPolicy, stopAfter = Infinity) {
    const g = await gpu();
    return withVideo(url, async (video) => {
      const controller = new AbortController();
      const progress: number[] = [];
      const windows = [];
      for await (const w of windowClips(video, g, identityConfig(video, 32), policy, { signal: controller.signal, onProgress: (done, total) => progress.push(done / total) })) {
        const out = await readBuffer(g, w.clip, w.clip.shape.reduce((a, b) => a * b));
        windows.push({ index: w.index, count: w.count, start: w.start, end: w.end, frameIndices: w.frameIndices, finite: out.every(Number.isFinite) });
        if (windows.length >= stopAfter) break;
      }
      return { windows, progress };
    });
  },

  /** Decoding is cancelled by the signal: the error, and whether the next decode still works. */
  async cancel(url: string) {
    const g = await gpu();
    return withVideo(url, async (video) => {
      const controller = new AbortController();
      let frames = 0;
      const error = await prepareViews(video, g, identityConfig(video), { kind: 'segments', frames: 16 }, undefined, {
        signal: controller.signal,
        onProgress: (done) => { frames = done; if (done === 2) controller.abort(); },
      }).then(() => null, (e: Error) => e.name);
      const again = await prepareViews(video, g, identityConfig(video), { kind: 'segments', frames: 4 });
      again.release();
      return { error, framesBeforeAbort: frames, againViews: again.views.length };
    });
  },

  /**
   * Every chunk handed to a VideoDecoder while the frames at lattice `indices` are decoded: its timestamp (µs)
   * and type, in order (to tell how many forward passes the decoder made).
   */
  async decodedChunks(url: string, indices: number[]) {
    const chunks: { timestamp: number; type: string }[] = [];
    const decode = VideoDecoder.prototype.decode;
    VideoDecoder.prototype.decode = function (chunk) {
      chunks.push({ timestamp: chunk.timestamp, type: chunk.type });
      return decode.call(this, chunk);
    };
    try {
      return await withVideo(url, async (video) => {
        const decoded: number[] = [];
        await decodeFrames(video, indices.map((i) => frameTimestamp(video.info, i)), (frame, index) => void (decoded[index] = frame.timestamp / 1e6));
        return { chunks, decoded };
      });
    } finally {
      VideoDecoder.prototype.decode = decode;
    }
  },

  /**
   * A VideoFrame whose visible rectangle starts at (x, y) of a larger coded frame (decoders and cameras make
   * such frames), through each store, against the reference on the visible pixels: max abs error per store.
   */
  async visibleRectFrame(x: number, y: number) {
    const g = await gpu();
    const coded = { width: 80, height: 60 }, visible = { width: 61, height: 43 };
    const data = new Uint8Array(coded.width * coded.height * 4);
    for (let i = 0; i < coded.width * coded.height; i++) data.set([(i % coded.width) * 3, Math.floor(i / coded.width) * 4, (i * 37) % 251, 255], i * 4);
    const shown: RgbaImage = { ...visible, data: new Uint8Array(visible.width * visible.height * 4) };
    for (let r = 0; r < visible.height; r++) shown.data.set(data.subarray(((y + r) * coded.width + x) * 4, ((y + r) * coded.width + x + visible.width) * 4), r * visible.width * 4);
    const config: PreprocessorConfig = { imageMean: [0.5, 0.5, 0.5], imageStd: [0.25, 0.25, 0.25], rescaleFactor: 1 / 255, shortestEdge: 32, cropWidth: 32, cropHeight: 32 };
    const expected = preprocessReference([shown], 0, config);
    const errors: Record<string, number> = {};
    for (const upload of ['copy', 'cpu'] as const) {
      const frame = new VideoFrame(data, { format: 'RGBA', codedWidth: coded.width, codedHeight: coded.height, visibleRect: { x, y, ...visible }, timestamp: 0 });
      const store = createFrameStore(g, visible, 0, config, { slots: 1, crops: ['centre'], upload });
      try {
        await store.upload(0, frame);
        errors[upload] = maxAbs(await readBuffer(g, store.clip([0]), expected.length), expected);
      } finally {
        frame.close();
        store.destroy();
      }
    }
    return errors;
  },

  async bench(urls: string[], runs: number) {
    const g = await gpu();
    const results = [];
    for (const url of urls) {
      for (const upload of ['auto', 'copy'] as const) results.push({ upload, ...(await benchVideo(url, g, { runs, upload })) });
    }
    return { adapter: g.adapter, results };
  },
};

/** Preprocessing that changes nothing: the frames as displayed, in 0..255 (optionally shrunk to `edge`). */
function identityConfig(video: VideoFile, edge?: number): PreprocessorConfig {
  const { width, height } = video.info;
  const short = edge ?? Math.min(width, height);
  return { imageMean: [0, 0, 0], imageStd: [1, 1, 1], rescaleFactor: 1, shortestEdge: short, cropWidth: edge ?? width, cropHeight: edge ?? height };
}

declare global {
  interface Window {
    videoTest: typeof api;
  }
}
window.videoTest = api;
