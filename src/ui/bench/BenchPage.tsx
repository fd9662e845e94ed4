import { useRef, useState } from 'react';
import { COMPARISON_BACKENDS, type BackendName } from '../../backends/registry';
import { benchDocument, type BenchModel } from '../../bench/bench';
import { benchInPage, type PageBenchReport } from '../../bench/page-bench';
import { BENCH_MODELS } from '../../bench/random-model';
import { loadModel } from '../../checkpoint/load';
import { deviceTierFrom, requestEngineDevice } from '../../engine/device';
import { cachedSource } from '../../hub/cached-source';
import { useModelState } from '../../store';
import { Runtime } from '../../engine/runtime';
import { Panel } from '../Panel';
import { BenchChart } from './BenchChart';

type RandomModel = keyof typeof BENCH_MODELS;
const MODELS = Object.keys(BENCH_MODELS) as RandomModel[];

/** One checkbox per option; `chosen` is the checked ones. */
function Checkboxes<T extends string>({ label, options, chosen, onChange, disabled }: { label?: string; options: readonly T[]; chosen: T[]; onChange(next: T[]): void; disabled: boolean }) {
  return (
    <div className="button-row">
      {label && <span className="field-label">{label}</span>}
      {options.map((o) => (
        <label key={o} className="field inline">
          <input type="checkbox" data-testid={`bench-option-${o}`} checked={chosen.includes(o)} onChange={(e) => onChange(e.target.checked ? [...new Set([...chosen, o])] : chosen.filter((x) => x !== o))} disabled={disabled} /> {o}
        </label>
      ))}
    </div>
  );
}

/**
 * The benchmark, in this page: our engine and every comparison backend on the app's loaded model and the
 * random tiny/small/base/HR models — the code `npm run bench -- --browser` runs (src/bench/page-bench.ts),
 * and the same JSON. The loaded model's files are read again here (from the browser cache where they are
 * kept): the worker's copy stays with the app.
 */
export function BenchPage() {
  const modelState = useModelState('status', 'catalog', 'currentId');
  const entry = modelState.status === 'ready' ? modelState.catalog.find((e) => e.id === modelState.currentId) : undefined;
  // A model from a local folder: its File objects live in the store's loader, not here.
  const loadedOffer = entry && entry.origin !== 'folder' ? entry : undefined;
  const [withLoaded, setWithLoaded] = useState(true);
  const runtime = useRef<Promise<Runtime> | undefined>(undefined);
  const [models, setModels] = useState<RandomModel[]>(['tiny', 'small']);
  const [backends, setBackends] = useState<BackendName[]>([...COMPARISON_BACKENDS]);
  const [iterations, setIterations] = useState(3);
  const [log, setLog] = useState<string[]>([]);
  const [report, setReport] = useState<(PageBenchReport & { date: string; runtime: string }) | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [running, setRunning] = useState(false);

  const run = async () => {
    setRunning(true);
    setError(undefined);
    setReport(undefined);
    setLog([]);
    try {
      if (!navigator.gpu) throw new Error('this browser has no WebGPU');
      runtime.current ??= requestEngineDevice(navigator.gpu, undefined, deviceTierFrom(location.search)).then((device) => new Runtime(device));
      const rt = await runtime.current;
      const chosen: BenchModel[] = [...models];
      if (loadedOffer && withLoaded) chosen.unshift({ name: loadedOffer.id, model: await loadModel(cachedSource(loadedOffer.base)) });
      const result = await benchInPage(rt, { iterations, models: chosen, backends, modelsOnly: true, log: (line) => setLog((l) => [...l, line]) });
      setReport(benchDocument(navigator.userAgent, result));
    } catch (e) {
      runtime.current = undefined;
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setRunning(false);
    }
  };

  const json = report && JSON.stringify(report, null, 2);
  return (
    <Panel title="Benchmark" className="bench-panel">
      <div data-testid="bench" data-state={running ? 'running' : report ? 'done' : error ? 'failed' : 'idle'}>
        <p className="muted small">
          Milliseconds per view (median of the timed runs after a warm-up; whiskers: fastest and slowest) of our WGSL engine and each backend on the loaded model and random-weight models,
          in this page. ORT runs our ONNX export of the same weights. The same code and JSON as <code>npm run bench -- --browser</code>.
        </p>
        <div className="button-row">
          {loadedOffer && (
            <label className="field inline">
              <input type="checkbox" data-testid="bench-option-loaded" checked={withLoaded} onChange={(e) => setWithLoaded(e.target.checked)} disabled={running} /> the loaded model ({loadedOffer.id})
            </label>
          )}
          <Checkboxes options={MODELS} chosen={models} onChange={setModels} disabled={running} />
        </div>
        <Checkboxes label="beside wgsl" options={COMPARISON_BACKENDS} chosen={backends} onChange={setBackends} disabled={running} />
        <div className="button-row">
          <label className="field inline">
            <span className="field-label">runs</span>
            <input type="number" min={1} max={50} value={iterations} data-testid="bench-iterations" onChange={(e) => setIterations(Math.max(1, Math.min(50, Number(e.target.value) || 1)))} disabled={running} />
          </label>
          <button type="button" className="button primary" data-testid="bench-run" onClick={() => void run()} disabled={running || (models.length === 0 && !(loadedOffer && withLoaded))}>
            {running ? 'Running…' : 'Run the benchmark'}
          </button>
          {json && (
            <a className="button" data-testid="bench-export" download="bench-chromium.json" href={URL.createObjectURL(new Blob([json], { type: 'application/json' }))}>
              Export JSON
            </a>
          )}
        </div>
        {error && (
          <p className="notes" role="alert">
            The benchmark failed: {error}
          </p>
        )}
        {report && <BenchChart results={report.results} />}
        {log.length > 0 && <pre className="bench-log small">{log.join('\n')}</pre>}
        {json && (
          <details>
            <summary>JSON</summary>
            <pre data-testid="bench-json" className="bench-log small">
              {json}
            </pre>
          </details>
        )}
      </div>
    </Panel>
  );
}
