// What the explorer views draw from: the result's frames and maps when there is one, and the model's
// geometry (frames, patch grid, layers, heads) otherwise.
import { useMemo } from 'react';
import { checkMaps } from '../../attention/maps';
import { useModelState, useResult } from '../../store';
import type { AttentionMaps } from '../../model/attention-maps';
import type { ModelInfo } from '../../worker/protocol';

export interface ExplorerData {
  info: ModelInfo;
  maps?: AttentionMaps;
  frames?: ImageBitmap[];
  timestamps?: number[];
  T: number;
  grid: [number, number];
  layers: number;
  heads: number;
}

export function useExplorerData(): ExplorerData | undefined {
  const { info } = useModelState('info');
  const result = useResult();
  return useMemo(() => {
    if (!info) return undefined;
    const maps = result?.attention;
    if (maps) checkMaps(maps);
    const side = info.imageSize / info.patchSize;
    return {
      info,
      maps,
      frames: result?.frames,
      timestamps: result?.timestamps,
      T: maps?.frames ?? result?.frames.length ?? info.frames,
      grid: maps?.grid ?? [side, side],
      layers: maps?.layers ?? info.layers,
      heads: maps?.heads ?? info.heads,
    };
  }, [info, result]);
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
