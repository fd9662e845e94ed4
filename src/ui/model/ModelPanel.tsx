import { useEffect, useState, type DragEvent } from 'react';
import { requestPersistentStorage } from '../../hub/cached-source';
import { useActions, useModelState, useSelectedEntry } from '../../store';
import { routeDrop } from '../dropped-files';
import { Panel } from '../Panel';
import { PerfReadout } from '../PerfReadout';
import { ProgressView } from '../ProgressView';
import { BackendSelect } from '../backend/BackendSelect';
import { LoadedModel } from './LoadedModel';
import { ModelDetails } from './ModelDetails';
import { ModelSelect } from './ModelSelect';
import { OpenFolder } from './OpenFolder';

/** The load's progress: its own component, so that a progress event re-renders it alone. */
function LoadProgress() {
  const { status, progress } = useModelState('status', 'progress');
  const { modelLoadCancelled } = useActions();
  return status === 'loading' ? <ProgressView progress={progress} starting="Starting" onCancel={modelLoadCancelled} testId="model-progress" /> : null;
}

/** The model manager: choose, download (with progress), cache, evict, open a local folder. */
export function ModelPanel() {
  const { status, notice, currentId } = useModelState('status', 'notice', 'currentId');
  const entry = useSelectedEntry();
  const actions = useActions();
  const [dragging, setDragging] = useState(false);
  // A download is kept in Cache Storage: ask the browser not to evict it (pages only; workers cannot ask).
  useEffect(() => {
    if (status === 'loading' && entry?.base) void requestPersistentStorage();
  }, [status, entry]);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void routeDrop(e.dataTransfer, actions);
  };

  return (
    <Panel title="Model" className={`model-panel ${dragging ? 'dragging' : ''}`}>
      <div
        className="model-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <ModelSelect />
        {notice && notice.id === currentId && (
          <p className="notes" role="status" data-testid="model-notice">
            {notice.message}
          </p>
        )}
        {entry && <ModelDetails entry={entry} />}
        <LoadProgress />
        <LoadedModel />
        <BackendSelect />
        <OpenFolder />
      </div>
      <h3 className="subhead">Performance</h3>
      <PerfReadout />
    </Panel>
  );
}
