// The colour scheme in effect: the user's choice, or the system's when they chose "system".
import { useEffect, useSyncExternalStore } from 'react';
import { useUiState } from '../store';

const query = () => window.matchMedia('(prefers-color-scheme: dark)');

function subscribe(onChange: () => void) {
  const media = query();
  media.addEventListener('change', onChange);
  return () => media.removeEventListener('change', onChange);
}

/** 'light' or 'dark', re-rendering when either the choice or the system setting changes. */
export function useColorScheme(): 'light' | 'dark' {
  const { theme } = useUiState('theme');
  const systemDark = useSyncExternalStore(subscribe, () => query().matches);
  return theme === 'system' ? (systemDark ? 'dark' : 'light') : theme;
}

/** Sets data-theme on <html>, which the stylesheet's color-scheme follows. */
export function useThemeAttribute(): void {
  const { theme } = useUiState('theme');
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
}
