import { createContext } from 'react';

export type Theme = 'light' | 'dark';

const KEY = 'migwb.theme';

/** Light or dark: the user's last pick, else the system's. */
export function savedTheme(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Shows `theme` (the stylesheet follows the root's data-theme) and remembers the user's pick. */
export function applyTheme(theme: Theme, remember: boolean): void {
  document.documentElement.dataset.theme = theme;
  if (remember) localStorage.setItem(KEY, theme);
}

/** The theme on screen, for components that draw with their own colours (Monaco). */
export const ThemeContext = createContext<Theme>('light');
