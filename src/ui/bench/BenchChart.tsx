import { OUR_ENGINE } from '../../backends/registry';
import type { BenchResult } from '../../bench/bench';

const BAR = 18, GAP = 6, GROUP_GAP = 18, LABEL = 120, WIDTH = 640, RIGHT = 150;

/** ms per view of every backend on every model: median bars with min–max whiskers (log scale), and the ratio to our engine. */
export function BenchChart({ results }: { results: BenchResult[] }) {
  const rows = results.filter((r) => r.model && r.backend && !r.error && Number.isFinite(r.ms));
  if (rows.length === 0) return null;
  const models = [...new Set(rows.map((r) => r.model!))];
  const lo = Math.min(...rows.map((r) => r.minMs ?? r.ms)) / 2, hi = Math.max(...rows.map((r) => r.maxMs ?? r.ms)) * 1.2;
  const x = (ms: number) => LABEL + ((Math.log(ms) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (WIDTH - LABEL - RIGHT);
  let y = 0;
  const bars = models.flatMap((model) => {
    const group = rows.filter((r) => r.model === model);
    const top = y;
    y += group.length * (BAR + GAP) + GROUP_GAP;
    return [
      <text key={`${model}-title`} x={0} y={top + BAR - 4} className="bench-model">
        {model}
      </text>,
      ...group.map((r, i) => {
        const by = top + i * (BAR + GAP);
        const ratio = r.backend === OUR_ENGINE ? 'ours' : `${r.vsEngine!.toFixed(2)}× ours`;
        return (
          <g key={`${model}-${r.backend}`} data-testid="bench-bar" data-model={model} data-backend={r.backend} data-ms={r.ms}>
            <text x={LABEL - 8} y={by + BAR - 5} textAnchor="end" className="bench-label">
              {r.backend}
            </text>
            <rect x={LABEL} y={by} width={Math.max(1, x(r.ms) - LABEL)} height={BAR} className={r.backend === OUR_ENGINE ? 'bench-bar ours' : 'bench-bar'} />
            {r.minMs !== undefined && r.maxMs !== undefined && <line x1={x(r.minMs)} x2={x(r.maxMs)} y1={by + BAR / 2} y2={by + BAR / 2} className="bench-whisker" />}
            <text x={WIDTH - RIGHT + 8} y={by + BAR - 5} className="bench-value">
              {r.ms.toFixed(1)} ms · {ratio}
            </text>
          </g>
        );
      }),
    ];
  });
  return (
    <svg data-testid="bench-chart" viewBox={`0 0 ${WIDTH} ${y}`} width="100%" role="img" aria-label="Milliseconds per view by backend and model (log scale)">
      {bars}
    </svg>
  );
}
