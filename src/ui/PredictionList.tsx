import type { Prediction } from '../store/summary';
import { formatPercent } from './format';

/** Ranked predictions with probability bars: a file's result, or live mode's top-5. */
export function PredictionList({ predictions, testId, label }: { predictions: Prediction[]; testId: string; label?: string }) {
  return (
    <ol className="predictions" data-testid={testId} aria-label={label}>
      {predictions.map((p, rank) => (
        <li key={p.index} className="prediction" data-testid="prediction" data-label={p.label} data-prob={p.prob}>
          <div className="prediction-text">
            <span className="prediction-label">
              <span className="rank">{rank + 1}</span> {p.label}
            </span>
            <span className="prediction-prob">{formatPercent(p.prob)}</span>
          </div>
          <div className="bar" aria-hidden="true">
            <div className="bar-fill" style={{ width: `${Math.max(0.5, p.prob * 100)}%` }} />
          </div>
        </li>
      ))}
    </ol>
  );
}
