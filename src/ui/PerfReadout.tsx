import { useInferenceState, useModelState, useUiState } from '../store';
import { formatMs } from './format';

/** Where and how fast the model runs: adapter, GEMM variant, and the last run's timings. */
export function PerfReadout() {
  const { info, loadMs } = useModelState('info', 'loadMs');
  const { summary } = useInferenceState('summary');
  const { gpu } = useUiState('gpu');
  const adapter = info?.adapter ?? (gpu.kind === 'available' ? gpu.adapter + (gpu.fallback ? ' (fallback)' : '') : gpu.kind === 'checking' ? 'checking…' : 'none');
  const rows: [string, string][] = [
    ['Adapter', adapter],
    ['GEMM', info?.gemmVariant ?? '—'],
    // What the user waited, from asking to ready (the worker's start and the device included): the model panel's
    // load report times the worker's stages alone.
    ['Load, ask to ready', loadMs !== null ? formatMs(loadMs) : '—'],
    ['Decode', summary ? formatMs(summary.timings.decodeMs) : '—'],
    ['Inference', summary ? formatMs(summary.timings.inferenceMs) : '—'],
  ];
  return (
    <dl className="perf" data-testid="perf">
      {rows.map(([k, v]) => (
        <div key={k} className="perf-item">
          <dt>{k}</dt>
          <dd data-testid={k === 'Adapter' ? 'gpu-status' : undefined} data-state={k === 'Adapter' ? gpu.kind : undefined} title={v}>
            {v}
          </dd>
        </div>
      ))}
    </dl>
  );
}
