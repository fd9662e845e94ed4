import { describe, expect, it } from 'vitest';
import { progressed, PROGRESS_INTERVAL_MS } from '../../src/store/progress';

describe('progress', () => {
  it('measures rate and ETA from the first sample of a stage', () => {
    const a = progressed(null, { stage: 'download', done: 0, total: 3000 }, 1000)!;
    expect(a.rate).toBeUndefined();
    const b = progressed(a, { stage: 'download', done: 1000, total: 3000 }, 2000)!;
    expect(b.rate).toBe(1000);
    expect(b.eta).toBe(2);
  });

  it('skips samples that come faster than the UI needs, but never the last one', () => {
    const a = progressed(null, { stage: 'download', done: 0, total: 100 }, 0)!;
    expect(progressed(a, { stage: 'download', done: 10, total: 100 }, PROGRESS_INTERVAL_MS - 1)).toBeNull();
    expect(progressed(a, { stage: 'download', done: 100, total: 100 }, 1)).not.toBeNull();
    expect(progressed(a, { stage: 'parse', done: 0 }, 1)).not.toBeNull();
  });

  it('starts over when the next file begins', () => {
    const a = progressed(null, { stage: 'download', done: 0, total: 100, detail: 'config.json' }, 0)!;
    const b = progressed(a, { stage: 'download', done: 50, total: 5000, detail: 'model.safetensors' }, 500)!;
    expect(b.since).toEqual({ at: 500, done: 50 });
    expect(b.rate).toBeUndefined();
  });
});
