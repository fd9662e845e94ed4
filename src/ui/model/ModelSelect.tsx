import { memo } from 'react';
import { useActions, useModelChoices } from '../../store';
import type { EntryOrigin, ModelEntry } from '../../store/catalog';

const GROUPS: [EntryOrigin, string][] = [
  ['app', 'Served by this app'],
  ['hub', 'Hugging Face hub'],
  ['url', 'From a URL'],
  ['folder', 'Opened folders'],
];

function optionLabel(e: ModelEntry, cached: boolean): string {
  const size = e.sizeMB ? ` · ${e.sizeMB} MB` : '';
  return `${e.origin === 'hub' ? e.id : e.name}${size}${cached ? ' · cached' : ''}`;
}

/** It takes no props: memo keeps its parent's renders (a load starting, a drag) from re-rendering it. */
export const ModelSelect = memo(function ModelSelect() {
  const { catalog, selectedId, cached } = useModelChoices();
  const { modelSelected } = useActions();
  return (
    <label className="field">
      <span className="field-label">Checkpoint</span>
      <select data-testid="model-select" value={selectedId ?? ''} onChange={(e) => modelSelected(e.target.value)} disabled={catalog.length === 0}>
        {catalog.length === 0 && <option value="">Loading the catalog…</option>}
        {GROUPS.map(([origin, label]) => {
          const entries = catalog.filter((e) => e.origin === origin);
          return (
            entries.length > 0 && (
              <optgroup key={origin} label={label}>
                {entries.map((e) => (
                  <option key={e.id} value={e.id}>
                    {optionLabel(e, cached[e.id])}
                  </option>
                ))}
              </optgroup>
            )
          );
        })}
      </select>
    </label>
  );
});
