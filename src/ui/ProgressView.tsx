import type { Progress } from '../store/progress';
import type { Stage } from '../worker/protocol';
import { formatBytes, formatDuration } from './format';

const STAGE_NAMES: Record<Stage, string> = {
  download: 'Downloading',
  read: 'Reading from the browser cache',
  parse: 'Reading the weights',
  upload: 'Uploading to the GPU',
  compile: 'Tuning and compiling kernels',
  decode: 'Decoding frames',
  inference: 'Running the model',
};

function describe(p: Progress): string {
  if (p.stage !== 'download' && p.stage !== 'read' && p.stage !== 'upload') return p.total ? `${p.done} of ${p.total}` : '';
  const amount = p.total ? `${formatBytes(p.done)} of ${formatBytes(p.total)}` : formatBytes(p.done);
  const rate = p.rate ? ` · ${formatBytes(p.rate)}/s` : '';
  const eta = p.eta !== undefined ? ` · ${formatDuration(p.eta)} left` : '';
  return amount + rate + eta;
}

/** A long step: what it is doing, how far it is, and a Cancel button. `progress` null: starting. */
export function ProgressView({ progress, starting, onCancel, testId }: { progress: Progress | null; starting: string; onCancel: () => void; testId?: string }) {
  const label = progress ? STAGE_NAMES[progress.stage] + (progress.detail ? ` ${progress.detail}` : '') : starting;
  const determinate = progress?.total !== undefined && progress.total > 0;
  return (
    <div className="progress" data-testid={testId} data-stage={progress?.stage ?? 'starting'}>
      <div className="progress-text">
        <span className="progress-label">{label}…</span>
        <span className="progress-numbers">{progress ? describe(progress) : ''}</span>
      </div>
      <div className="progress-row">
        <progress aria-label={label} value={determinate ? progress.done : undefined} max={determinate ? progress.total : undefined} />
        <button type="button" className="button small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
