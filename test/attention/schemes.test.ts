import { describe, expect, it } from 'vitest';
import { attendedKeys, keyCount, SCHEMES, type Scheme } from '../../src/attention/schemes';

const T = 8;
const gh = 14;
const gw = 14;
const N = gh * gw;
const at = (t: number, row: number, col: number) => t * N + row * gw + col;
/** Query: frame 3, row 5, col 6. */
const query = { frame: 3, patch: 5 * gw + 6 };
const keys = (scheme: Scheme) => attendedKeys(scheme, query, T, gh, gw);

describe('attendedKeys', () => {
  it('space only: the whole frame of the query, nothing else', () => {
    const [space] = keys('space');
    expect(space.count).toBe(N);
    expect(space.mask[at(3, 0, 0)]).toBe(1);
    expect(space.mask[at(2, 5, 6)]).toBe(0);
  });

  it('joint: every patch of every frame', () => {
    const [all] = keys('joint');
    expect(all.count).toBe(T * N);
  });

  it('divided: the same patch over time, then the query frame', () => {
    const [time, space] = keys('divided');
    expect(time.label).toBe('time');
    expect(time.count).toBe(T);
    for (let t = 0; t < T; t++) expect(time.mask[at(t, 5, 6)]).toBe(1);
    expect(time.mask[at(3, 5, 7)]).toBe(0);
    expect(space.count).toBe(N);
    // The paper's cost argument: T + N keys per query instead of T·N.
    expect(keyCount(keys('divided'))).toBe(T + N);
  });

  it('axial: time, then the row, then the column', () => {
    const [time, width, height] = keys('axial');
    expect([time.count, width.count, height.count]).toEqual([T, gw, gh]);
    expect(width.mask[at(3, 5, 0)]).toBe(1);
    expect(width.mask[at(3, 4, 6)]).toBe(0);
    expect(height.mask[at(3, 0, 6)]).toBe(1);
    expect(height.mask[at(4, 0, 6)]).toBe(0);
  });

  it('sparse local-global: a half-size window in every frame, then a stride-2 lattice through the query', () => {
    const [local, global] = keys('sparse');
    expect(local.count).toBe(T * 7 * 7);
    expect(local.mask[at(0, 2, 3)]).toBe(1); // window rows 2..8, cols 3..9
    expect(local.mask[at(0, 8, 9)]).toBe(1);
    expect(local.mask[at(0, 9, 9)]).toBe(0);
    expect(global.mask[at(3, 5, 6)]).toBe(1);
    expect(global.mask[at(1, 1, 0)]).toBe(1);
    expect(global.mask[at(2, 5, 6)]).toBe(0);
    expect(global.count).toBe(4 * 7 * 7);
  });

  it('keeps windows inside the grid at the borders and on odd sizes', () => {
    const [local] = attendedKeys('sparse', { frame: 0, patch: 0 }, 3, 5, 3);
    // ⌈5/2⌉ × ⌈3/2⌉ = 3 × 2 window at the top-left corner.
    expect(local.count).toBe(3 * 3 * 2);
    expect(local.mask[2 * 3 + 1]).toBe(1);
    expect(local.mask[3 * 3]).toBe(0);
  });

  it('always includes the query, for every scheme', () => {
    for (const { id } of SCHEMES) {
      const stages = keys(id);
      expect(stages.some((s) => s.mask[at(3, 5, 6)] === 1), id).toBe(true);
    }
  });

  it('rejects a query outside the grid', () => {
    expect(() => attendedKeys('space', { frame: 8, patch: 0 }, T, gh, gw)).toThrow(/outside/);
    expect(() => attendedKeys('space', { frame: 0, patch: N }, T, gh, gw)).toThrow(/outside/);
  });
});
