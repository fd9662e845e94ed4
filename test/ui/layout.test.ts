import { describe, expect, it } from 'vitest';
import { hitTile, patchAt, tileLayout, tileOrigin } from '../../src/ui/explorer/layout';

describe('explorer tile layout', () => {
  it('wraps frames into lines and stacks rows', () => {
    const l = tileLayout(12, 2, { tile: 100, maxCols: 8, rowLabels: true });
    expect(l.cols).toBe(8);
    expect(l.lines).toBe(2);
    expect(l.width).toBe(64 + 8 * 106 - 6);
    expect(tileOrigin(l, 0, 9)).toEqual({ x: 64 + 106, y: 124 + 18 });
    expect(tileOrigin(l, 1, 0).y).toBe(2 * 124 + 18);
  });

  it('finds the tile and the point inside it, for every tile', () => {
    const l = tileLayout(5, 3, { tile: 50, maxCols: 4 });
    for (let row = 0; row < 3; row++) {
      for (let frame = 0; frame < 5; frame++) {
        const o = tileOrigin(l, row, frame);
        expect(hitTile(l, o.x + 10, o.y + 40)).toEqual({ row, frame, u: 0.2, v: 0.8 });
      }
    }
  });

  it('returns null on labels, gaps and empty slots', () => {
    const l = tileLayout(5, 1, { tile: 50, maxCols: 4, rowLabels: true });
    expect(hitTile(l, 10, 30)).toBeNull(); // row-label gutter
    expect(hitTile(l, 70, 5)).toBeNull(); // frame-label band
    expect(hitTile(l, 64 + 52, 30)).toBeNull(); // gap between tiles
    const lastLine = tileOrigin(l, 0, 4).y;
    expect(hitTile(l, 64 + 56 + 10, lastLine + 10)).toBeNull(); // slot after the last frame
  });

  it('maps a point to its patch', () => {
    expect(patchAt(0, 0, 14, 14)).toBe(0);
    expect(patchAt(0.99, 0.99, 14, 14)).toBe(195);
    expect(patchAt(0.5, 0.25, 4, 4)).toBe(1 * 4 + 2);
  });
});
