// The attention schemes compared in the TimeSformer paper (fig. 2 and 3, table 1): which keys one query
// patch attends to. Pure functions of the token grid, drawn by the explorer over the real frames.
//
// Dimension key: T frames, gh × gw patch grid, N = gh·gw, patch p = row·gw + col. Every scheme also
// attends to the CLS token, which has no place on a frame and is left out here.

export type Scheme = 'space' | 'joint' | 'divided' | 'sparse' | 'axial';

export interface SchemeInfo {
  id: Scheme;
  name: string;
  /** How the paper names it (table 1). */
  paper: string;
  description: string;
}

export const SCHEMES: SchemeInfo[] = [
  { id: 'space', name: 'Space only', paper: 'S', description: 'Each patch attends to the patches of its own frame; frames never see each other (a per-frame ViT, scores averaged).' },
  { id: 'joint', name: 'Joint space-time', paper: 'ST', description: 'Each patch attends to every patch of every frame: T·N keys per query, quadratic in the clip length.' },
  { id: 'divided', name: 'Divided space-time', paper: 'T+S', description: "TimeSformer's choice: first the same patch in every frame (time), then every patch of the query's frame (space), with separate weights." },
  { id: 'sparse', name: 'Sparse local-global', paper: 'L+G', description: 'First a local window (all frames, a quarter of the frame around the patch), then a sparse global pass with a stride of 2 in time, height and width.' },
  { id: 'axial', name: 'Axial', paper: 'T+W+H', description: 'Three passes along one axis each: the same patch over time, then its row (width), then its column (height).' },
];

export interface Query {
  frame: number;
  patch: number;
}

/** One attention step of a scheme and the keys it reads: mask[t·N + p] = 1 when (p, t) is a key. */
export interface AttendedStage {
  label: string;
  mask: Uint8Array;
  count: number;
}

/** The keys `query` attends to under `scheme`, one entry per attention step (in the order they run). */
export function attendedKeys(scheme: Scheme, query: Query, T: number, gh: number, gw: number): AttendedStage[] {
  const N = gh * gw;
  if (!(query.frame >= 0 && query.frame < T && query.patch >= 0 && query.patch < N)) {
    throw new RangeError(`attendedKeys: query (frame ${query.frame}, patch ${query.patch}) is outside ${T} frames × ${gh}×${gw} patches`);
  }
  const qRow = Math.floor(query.patch / gw);
  const qCol = query.patch % gw;
  const stage = (label: string, keep: (t: number, row: number, col: number) => boolean): AttendedStage => {
    const mask = new Uint8Array(T * N);
    let count = 0;
    for (let t = 0; t < T; t++) {
      for (let row = 0; row < gh; row++) {
        for (let col = 0; col < gw; col++) {
          if (keep(t, row, col)) {
            mask[t * N + row * gw + col] = 1;
            count++;
          }
        }
      }
    }
    return { label, mask, count };
  };
  const sameFrame = (t: number) => t === query.frame;
  const samePatch = (row: number, col: number) => row === qRow && col === qCol;

  switch (scheme) {
    case 'space':
      return [stage('space', (t) => sameFrame(t))];
    case 'joint':
      return [stage('space-time', () => true)];
    case 'divided':
      return [stage('time', (_t, row, col) => samePatch(row, col)), stage('space', (t) => sameFrame(t))];
    case 'axial':
      return [
        stage('time', (_t, row, col) => samePatch(row, col)),
        stage('width', (t, row) => sameFrame(t) && row === qRow),
        stage('height', (t, _row, col) => sameFrame(t) && col === qCol),
      ];
    case 'sparse': {
      // Local: a window of ⌈gh/2⌉ × ⌈gw/2⌉ patches around the query (moved inward at the borders), in
      // every frame. Global: every second frame, row and column, on the query's own lattice.
      const rows = window1d(qRow, Math.ceil(gh / 2), gh);
      const cols = window1d(qCol, Math.ceil(gw / 2), gw);
      const even = (a: number, b: number) => (a - b) % 2 === 0;
      return [
        stage('local', (_t, row, col) => row >= rows.start && row < rows.end && col >= cols.start && col < cols.end),
        stage('global', (t, row, col) => even(t, query.frame) && even(row, qRow) && even(col, qCol)),
      ];
    }
  }
}

/** A run of `size` cells of `0..length` centred on `at`, shifted to fit. */
function window1d(at: number, size: number, length: number): { start: number; end: number } {
  const start = Math.max(0, Math.min(length - size, at - Math.floor((size - 1) / 2)));
  return { start, end: start + size };
}

/** Keys read over all stages (the query itself once per stage): the attention cost per query. */
export function keyCount(stages: AttendedStage[]): number {
  return stages.reduce((sum, s) => sum + s.count, 0);
}
