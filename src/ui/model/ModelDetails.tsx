import { OUR_ENGINE } from '../../backends/registry';
import { useActions, useModelState } from '../../store';
import { isNonCommercial, type ModelEntry } from '../../store/catalog';

function cacheText(entry: ModelEntry, cached: boolean, copy: boolean): string {
  if (entry.origin === 'folder') return 'Read from your disk';
  if (cached) return 'In the browser cache: loads offline';
  // The copy is our engine's packed weights: other backends read the checkpoint's files.
  if (copy) return 'Engine-ready copy kept: loads offline on our WGSL engine (other backends download the files)';
  return entry.origin === 'app' ? 'Served by this app' : 'Not downloaded yet';
}

/** The selected catalog entry: what it is, its licence, whether it is cached; load, download or evict it. */
export function ModelDetails({ entry }: { entry: ModelEntry }) {
  const { cached, copies, currentId, status, backend, info } = useModelState('cached', 'copies', 'currentId', 'status', 'backend', 'info');
  const { modelRequested, modelEvicted } = useActions();
  const isCached = Boolean(cached[entry.id]);
  const hasCopy = Boolean(copies[entry.id]);
  const isCurrent = entry.id === currentId && (status === 'ready' || status === 'loading');
  // Our engine reads the copy. 'auto' runs it where a model loaded here ran on it, and a copy exists only where
  // our engine ran: before any load, assume so.
  const readsCopy = hasCopy && (backend === OUR_ENGINE || (backend === 'auto' && (info ? info.backend.name === OUR_ENGINE : true)));
  const needsDownload = entry.origin === 'hub' && !isCached && !readsCopy;
  const facts: [string, string][] = [
    ['Size', entry.sizeMB ? `${entry.sizeMB} MB` : '—'],
    ['Frames × px', entry.frames ? `${entry.frames} × ${entry.imageSize}²` : '—'],
    ['Dataset', entry.dataset],
    ['Labels', entry.labels ? String(entry.labels) : '—'],
  ];
  return (
    <div className="model-details" data-testid="model-details" data-cached={isCached}>
      <dl className="facts">
        {facts.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <p className={`licence ${isNonCommercial(entry) ? 'licence-nc' : ''}`} data-testid="licence">
        <span className="licence-tag">Licence</span> {entry.licence}
      </p>
      <p className="cache-state" data-testid="cache-state" data-copy={hasCopy}>
        <span className={`dot ${isCached || hasCopy ? 'dot-on' : ''}`} aria-hidden="true" /> <span>{cacheText(entry, isCached, hasCopy)}</span>
      </p>
      <div className="button-row">
        <button type="button" className="button primary" disabled={isCurrent} onClick={() => void modelRequested(entry.id)} data-testid="model-load">
          {isCurrent ? (status === 'loading' ? 'Loading…' : 'Loaded') : needsDownload ? `Download ${entry.sizeMB} MB and load` : 'Load'}
        </button>
        {(isCached || hasCopy) && (
          <button type="button" className="button" onClick={() => void modelEvicted(entry.id)} data-testid="model-evict">
            Remove from cache
          </button>
        )}
      </div>
    </div>
  );
}
