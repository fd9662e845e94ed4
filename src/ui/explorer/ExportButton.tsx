import type { RefObject } from 'react';
import { exportPng, type LegendSpec } from './export';

export function ExportButton({ canvas, filename, legend }: { canvas: RefObject<HTMLCanvasElement | null>; filename: string; legend?: LegendSpec }) {
  return (
    <button type="button" className="button small" onClick={() => canvas.current && void exportPng(canvas.current, filename, legend)} title={`Save this view as ${filename}`}>
      Export PNG
    </button>
  );
}
