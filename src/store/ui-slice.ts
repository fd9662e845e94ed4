// The ui slice: colour theme and what the browser's WebGPU offers (probed on the page; the worker's own
// adapter is in ModelInfo once a model is loaded).
import { patch, type SliceContext } from './types';

export type Theme = 'system' | 'light' | 'dark';

export type GpuProbe =
  | { kind: 'checking' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'available'; adapter: string; fallback: boolean };

export interface UiState {
  theme: Theme;
  gpu: GpuProbe;
}

export interface UiActions {
  /** The theme button: system → light → dark → system. */
  themeToggled(): void;
  gpuProbed(probe: GpuProbe): void;
}

const THEME_KEY = 'timesformer-theme';
const THEMES: Theme[] = ['system', 'light', 'dark'];

export function initialUiState(storage?: Pick<Storage, 'getItem'>): UiState {
  const saved = storage?.getItem(THEME_KEY) as Theme | null;
  return { theme: saved && THEMES.includes(saved) ? saved : 'system', gpu: { kind: 'checking' } };
}

export function uiActions(ctx: SliceContext): UiActions {
  return {
    themeToggled() {
      const theme = THEMES[(THEMES.indexOf(ctx.get().ui.theme) + 1) % THEMES.length];
      ctx.deps.storage?.setItem(THEME_KEY, theme);
      patch(ctx, 'ui', { theme });
    },
    gpuProbed(gpu) {
      patch(ctx, 'ui', { gpu });
    },
  };
}
