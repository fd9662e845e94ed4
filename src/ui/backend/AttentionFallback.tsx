import { BACKEND_CATALOG } from '../../backends/registry';
import { useActions, useInferenceState, useResult } from '../../store';

/**
 * Shown instead of the attention views when the run that made the result gave no maps: why (the backend has
 * none, or they were not asked for), and one click to compute them for this clip with our WGSL engine.
 */
export function AttentionFallback() {
  const result = useResult();
  const { status } = useInferenceState('status');
  const { engineAttentionRequested } = useActions();
  if (!result) return null;
  const backend = BACKEND_CATALOG[result.backend];
  return (
    <div className="attention-fallback" data-testid="attention-fallback">
      <p className="muted">
        {backend.attention ? 'This run recorded no attention maps.' : `${backend.label} gives no attention maps (an ONNX graph returns only the logits).`}
      </p>
      <button type="button" className="button primary small" data-testid="attention-fallback-run" disabled={status === 'running'} onClick={() => void engineAttentionRequested()}>
        Compute attention maps with the WGSL engine
      </button>
    </div>
  );
}
