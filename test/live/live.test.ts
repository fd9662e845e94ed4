// Live mode's pure parts: EMA smoothing, clips/s and latency, the prediction log's JSON and CSV, the
// sampling window; and the live slice's handling of results with a fake session.
import { describe, expect, it } from 'vitest';
import { cameraError } from '../../src/live/errors';
import { PredictionLog } from '../../src/live/log';
import { ProbabilitySmoother } from '../../src/live/smoothing';
import { LiveMeter } from '../../src/live/stats';
import { windowSeconds } from '../../src/live/window';

describe('live smoothing', () => {
  it('is an exponential moving average, the first result as it is, α = 1 the raw result', () => {
    const s = new ProbabilitySmoother(0.25);
    expect(Array.from(s.update(new Float32Array([1, 0])))).toEqual([1, 0]);
    expect(Array.from(s.update(new Float32Array([0, 1])))).toEqual([0.75, 0.25]);
    expect(Array.from(s.update(new Float32Array([0, 1])))).toEqual([0.5625, 0.4375]);
    s.setFactor(1);
    expect(Array.from(s.update(new Float32Array([0.2, 0.8])))).toEqual([expect.closeTo(0.2, 6), expect.closeTo(0.8, 6)]);
    expect(() => s.setFactor(0)).toThrow(/\(0, 1\]/);
    s.reset();
    expect(Array.from(s.update(new Float32Array([0, 1])))).toEqual([0, 1]);
  });
});

describe('live meter', () => {
  it('counts clips per second over its span and averages the latency of the last clips', () => {
    const m = new LiveMeter(3000, 2);
    expect(m.clipsPerSecond(0)).toBe(0);
    expect(m.latencyMs()).toBeNull();
    // A clip every 250 ms, each shown 100, 200, 300 ms after its newest frame.
    m.clipShown(1000, 900);
    m.clipShown(1250, 1050);
    m.clipShown(1500, 1200);
    expect(m.clipsPerSecond(1500)).toBeCloseTo(4, 6);
    expect(m.latencyMs()).toBe(250);
    // Long after: the old clips are out of the span.
    m.clipShown(9000, 8950);
    expect(m.clipsPerSecond(9000)).toBe(0);
  });
});

describe('prediction log', () => {
  const entry = (i: number) => ({ time: Date.UTC(2026, 0, 1, 0, 0, i), elapsedMs: i * 1000, latencyMs: 120 + i, top: [{ index: 3, label: 'playing "cello", solo', prob: 0.5 }, { index: 1, label: 'dancing', prob: 0.25 }] });

  it('writes JSON and CSV (labels with commas and quotes quoted)', () => {
    const log = new PredictionLog();
    log.add(entry(0));
    log.add(entry(1));
    const json = JSON.parse(log.toJSON());
    expect(json).toHaveLength(2);
    expect(json[1]).toMatchObject({ time: '2026-01-01T00:00:01.000Z', elapsedMs: 1000, latencyMs: 121, top: [{ label: 'playing "cello", solo', prob: 0.5 }, { label: 'dancing' }] });
    expect(log.toCSV().split('\n')).toEqual([
      'time,elapsed_ms,latency_ms,label_1,prob_1,label_2,prob_2',
      '2026-01-01T00:00:00.000Z,0,120,"playing ""cello"", solo",0.500000,dancing,0.250000',
      '2026-01-01T00:00:01.000Z,1000,121,"playing ""cello"", solo",0.500000,dancing,0.250000',
      '',
    ]);
  });

  it('keeps at most its limit, dropping the oldest', () => {
    const log = new PredictionLog(3);
    for (let i = 0; i < 5; i++) log.add(entry(i));
    expect(log.length).toBe(3);
    expect(JSON.parse(log.toJSON()).map((e: { elapsedMs: number }) => e.elapsedMs)).toEqual([2000, 3000, 4000]);
  });
});

describe('live window', () => {
  it('is 2 s, 4 s, or the checkpoint’s span at the source’s frame rate', () => {
    expect(windowSeconds('2s', { id: 'facebook/timesformer-base-finetuned-k400', frames: 8 }, 30)).toBe(2);
    expect(windowSeconds('4s', { id: 'x', frames: 8 }, 30)).toBe(4);
    // Base K400: 8 frames one every 32 = 256 frames.
    expect(windowSeconds('as-trained', { id: 'facebook/timesformer-base-finetuned-k400', frames: 8 }, 30)).toBeCloseTo(256 / 30, 6);
    expect(windowSeconds('as-trained', { id: 'facebook/timesformer-hr-finetuned-k400', frames: 16 }, 25)).toBeCloseTo(256 / 25, 6);
    expect(windowSeconds('as-trained', { id: 'facebook/timesformer-base-finetuned-ssv2', frames: 8 }, 30)).toBe(4);
  });
});

describe('camera errors', () => {
  it('tell denied, missing and busy cameras apart', () => {
    const kind = (name: string) => cameraError(new DOMException('from getUserMedia', name));
    expect(kind('NotAllowedError')).toMatchObject({ kind: 'permission', message: 'Camera permission was denied.' });
    expect(kind('NotFoundError').kind).toBe('no-camera');
    expect(kind('OverconstrainedError').kind).toBe('no-camera');
    expect(kind('NotReadableError')).toMatchObject({ kind: 'in-use', message: expect.stringMatching(/in use by another application/) });
    expect(cameraError(new TypeError('bad constraints'))).toMatchObject({ kind: 'unsupported', message: expect.stringContaining('bad constraints') });
  });
});
