import { describe, expect, it } from 'vitest';
import { rolloutChoices, rolloutFrames } from '../../src/attention/rollout';
import { randomMaps } from './maps';

describe('rollout slices', () => {
  // 2 layers, 3 frames, a 1×2 grid: engine layout [L, 1 + N·T], token 1 + p·T + t.
  const maps = randomMaps(2, 3, 1, 1, 2, 1);
  const size = 1 + 2 * 3;
  const layers = Float32Array.from({ length: 2 * size }, (_, i) => i);
  maps.rollouts = [
    { fusion: 'max', discard: 0.9, layers: layers.map((v) => -v) },
    { fusion: 'mean', discard: 0, layers },
  ];

  it('regroups the token order (p, t) into frames', () => {
    const r = rolloutFrames(maps, false, 'mean', 0, 1)!;
    expect(r.cls).toBe(size);
    // frame t, patch p ← token 1 + p·T + t of layer 1
    expect(r.frames.map((f) => Array.from(f))).toEqual([0, 1, 2].map((t) => [0, 1].map((p) => size + 1 + p * 3 + t)));
    expect(rolloutFrames(maps, false, 'max', 0.9, 0)!.frames[2][1]).toBe(-(1 + 3 + 2));
    expect(rolloutFrames(maps, false, 'min', 0, 0)).toBeUndefined();
  });

  it('averages space-only frames ([L, T, 1+N], one CLS per frame)', () => {
    const perFrame = { ...maps, rollouts: [{ fusion: 'mean' as const, discard: 0, layers: Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i) }] };
    const r = rolloutFrames(perFrame, true, 'mean', 0, 0)!;
    expect(r.cls).toBeCloseTo((0 + 3 + 6) / 3, 6);
    expect(Array.from(r.frames[1])).toEqual([4 / 3, 5 / 3].map(Math.fround));
  });

  it('lists what was computed, and checks its arguments', () => {
    expect(rolloutChoices(maps)).toEqual({ fusions: ['max', 'mean'], discards: [0, 0.9] });
    expect(() => rolloutFrames(maps, false, 'mean', 0, 2)).toThrow(/outside 0..1/);
    expect(() => rolloutFrames({ ...maps, frames: 4 }, false, 'mean', 0, 0)).toThrow(/expected L·9/);
  });
});
