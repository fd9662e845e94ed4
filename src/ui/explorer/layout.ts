// Where tiles go on an explorer canvas: rows (one per head, or one) of T frame tiles, wrapped to at most
// `maxCols` frames per line, each line under a band for frame labels, rows labelled on the left.
// Pure, so that drawing and hit-testing agree by construction.

export interface TileLayout {
  frames: number;
  rows: number;
  tile: number;
  cols: number;
  /** Lines per row (frames wrap after `cols`). */
  lines: number;
  gap: number;
  /** Height of the frame-label band above each line. */
  band: number;
  /** Width of the row-label gutter (0 without row labels). */
  left: number;
  width: number;
  height: number;
}

export function tileLayout(frames: number, rows: number, opts: { tile?: number; maxCols?: number; rowLabels?: boolean } = {}): TileLayout {
  const tile = opts.tile ?? 144;
  const cols = Math.min(frames, opts.maxCols ?? 8);
  const lines = Math.ceil(frames / cols);
  const gap = 6;
  const band = 18;
  const left = opts.rowLabels ? 64 : 0;
  const rowHeight = lines * (band + tile + gap);
  return { frames, rows, tile, cols, lines, gap, band, left, width: left + cols * (tile + gap) - gap, height: rows * rowHeight - gap };
}

/** Top-left corner of the tile of `frame` in `row`. */
export function tileOrigin(l: TileLayout, row: number, frame: number): { x: number; y: number } {
  const line = Math.floor(frame / l.cols);
  const col = frame % l.cols;
  const y = row * l.lines * (l.band + l.tile + l.gap) + line * (l.band + l.tile + l.gap) + l.band;
  return { x: l.left + col * (l.tile + l.gap), y };
}

/** The tile under canvas point (x, y) and the position inside it (u, v in 0..1), or null between tiles. */
export function hitTile(l: TileLayout, x: number, y: number): { row: number; frame: number; u: number; v: number } | null {
  const lineHeight = l.band + l.tile + l.gap;
  const lineIndex = Math.floor(y / lineHeight);
  const row = Math.floor(lineIndex / l.lines);
  const col = Math.floor((x - l.left) / (l.tile + l.gap));
  const frame = (lineIndex % l.lines) * l.cols + col;
  if (x < l.left || row >= l.rows || col >= l.cols || frame >= l.frames) return null;
  const origin = tileOrigin(l, row, frame);
  const u = (x - origin.x) / l.tile;
  const v = (y - origin.y) / l.tile;
  return u >= 0 && u < 1 && v >= 0 && v < 1 ? { row, frame, u, v } : null;
}

/** Patch index under tile position (u, v) on a gh × gw grid. */
export function patchAt(u: number, v: number, gh: number, gw: number): number {
  return Math.min(gh - 1, Math.floor(v * gh)) * gw + Math.min(gw - 1, Math.floor(u * gw));
}
