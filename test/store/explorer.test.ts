import { describe, expect, it } from 'vitest';
import { movedQuery } from '../../src/store/explorer-slice';

describe('moving the query patch with the keyboard', () => {
  // 4 frames of 3 × 5 patches; start at frame 1, row 1, col 2.
  const q = { frame: 1, patch: 1 * 5 + 2 };
  const move = (key: string, from = q) => movedQuery(from, key, 4, 3, 5);

  it('moves within the frame and across frames', () => {
    expect(move('ArrowUp')).toEqual({ frame: 1, patch: 2 });
    expect(move('ArrowDown')).toEqual({ frame: 1, patch: 12 });
    expect(move('ArrowLeft')).toEqual({ frame: 1, patch: 6 });
    expect(move('ArrowRight')).toEqual({ frame: 1, patch: 8 });
    expect(move('PageDown')).toEqual({ frame: 2, patch: 7 });
    expect(move('PageUp')).toEqual({ frame: 0, patch: 7 });
  });

  it('stops at the edges and ignores other keys', () => {
    expect(move('ArrowRight', { frame: 3, patch: 4 })).toEqual({ frame: 3, patch: 4 });
    expect(move('PageDown', { frame: 3, patch: 4 })).toEqual({ frame: 3, patch: 4 });
    expect(move('Enter')).toBeNull();
  });
});
