import { useActions, useUiState } from '../store';

const THEME_LABELS = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' } as const;
const THEME_ICONS = { system: '◐', light: '☀', dark: '☾' } as const;

export function Header() {
  const { theme } = useUiState('theme');
  const { themeToggled } = useActions();
  return (
    <header className="app-header">
      <div className="brand">
        <h1>TimeSformer <span className="brand-sub">WebGPU</span></h1>
        <p className="tagline">Action recognition in video on your own GPU — and where the model looks, in space and in time.</p>
      </div>
      <button type="button" className="button ghost theme-toggle" onClick={themeToggled} title={`${THEME_LABELS[theme]} (click to change)`} aria-label={`${THEME_LABELS[theme]}; change theme`}>
        <span aria-hidden="true">{THEME_ICONS[theme]}</span> {theme}
      </button>
    </header>
  );
}
