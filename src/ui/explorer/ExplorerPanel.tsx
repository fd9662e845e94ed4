import { useEffect, type ReactNode } from 'react';
import { hasTemporal } from '../../attention/maps';
import { useActions, useExplorerState } from '../../store';
import type { ExplorerView } from '../../store/explorer-slice';
import { AttentionFallback } from '../backend/AttentionFallback';
import { ErrorBoundary } from '../ErrorBoundary';
import { ATTENTION_NAMES } from '../format';
import { Panel } from '../Panel';
import type { AttentionMaps } from '../../model/attention-maps';
import { CompareView } from './CompareView';
import { ExplorerControls } from './ExplorerControls';
import { useExplorerData, type ExplorerData } from './explorer-data';
import { RolloutView } from './RolloutView';
import { SchemesView } from './SchemesView';
import { keptNote, SpatialView, useKeptRows, type KeptRows } from './SpatialView';
import { TemporalPanel } from './TemporalPanel';
import { WhyView } from './WhyView';

const TABS: [ExplorerView, string][] = [
  ['spatial', 'Spatial attention'],
  ['compare', 'Compare layers/heads'],
  ['rollout', 'Rollout'],
  ['schemes', 'Attention schemes'],
  ['why', 'Why this class'],
];

function Tabs() {
  const { view } = useExplorerState('view');
  const { explorerViewChosen } = useActions();
  return (
    <div className="tabs" role="tablist" aria-label="Attention views">
      {TABS.map(([id, label]) => (
        <button key={id} type="button" role="tab" id={`tab-${id}`} aria-selected={view === id} aria-controls="explorer-view" className={view === id ? 'on' : ''} onClick={() => explorerViewChosen(id)}>
          {label}
        </button>
      ))}
    </div>
  );
}

const MB = 2 ** 20;

/** What this clip's run read back from the GPU, against the attention budget it was planned in, and what the picked patches read since. */
function ReadBack({ maps, kept }: { maps: AttentionMaps; kept: KeptRows }) {
  const fetched = [...kept.rows.values()].reduce((n, rows) => n + rows.byteLength, 0);
  const detail = [maps.temporal.length ? 'temporal maps per head' : maps.temporalMean.length ? 'temporal maps averaged over heads' : 'temporal maps kept on the GPU', maps.spatial.length ? (maps.spatialHeads ? 'full spatial maps per head' : 'full spatial maps averaged over heads') : 'full spatial maps kept on the GPU'];
  return (
    <p className="muted small" data-testid="attention-bytes" data-bytes={maps.bytesRead} data-budget={maps.budgetBytes} data-fetched={fetched}>
      Read back from the GPU for this clip: {(maps.bytesRead / MB).toFixed(1)} MB (budget {(maps.budgetBytes / MB).toFixed(0)} MB) — {detail.join(', ')}.
      {fetched > 0 && ` Read since for the picked patches: ${(fetched / MB).toFixed(2)} MB.`}
    </p>
  );
}

function Empty({ children }: { children: ReactNode }) {
  return <p className="muted empty">{children}</p>;
}

function ActiveView({ data }: { data: ExplorerData | undefined }) {
  const { view, query } = useExplorerState('view', 'query');
  if (!data) return <Empty>Load a model to explore its attention.</Empty>;
  if (view === 'schemes') return <SchemesView data={data} />;
  if (!data.frames) return <Empty>Classify a video to see where the model looks.</Empty>;
  if (view === 'why') return <WhyView data={data} />;
  if (!data.maps) return <AttentionFallback />;
  return <MapsView data={data} maps={data.maps} />;
}

/** The views of a result's maps; the rows they need that stayed on the GPU are read as the picked patch or layers change. */
function MapsView({ data, maps }: { data: ExplorerData; maps: AttentionMaps }) {
  const { view, query, layer, compareWith } = useExplorerState('view', 'query', 'layer', 'compareWith');
  const { keptRowsWanted } = useActions();
  const kept = useKeptRows(maps);
  useEffect(() => void keptRowsWanted(), [keptRowsWanted, maps, view, query, layer, compareWith.layer]);
  const temporal = query !== null && hasTemporal(maps, layer, query.patch, kept.rows);
  return (
    <>
      {view === 'spatial' ? <SpatialView data={data} maps={maps} /> : view === 'compare' ? <CompareView data={data} maps={maps} /> : <RolloutView data={data} maps={maps} />}
      {query && temporal && <TemporalPanel maps={maps} query={query} kept={kept} />}
      <ReadBack maps={maps} kept={kept} />
      {query && !temporal && data.info.attentionType === 'divided_space_time' && <Empty>{keptNote(kept, 'The temporal maps of this clip stayed on the GPU: they are over the read-back budget even averaged over heads.')}</Empty>}
      {query && data.info.attentionType !== 'divided_space_time' && <Empty>Only divided space-time models have separate temporal attention; this one is {ATTENTION_NAMES[data.info.attentionType]}.</Empty>}
    </>
  );
}

/** The reason this app exists: where the model looks, in space and in time. */
export function ExplorerPanel() {
  const data = useExplorerData();
  const { view } = useExplorerState('view');
  return (
    <Panel title="Attention explorer" className="explorer-panel" actions={<Tabs />}>
      <ExplorerControls layers={data?.layers ?? 1} heads={data?.heads ?? 1} disabled={!data?.maps && view !== 'schemes' && view !== 'why'} />
      <div id="explorer-view" role="tabpanel" aria-labelledby={`tab-${view}`}>
        <ErrorBoundary what="attention view">
          <ActiveView data={data} />
        </ErrorBoundary>
      </div>
    </Panel>
  );
}
