import type { Command } from '../commands';

/** A key with the modifiers it needs (others may be held too). `mod` is Ctrl, or Cmd on macOS. */
interface Shortcut {
  key: string;
  mod?: true;
  alt?: true;
  /** Only with (true) or only without (false) Shift; either when absent. */
  shift?: boolean;
  /** Matches the key in either case (Ctrl+Shift+Z reports "Z"). */
  anyCase?: true;
  command: Command;
}

/** Edits; inside a text field these keys are the field's own undo and redo. */
const EDIT_SHORTCUTS: Shortcut[] = [
  { key: 'z', mod: true, shift: false, anyCase: true, command: { type: 'undo' } },
  { key: 'z', mod: true, shift: true, anyCase: true, command: { type: 'redo' } },
  { key: 'y', mod: true, anyCase: true, command: { type: 'redo' } },
];

/** In the desktop app the native menu's accelerators deliver these; only the browser needs them here. */
const MENU_SHORTCUTS: Shortcut[] = [
  { key: 'o', mod: true, command: { type: 'open-image' } },
  { key: 'g', mod: true, command: { type: 'go-to' } },
  { key: 'f', mod: true, command: { type: 'find' } },
  { key: 'w', mod: true, command: { type: 'close-image' } },
  { key: 'ArrowLeft', alt: true, command: { type: 'back' } },
  { key: 'ArrowRight', alt: true, command: { type: 'forward' } },
  { key: 'x', mod: true, shift: true, anyCase: true, command: { type: 'transform' } },
  { key: 'l', mod: true, shift: true, anyCase: true, command: { type: 'load-in-qemu' } },
];

/** The command a key press gives, if any. */
export function commandForKey(e: KeyboardEvent, menuHandlesShortcuts: boolean): Command | null {
  const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || (e.target as HTMLElement | null)?.isContentEditable === true;
  const candidates = [...(inField ? [] : EDIT_SHORTCUTS), ...(menuHandlesShortcuts ? [] : MENU_SHORTCUTS)];
  return candidates.find((s) => matches(s, e))?.command ?? null;
}

function matches(s: Shortcut, e: KeyboardEvent): boolean {
  return (
    (s.anyCase ? e.key.toLowerCase() === s.key : e.key === s.key) &&
    (!s.mod || e.ctrlKey || e.metaKey) &&
    (!s.alt || e.altKey) &&
    (s.shift === undefined || s.shift === e.shiftKey)
  );
}
