import { useEffect } from 'react';
import { useActions } from '../store';
import { Alerts } from './Alerts';
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
      <div className="layout">
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
