import { useModelState } from '../../store';
import type { LoadReport } from '../../worker/protocol';
import { ATTENTION_NAMES, formatMs, formatParams } from '../format';

/** Where the weights came from and what each load stage took. */
function loadLine(load: LoadReport): string {
  const tunedMeanwhile = load.tunedWhileReadingMs === undefined ? '' : ` (kernels tuned meanwhile, ${formatMs(load.tunedWhileReadingMs)})`;
  const files = load.from === 'engine-ready copy' ? 'engine-ready copy' : `files ${formatMs(load.ms.files)}${tunedMeanwhile}`;
  // Backends other than ours have no stage of their own for kernels: their session is made in 'upload'.
  const kernels = load.ms.compile > 0 ? `, tune and compile ${formatMs(load.ms.compile)}` : '';
  const copy = load.copy ? ` · engine-ready copy ${load.copy}` : '';
  return `Ready in ${formatMs(load.ms.total)}: ${files}, upload ${formatMs(load.ms.upload)}${kernels}${copy}`;
}

/** One line on the model in use, from the worker's own reading of its config. */
export function LoadedModel() {
  const { info, status, catalog, currentId } = useModelState('info', 'status', 'catalog', 'currentId');
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
      {info.load && (
        <p className="load-report" data-testid="load-report" data-from={info.load.from} data-files-ms={info.load.ms.files} data-upload-ms={info.load.ms.upload} data-compile-ms={info.load.ms.compile} data-tuned-while-reading-ms={info.load.tunedWhileReadingMs} data-total-ms={info.load.ms.total}>
          {loadLine(info.load)}
        </p>
      )}
      {info.cacheWarning && (
        <p className="notes" role="status" data-testid="cache-warning">
          {info.cacheWarning}
        </p>
      )}
    </>
  );
}
