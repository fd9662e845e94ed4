import { useEffect, useRef } from 'react';
import { useColorScheme } from '../theme';
import { drawLegend, inkOf, LEGEND_HEIGHT } from './draw';
import type { LegendSpec } from './export';

/** The colour scale of the view above it (drawn like the one in exported PNGs). */
export function ColorLegend({ legend }: { legend: LegendSpec }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const scheme = useColorScheme();
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    ctx.clearRect(0, 0, c.width, c.height);
    drawLegend(ctx, legend.lut, legend.range, 0, 2, c.width, legend.label, inkOf(c));
  }, [legend, scheme]);
  const { min, max } = legend.range;
  return <canvas ref={canvas} className="legend" width={520} height={LEGEND_HEIGHT} role="img" aria-label={`Colour scale: ${legend.label}, from ${min.toPrecision(2)} to ${max.toPrecision(2)}`} />;
}
