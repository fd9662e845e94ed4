import { useEffect } from 'react';
import { useActions } from '../store';
import { Alerts } from './Alerts';
import { BenchPage } from './bench/BenchPage';
import { useBenchRoute } from './bench/route';
import { ExplorerPanel } from './explorer/ExplorerPanel';
import { probeGpu } from './gpu-probe';
import { Header } from './Header';
import { LivePanel } from './live/LivePanel';
import { ModelPanel } from './model/ModelPanel';
import { PredictionsPanel } from './PredictionsPanel';
import { useThemeAttribute } from './theme';
import { VideoPanel } from './video/VideoPanel';

export function App() {
  const { gpuProbed } = useActions();
  const bench = useBenchRoute();
  useThemeAttribute();
  useEffect(() => {
    probeGpu()
      .catch((e: unknown) => ({ kind: 'unavailable' as const, reason: String(e) }))
      .then(gpuProbed);
  }, [gpuProbed]);

  return (
    <div className="app">
      <Header />
      <Alerts />
      <nav className="app-nav small">
        {bench ? <a href="#">← Classify videos</a> : <a href="#bench" data-testid="bench-link">Benchmark the backends</a>}
      </nav>
      {bench && <BenchPage />}
      <div className="layout" style={bench ? { display: 'none' } : undefined}>
        <aside className="sidebar">
          <ModelPanel />
        </aside>
        <main className="content">
          <div className="top-row">
            <VideoPanel />
            <PredictionsPanel />
          </div>
          <LivePanel />
          <ExplorerPanel />
        </main>
      </div>
      <footer className="app-footer muted small">
        TimeSformer: Bertasius, Wang &amp; Torresani, “Is Space-Time Attention All You Need for Video Understanding?”, ICML 2021. Everything runs in your browser; videos never leave your computer.
      </footer>
    </div>
  );
}
