import { useActions, useInferenceState, useModelState, useTimelineState, useUiState } from '../store';
import type { AppError } from '../store/errors';

function AlertBox({ error, onDismiss, onReload }: { error: AppError; onDismiss?: () => void; onReload?: () => void }) {
  return (
    <div className="alert" role="alert" data-kind={error.kind}>
      <div className="alert-body">
        <strong>{error.title}</strong>
        <p className="alert-message">{error.message}</p>
        <p className="alert-advice">{error.advice}</p>
      </div>
      <div className="alert-actions">
        {error.action === 'reload-model' && onReload && (
          <button type="button" className="button primary small" onClick={onReload}>
            Reload model
          </button>
        )}
        {onDismiss && (
          <button type="button" className="button ghost small" onClick={onDismiss} aria-label="Dismiss">
            Dismiss
          </button>
        )}
      </div>
    </div>
  );
}

/** Every current error, at the top of the page, each saying what to do. */
export function Alerts() {
  const model = useModelState('error', 'currentId');
  const inference = useInferenceState('error');
  const timeline = useTimelineState('error');
  const { gpu } = useUiState('gpu');
  const actions = useActions();
  const reload = () => void actions.modelRequested(model.currentId ?? undefined);
  return (
    <div className="alerts">
      {gpu.kind === 'unavailable' && (
        <AlertBox error={{ kind: 'gpu', title: 'WebGPU is not available', message: `WebGPU: ${gpu.reason}.`, advice: 'This app runs the model on your GPU through WebGPU: use a recent Chrome or Edge (113+), or Safari 26 / Firefox 141 with WebGPU enabled.' }} />
      )}
      {model.error && <AlertBox error={model.error} onDismiss={actions.modelErrorDismissed} onReload={reload} />}
      {inference.error && <AlertBox error={inference.error} onDismiss={actions.inferenceErrorDismissed} onReload={reload} />}
      {timeline.error && <AlertBox error={timeline.error} onDismiss={actions.timelineCleared} onReload={reload} />}
    </div>
  );
}
