/**
 * Commands from the menus (Electron), the toolbar and keyboard shortcuts, delivered to
 * whichever component handles them (the app shell or the active image workspace).
 */
export type Command =
  | { type: 'open-image' }
  | { type: 'open-path'; path: string }
  | { type: 'close-image' }
  | { type: 'go-to' }
  | { type: 'find' }
  | { type: 'back' }
  | { type: 'forward' }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'toggle-theme' }
  | { type: 'transform' }
  | { type: 'load-in-qemu' };

const bus = new EventTarget();

export function runCommand(command: Command): void {
  bus.dispatchEvent(new CustomEvent('command', { detail: command }));
}

export function onCommand(listener: (command: Command) => void): () => void {
  const handler = (e: Event) => listener((e as CustomEvent<Command>).detail);
  bus.addEventListener('command', handler);
  return () => bus.removeEventListener('command', handler);
}
