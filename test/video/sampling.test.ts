import { describe, expect, it } from 'vitest';
import { decodableTiming, frameTimestamp, nearestDecoded, policyForModel, sampleViews, slidingWindows, type VideoTiming } from '../../src/video/sampling';

const video = (seconds: number, fps = 30): VideoTiming => ({ startTime: 0, duration: seconds, frameRate: fps });

describe('policyForModel', () => {
  it('follows the published checkpoints', () => {
    expect(policyForModel('facebook/timesformer-base-finetuned-k400', { numFrames: 8 })).toEqual({ kind: 'stride', frames: 8, stride: 32 });
    expect(policyForModel('facebook/timesformer-hr-finetuned-k600', { numFrames: 16 })).toEqual({ kind: 'stride', frames: 16, stride: 16 });
    expect(policyForModel('fcakyon/timesformer-large-finetuned-k400', { numFrames: 96 })).toEqual({ kind: 'stride', frames: 96, stride: 4 });
    expect(policyForModel('facebook/timesformer-base-finetuned-ssv2', { numFrames: 8 })).toEqual({ kind: 'segments', frames: 8 });
    expect(policyForModel('tiny-divided', { numFrames: 4 })).toEqual({ kind: 'stride', frames: 4, stride: 64 });
  });
});

describe('sampleViews', () => {
  it('centres a stride clip in a long enough video', () => {
    // 10 s at 30 fps = 300 frames; 8×32 spans 225 frames; 75 frames of room → start 37.
    const s = sampleViews(video(10), { kind: 'stride', frames: 8, stride: 32 });
    expect(s.views).toHaveLength(1);
    expect(s.views[0].frameIndices).toEqual([37, 69, 101, 133, 165, 197, 229, 261]);
    expect(s.views[0].timestamps[0]).toBeCloseTo(37.5 / 30, 12);
    expect(s.note).toBeUndefined();
  });

  it('spreads frames evenly over a short video and says so', () => {
    const s = sampleViews(video(3), { kind: 'stride', frames: 8, stride: 32 }, { temporalClips: 3, spatialCrops: 1 });
    expect(s.views).toHaveLength(1);
    expect(s.views[0].frameIndices).toEqual([5, 16, 28, 39, 50, 61, 73, 84]);
    expect(s.note).toMatch(/90 frames, fewer than the 225 .* spread evenly/);
  });

  it('takes the middle frame of each segment (SSv2)', () => {
    const s = sampleViews(video(4), { kind: 'segments', frames: 8 });
    expect(s.views[0].frameIndices).toEqual([7, 22, 37, 52, 67, 82, 97, 112]);
  });

  it('makes K temporal clips × 3 crops that share their frames', () => {
    const s = sampleViews(video(20), { kind: 'stride', frames: 8, stride: 32 }, { temporalClips: 2, spatialCrops: 3 });
    expect(s.views.map((v) => `${v.temporalClip}:${v.crop}`)).toEqual(['0:start', '0:centre', '0:end', '1:start', '1:centre', '1:end']);
    // 600 frames, 375 of room: starts 93 and 281.
    expect(s.views[0].frameIndices[0]).toBe(93);
    expect(s.views[3].frameIndices[0]).toBe(281);
    expect(s.timestamps).toHaveLength(16);
    expect([...s.timestamps].sort((a, b) => a - b)).toEqual(s.timestamps);
  });

  it('keeps frames inside a video shorter than a clip has frames', () => {
    const s = sampleViews(video(0.1), { kind: 'segments', frames: 8 });
    expect(s.views[0].frameIndices).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    expect(s.timestamps).toHaveLength(3);
  });

  it('maps frames to the middle of their period, after the start time', () => {
    expect(frameTimestamp({ startTime: 1, duration: 2, frameRate: 25 }, 10)).toBeCloseTo(1.42, 12);
  });

  it('refuses a bad policy', () => {
    expect(() => sampleViews(video(1), { kind: 'stride', frames: 0, stride: 4 })).toThrow(/positive whole number of frames/);
    expect(() => sampleViews(video(1), { kind: 'stride', frames: 8, stride: 1.5 })).toThrow(/stride/);
  });
});

describe('slidingWindows', () => {
  it('covers a long video with half-overlapping clips, the last one ending at the end', () => {
    // 60 s = 1800 frames; a 4×64 clip spans 193 frames; hop 97.
    const w = slidingWindows(video(60), { kind: 'stride', frames: 4, stride: 64 });
    expect(w[0].frameIndices).toEqual([0, 64, 128, 192]);
    expect(w[1].frameIndices[0]).toBe(97);
    expect(w[w.length - 1].end).toBeCloseTo(60, 9);
    expect(w[w.length - 1].frameIndices[3]).toBe(1799);
    for (let i = 1; i < w.length; i++) expect(w[i].start).toBeGreaterThan(w[i - 1].start);
  });

  it('widens the hop to stay within maxWindows', () => {
    const w = slidingWindows(video(3600), { kind: 'stride', frames: 8, stride: 32 }, 10);
    expect(w).toHaveLength(10);
    expect(w[0].start).toBe(0);
    expect(w[9].end).toBeCloseTo(3600, 6);
  });

  it('gives one window for a short video, and 4 s windows for segments', () => {
    expect(slidingWindows(video(2), { kind: 'stride', frames: 8, stride: 32 })).toHaveLength(1);
    const w = slidingWindows(video(12), { kind: 'segments', frames: 8 });
    expect(w[0].end - w[0].start).toBeCloseTo(4, 9);
    expect(w).toHaveLength(5);
  });
});

describe('decodableTiming', () => {
  const span = { firstTimestamp: 0, indexedEnd: 3, firstKeyTimestamp: 0, dataEnd: 3, frameRate: 30 };

  it('leaves a whole, key-first video as it is, without notes', () => {
    expect(decodableTiming(span, 'a.mp4')).toEqual({ timing: { startTime: 0, duration: 3, frameRate: 30 }, notes: [] });
    // Container clocks round: a keyframe less than half a frame after the first packet is the first frame.
    expect(decodableTiming({ ...span, firstTimestamp: 10, firstKeyTimestamp: 10.01, indexedEnd: 13, dataEnd: 13 }, 'a.mp4').notes).toEqual([]);
  });

  it('starts at the first keyframe, and gives times from the video start (a broadcast segment at 112.7 s)', () => {
    const r = decodableTiming({ firstTimestamp: 112.7, firstKeyTimestamp: 114.7, indexedEnd: 115.33, dataEnd: 115.33, frameRate: 30 }, 'seg.ts');
    expect(r.timing.startTime).toBe(114.7);
    expect(r.timing.duration).toBeCloseTo(0.63, 9);
    expect(r.notes).toEqual(['the first 2.00 s of seg.ts come before its first keyframe and cannot be decoded: frames were sampled from 2.00 s on']);
    // Sampling stays inside the decodable part.
    const s = sampleViews(r.timing, { kind: 'segments', frames: 8 });
    expect(Math.min(...s.timestamps)).toBeGreaterThan(114.7);
    expect(Math.max(...s.timestamps)).toBeLessThan(115.33);
  });

  it('ends where the data ends when the file is cut short of its index', () => {
    const r = decodableTiming({ ...span, indexedEnd: 35, dataEnd: 0.5 }, 'cut.mp4');
    expect(r.timing).toEqual({ startTime: 0, duration: 0.5, frameRate: 30 });
    expect(r.notes).toEqual(['cut.mp4 ends early, at 0.50 s of the 35.00 s its index promises: frames were sampled from what is there']);
  });
});

describe('nearestDecoded', () => {
  it('stands the nearest decoded frame in for each one that failed, the earlier on a tie', () => {
    const t = [0, 1, 2, 3, 4, 5, 6];
    expect(nearestDecoded(t, [true, false, false, true, false, false, true])).toEqual(
      new Map([
        [1, 0],
        [2, 3],
        [4, 3],
        [5, 6],
      ]),
    );
    expect(nearestDecoded([0, 1, 2.5, 3], [true, false, false, true])).toEqual(new Map([[1, 0], [2, 3]]));
    expect(nearestDecoded(t, t.map(() => true))).toEqual(new Map());
    expect(nearestDecoded([0, 1], [false, false])).toEqual(new Map());
  });
});
