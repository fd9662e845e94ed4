import type { RefObject } from 'react';
import { exportJson, exportPng, type LegendSpec } from './export';

export function ExportButton({ canvas, filename, legend }: { canvas: RefObject<HTMLCanvasElement | null>; filename: string; legend?: LegendSpec }) {
  return (
    <button type="button" className="button small" onClick={() => canvas.current && void exportPng(canvas.current, filename, legend)} title={`Save this view as ${filename}`}>
      Export PNG
    </button>
  );
}

/** The numbers behind a view, as JSON (`numbers` is called on click: views build it from their arrays). */
export function ExportJsonButton({ numbers, filename }: { numbers: () => unknown; filename: string }) {
  return (
    <button type="button" className="button small" data-testid="export-json" onClick={() => exportJson(numbers(), filename)} title={`Save the numbers behind this view as ${filename}`}>
      Export JSON
    </button>
  );
}
