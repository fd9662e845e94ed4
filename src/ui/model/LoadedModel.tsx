import { useModelState } from '../../store';
import { ATTENTION_NAMES, formatParams } from '../format';

/** One line on the model in use, from the worker's own reading of its config. */
export function LoadedModel() {
  const { info, status, catalog, currentId } = useModelState();
  if (status !== 'ready' || !info) return null;
  // Ids name models well (tiny-divided, facebook/…), except opened folders: those go by folder name.
  const entry = catalog.find((e) => e.id === currentId);
  const name = entry?.origin === 'folder' ? entry.name : info.id;
  const grid = info.imageSize / info.patchSize;
  return (
    <>
      <p className="loaded-model" data-testid="model-status" data-status={status}>
        <span className="dot dot-on" aria-hidden="true" /> <strong>{name}</strong> — {ATTENTION_NAMES[info.attentionType]}, {info.frames} frames × {info.imageSize}² ({grid}×{grid} patches), {info.layers} layers × {info.heads} heads,{' '}
        {formatParams(info.parameters)} parameters, {info.labels.length} labels; weights from {info.format}
      </p>
      {info.cacheWarning && (
        <p className="notes" role="status" data-testid="cache-warning">
          {info.cacheWarning}
        </p>
      )}
    </>
  );
}
