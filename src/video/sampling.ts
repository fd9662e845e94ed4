// Which frames of a video the model sees: sampling policies as the checkpoints were trained and tested.
// Pure functions of the video's timing; frames are indexed on the video's own frame-rate lattice and
// mapped to timestamps at the middle of their frame period, so that a decoder asked for "the frame shown
// at t" returns exactly that frame (and, for variable-frame-rate video, the frame shown at that time).
import type { CropPosition } from '../preprocess/geometry';

/**
 * - stride: T frames one every S frames, a clip centred in time (K400/K600 base 8×32, HR 16×16, L 96×4).
 *   The official PySlowFast loader spreads T frames over a T·S-frame window at 30 fps instead
 *   (linspace, ≈36.4 apart for 8×32); we keep the exact stride at the video's own rate.
 * - segments: the video cut into T equal segments, the middle frame of each (SSv2, TSN-style test
 *   sampling; we take the middle rather than a random frame so that results are reproducible).
 */
export type SamplingPolicy = { kind: 'stride'; frames: number; stride: number } | { kind: 'segments'; frames: number };

/** The paper's test protocol: K temporal clips × 1 or 3 spatial crops, scores averaged. */
export interface ViewPlan {
  temporalClips: number;
  spatialCrops: 1 | 3;
}

export interface VideoTiming {
  /** Seconds: first frame's timestamp and the video's length. */
  startTime: number;
  duration: number;
  /** Frames per second of the lattice frames sit on (the best guess for variable-rate video). */
  frameRate: number;
}

export interface SampledView {
  temporalClip: number;
  crop: CropPosition;
  frameIndices: number[];
  /** Seconds, one per frame: what to ask the decoder for. */
  timestamps: number[];
}

export interface Sampling {
  policy: SamplingPolicy;
  views: SampledView[];
  /** Every timestamp any view needs, sorted, each once: decode these, and share them between views. */
  timestamps: number[];
  /** Set when the video was too short for the policy and frames were spread evenly instead. */
  note?: string;
}

/** A window of a long video: its time range and the frames of its one clip. */
export interface SampledWindow {
  start: number;
  end: number;
  frameIndices: number[];
  timestamps: number[];
}

/** Frames per clip → stride of the published checkpoints; others span about 256 frames like them. */
const STRIDES: Record<number, number> = { 8: 32, 16: 16, 96: 4 };

/** The policy a checkpoint was trained with: SSv2 models by segments, Kinetics ones by their stride. */
export function policyForModel(modelId: string, config: { numFrames: number }): SamplingPolicy {
  const frames = config.numFrames;
  if (/ssv2|something[-_]?something/i.test(modelId)) return { kind: 'segments', frames };
  return { kind: 'stride', frames, stride: STRIDES[frames] ?? Math.max(1, Math.round(256 / frames)) };
}

export function frameCount(timing: VideoTiming): number {
  return Math.max(1, Math.round(timing.duration * timing.frameRate));
}

/** The middle of frame i's period: a decoder returns frame i for it. */
export function frameTimestamp(timing: VideoTiming, index: number): number {
  return timing.startTime + (index + 0.5) / timing.frameRate;
}

/** T frames spread evenly over `count` frames from `first`: the middle of each of T equal segments, shifted by `offset` ∈ (0, 1). */
function segmentIndices(first: number, count: number, T: number, offset = 0.5): number[] {
  return Array.from({ length: T }, (_, j) => first + Math.min(count - 1, Math.floor(((j + offset) * count) / T)));
}

/** Frames between the first and last sampled frame of a stride clip. */
function strideSpan(policy: { frames: number; stride: number }): number {
  return (policy.frames - 1) * policy.stride + 1;
}

export function sampleViews(timing: VideoTiming, policy: SamplingPolicy, plan: ViewPlan = { temporalClips: 1, spatialCrops: 1 }): Sampling {
  checkPolicy(policy);
  if (!Number.isInteger(plan.temporalClips) || plan.temporalClips < 1) throw new RangeError(`temporalClips must be a positive integer, got ${plan.temporalClips}`);
  const N = frameCount(timing);
  const T = policy.frames;
  const crops: CropPosition[] = plan.spatialCrops === 3 ? ['start', 'centre', 'end'] : ['centre'];
  let note: string | undefined;
  let clips: number[][];
  if (policy.kind === 'segments') {
    // K clips take frames at K evenly spread offsets inside each segment.
    clips = Array.from({ length: plan.temporalClips }, (_, k) => segmentIndices(0, N, T, (k + 0.5) / plan.temporalClips));
  } else if (N >= strideSpan(policy)) {
    // K clips centred on K equal parts of the room left around a clip (K = 1: the middle of the video).
    const room = N - strideSpan(policy);
    clips = Array.from({ length: plan.temporalClips }, (_, k) => {
      const start = Math.floor((room * (k + 0.5)) / plan.temporalClips);
      return Array.from({ length: T }, (_, j) => start + j * policy.stride);
    });
  } else {
    clips = [segmentIndices(0, N, T)];
    note = `the video has ${N} frames, fewer than the ${strideSpan(policy)} a ${T}×${policy.stride} clip spans: ${T} frames were spread evenly over the whole video${plan.temporalClips > 1 ? ', as one temporal clip' : ''}`;
  }
  const views = clips.flatMap((frameIndices, temporalClip) =>
    crops.map((crop) => ({ temporalClip, crop, frameIndices, timestamps: frameIndices.map((i) => frameTimestamp(timing, i)) })),
  );
  const timestamps = [...new Set(views.flatMap((v) => v.timestamps))].sort((a, b) => a - b);
  return { policy, views, timestamps, ...(note && { note }) };
}

/** Where a track's frames are and where its decodable ones are (seconds, on the track's own clock). */
export interface TrackSpan {
  /** The video's start, which a player shows as 0 s: the first packet's timestamp, or 0 where an edit list cuts the packets before it. */
  firstTimestamp: number;
  /** The end the container's index gives. */
  indexedEnd: number;
  /** The first keyframe: frames before it refer to frames that are not in the file. */
  firstKeyTimestamp: number;
  /** Where the packets whose data is in the file end (the indexed end unless the file is cut short). */
  dataEnd: number;
  frameRate: number;
}

/** Seconds from the video's start, as messages give them. */
export const formatSeconds = (seconds: number) => `${seconds.toFixed(2)} s`;

/**
 * The part of a track that can be sampled: from its first keyframe to the end of its data. Notes say what
 * was left out, with times from the video's start (a broadcast segment's first timestamp can be 112.7 s).
 */
export function decodableTiming(span: TrackSpan, name: string): { timing: VideoTiming; notes: string[] } {
  const { firstTimestamp: origin, dataEnd: end } = span;
  // A keyframe before the first frame shown (an edit list cuts the frames before it) opens the first frame.
  const start = Math.max(span.firstKeyTimestamp, origin);
  const notes: string[] = [];
  // Less than a frame apart: the same instant (container clocks round).
  const halfFrame = 0.5 / span.frameRate;
  if (start - origin > halfFrame) notes.push(`the first ${formatSeconds(start - origin)} of ${name} come before its first keyframe and cannot be decoded: frames were sampled from ${formatSeconds(start - origin)} on`);
  if (span.indexedEnd - end > halfFrame) notes.push(`${name} ends early, at ${formatSeconds(end - origin)} of the ${formatSeconds(span.indexedEnd - origin)} its index promises: frames were sampled from what is there`);
  return { timing: { startTime: start, duration: end - start, frameRate: span.frameRate }, notes };
}

/**
 * For frames that could not be decoded, the nearest one that was (by time; the earlier one on a tie):
 * index → index of the stand-in. `decoded[i]` says whether timestamps[i] was decoded.
 */
export function nearestDecoded(timestamps: number[], decoded: boolean[]): Map<number, number> {
  const good = timestamps.flatMap((_, i) => (decoded[i] ? [i] : []));
  const standIns = new Map<number, number>();
  if (good.length === 0) return standIns;
  timestamps.forEach((t, i) => {
    if (decoded[i]) return;
    standIns.set(i, good.reduce((best, j) => (Math.abs(timestamps[j] - t) < Math.abs(timestamps[best] - t) ? j : best)));
  });
  return standIns;
}

/** Seconds of video a segments-policy window covers (SSv2 clips are 2–6 s long). */
export const SEGMENT_WINDOW_SECONDS = 4;

/**
 * Clips slid across a long video for a timeline. A window spans one clip (stride policy) or
 * SEGMENT_WINDOW_SECONDS (segments); windows overlap by half, or less when that would make more than
 * `maxWindows`; the last window ends at the video's end.
 */
export function slidingWindows(timing: VideoTiming, policy: SamplingPolicy, maxWindows = 64): SampledWindow[] {
  checkPolicy(policy);
  if (!Number.isInteger(maxWindows) || maxWindows < 1) throw new RangeError(`maxWindows must be a positive integer, got ${maxWindows}`);
  const N = frameCount(timing);
  const T = policy.frames;
  const span = policy.kind === 'stride' ? strideSpan(policy) : Math.max(T, Math.round(SEGMENT_WINDOW_SECONDS * timing.frameRate));
  const window = (first: number, count: number): SampledWindow => {
    const frameIndices = policy.kind === 'stride' && count === span ? Array.from({ length: T }, (_, j) => first + j * policy.stride) : segmentIndices(first, count, T);
    return {
      start: timing.startTime + first / timing.frameRate,
      end: timing.startTime + (first + count) / timing.frameRate,
      frameIndices,
      timestamps: frameIndices.map((i) => frameTimestamp(timing, i)),
    };
  };
  if (N <= span) return [window(0, N)];
  const hop = Math.max(Math.ceil(span / 2), maxWindows > 1 ? Math.ceil((N - span) / (maxWindows - 1)) : N);
  const starts: number[] = [];
  for (let s = 0; s + span <= N && starts.length < maxWindows; s += hop) starts.push(s);
  if (starts[starts.length - 1] + span < N) {
    if (starts.length === maxWindows) starts.pop();
    starts.push(N - span);
  }
  return starts.map((s) => window(s, span));
}

function checkPolicy(policy: SamplingPolicy) {
  if (!Number.isInteger(policy.frames) || policy.frames < 1) throw new RangeError(`a sampling policy needs a positive whole number of frames, got ${policy.frames}`);
  if (policy.kind === 'stride' && (!Number.isInteger(policy.stride) || policy.stride < 1)) throw new RangeError(`stride must be a positive integer, got ${policy.stride}`);
}
