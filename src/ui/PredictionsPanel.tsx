import { useActions, useInferenceState, useModelState, useVideoState } from '../store';
import type { ClassifyOptions } from '../worker/protocol';
import type { ResultSummary } from '../store/summary';
import { formatPercent } from './format';
import { Panel } from './Panel';
import { PredictionList } from './PredictionList';
import { ProgressView } from './ProgressView';
import { Timeline } from './Timeline';

function TopPredictions({ summary }: { summary: ResultSummary }) {
  return <PredictionList predictions={summary.top} testId="predictions" />;
}

/** Multi-view: how each view (temporal clip × spatial crop) scored the overall top labels. */
function ViewBreakdown({ summary }: { summary: ResultSummary }) {
  if (summary.views.length < 2) return null;
  const labels = summary.top.slice(0, 3);
  return (
    <table className="views" data-testid="view-breakdown">
      <caption>Per view (softmax averaged over {summary.views.length} views)</caption>
      <thead>
        <tr>
          <th scope="col">View</th>
          {labels.map((p) => (
            <th key={p.index} scope="col">
              {p.label}
            </th>
          ))}
          <th scope="col">Its top label</th>
        </tr>
      </thead>
      <tbody>
        {summary.views.map((v) => (
          <tr key={v.name}>
            <th scope="row">{v.name}</th>
            {labels.map((p, i) => (
              <td key={p.index}>{formatPercent(v.ofTop[i])}</td>
            ))}
            <td>
              {v.best.label} ({formatPercent(v.best.prob)})
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunOptions() {
  const { options, summary, ranWith, status } = useInferenceState('options', 'summary', 'ranWith', 'status');
  const { currentId, status: modelStatus } = useModelState('currentId', 'status');
  const { current } = useVideoState('current');
  const { classifyOptionsChanged, classificationRequested } = useActions();
  const stale = summary && ranWith && (ranWith.modelId !== currentId || ranWith.options.views !== options.views || ranWith.options.sampling !== options.sampling);
  return (
    <div className="run-options">
      <label className="field inline">
        <span className="field-label">Views</span>
        <select value={options.views} onChange={(e) => classifyOptionsChanged({ views: e.target.value as ClassifyOptions['views'] })}>
          <option value="single">1 centre clip (fast)</option>
          <option value="multi">3 crops (the paper's test protocol)</option>
        </select>
      </label>
      <label className="field inline">
        <span className="field-label">Sampling</span>
        <select value={options.sampling} onChange={(e) => classifyOptionsChanged({ sampling: e.target.value as ClassifyOptions['sampling'] })}>
          <option value="auto">as trained</option>
          <option value="stride">1 frame every S</option>
          <option value="segments">1 frame per segment</option>
        </select>
      </label>
      {current && modelStatus === 'ready' && status !== 'running' && (
        <button type="button" className={`button ${stale ? 'primary' : ''}`} onClick={() => void classificationRequested()}>
          {stale ? 'Run again with these settings' : 'Run again'}
        </button>
      )}
    </div>
  );
}

function Status() {
  const { status, progress } = useInferenceState('status', 'progress');
  const { status: modelStatus } = useModelState('status');
  const { current } = useVideoState('current');
  const { classificationCancelled } = useActions();
  if (status === 'running') return <ProgressView progress={progress} starting="Opening the video" onCancel={classificationCancelled} testId="classify-progress" />;
  if (status === 'waiting') return <p className="muted">{modelStatus === 'loading' ? 'Waiting for the model to load…' : 'Load a model to classify this video.'}</p>;
  if (!current) return <p className="muted empty">Drop a video to see which actions the model recognises in it.</p>;
  return null;
}

export function PredictionsPanel() {
  const { summary } = useInferenceState('summary');
  return (
    <Panel title="Predictions" className="predictions-panel">
      <Status />
      {summary && (
        <>
          <TopPredictions summary={summary} />
          <ViewBreakdown summary={summary} />
          {summary.notes.length > 0 && (
            <ul className="notes" role="status">
              {summary.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </>
      )}
      <Timeline />
      <RunOptions />
    </Panel>
  );
}
