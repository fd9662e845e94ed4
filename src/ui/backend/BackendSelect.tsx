import { APP_BACKENDS, BACKEND_CATALOG, type BackendName } from '../../backends/registry';
import { useActions, useModelState } from '../../store';
import type { BackendChoice } from '../../worker/protocol';

/** What a backend offers, from its catalog entry (before it is loaded) or from the loaded one itself. */
function supports(name: BackendName): string {
  const b = BACKEND_CATALOG[name];
  return [b.gpu ? 'WebGPU' : 'CPU', b.attention ? 'attention maps' : 'no attention maps', b.needs === 'onnx' ? 'ONNX graph' : null].filter(Boolean).join(', ');
}

/** Which backend runs the model: auto (the fastest here) or one the user picks; and which one runs, and why. */
export function BackendSelect() {
  const { backend, info, status } = useModelState('backend', 'info', 'status');
  const { backendChosen } = useActions();
  const active = status === 'ready' ? info?.backend : undefined;
  const threads = active?.capabilities.threads;
  return (
    <div className="backend-select">
      <label className="field">
        <span className="field-label">Backend</span>
        <select data-testid="backend-select" value={backend} onChange={(e) => void backendChosen(e.target.value as BackendChoice)} disabled={status === 'loading'}>
          <option value="auto">Auto (the fastest that can run here)</option>
          {APP_BACKENDS.map((name) => (
            <option key={name} value={name}>
              {BACKEND_CATALOG[name].label} — {supports(name)}
            </option>
          ))}
        </select>
      </label>
      {active && (
        <p className="muted small" data-testid="backend-active" data-backend={active.name} data-threads={threads ?? ''}>
          Running on <strong>{BACKEND_CATALOG[active.name].label}</strong>
          {threads ? ` (${threads} thread${threads === 1 ? '' : 's'})` : ''}: {active.reason}.
        </p>
      )}
    </div>
  );
}
