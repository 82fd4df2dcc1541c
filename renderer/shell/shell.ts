import type { HostInfo, WorkbenchBridge, WorkbenchEvent } from '../../shared/api/contract';
import { errorMessage } from '../api';
import { onCommand, runCommand, type Command } from '../commands';
import type { PickMode } from '../components/FilePicker';
import { ImageView, type ImageViewHost } from '../image/image-view';
import { Store } from '../state/store';
import { commandForKey } from './shortcuts';
import { applyTheme, savedTheme, type Theme } from './theme';

/** The library's tab id (the images' tabs are their handles). */
export const LIBRARY = 'library';

/** Long work in the backend: opening (decompress, scan) or saving (hashing, writing) a file. */
export interface Progress {
  path: string;
  phase: 'decompress' | 'scan' | 'hashing' | 'writing';
  done: number;
  total: number;
}

/** The in-app file picker, open while a path is being chosen without native dialogs. */
export interface PickerRequest {
  mode: PickMode;
  suggestedName: string;
  resolve(path: string | null): void;
}

export interface ShellState {
  host: HostInfo | null;
  /** The open images, in tab order. */
  views: readonly ImageView[];
  /** The tab on screen: an image's handle, or LIBRARY. */
  active: string | null;
  status: { text: string; error?: boolean };
  progress: Progress | null;
  picker: PickerRequest | null;
  theme: Theme;
}

/**
 * The app around the images: the open images and which one is on screen, the status bar,
 * long-work progress, file choosing, the theme, and the commands of menus and shortcuts
 * (those that act on an image go to the image on screen).
 */
export class Shell {
  readonly store = new Store<ShellState>({ host: null, views: [], active: null, status: { text: 'Ready' }, progress: null, picker: null, theme: savedTheme() });
  /** What each image view gets from the shell. */
  private readonly viewHost: ImageViewHost = { status: (text, error) => this.setStatus(text, error), choosePath: (mode, name) => this.choosePath(mode, name) };

  constructor(private readonly api: WorkbenchBridge) {
    applyTheme(this.store.get().theme, false);
  }

  /** Connects to the backend (host info, events), the command bus and the keyboard; returns the disconnect. */
  start = (): (() => void) => {
    void this.api.hostInfo().then((host) => {
      this.store.set({ host, ...(host.initialFolders.length && { active: LIBRARY }) });
      host.initialPaths.forEach((p) => void this.openPath(p));
    });
    const stopEvents = this.api.onEvent(this.onEvent);
    const stopCommands = onCommand(this.run);
    window.addEventListener('keydown', this.onKey);
    return () => {
      stopEvents();
      stopCommands();
      window.removeEventListener('keydown', this.onKey);
    };
  };

  setStatus = (text: string, error?: boolean): void => this.store.set({ status: { text, error } });

  show = (tab: string): void => this.store.set({ active: tab });

  activeView(): ImageView | undefined {
    const { views, active } = this.store.get();
    return views.find((v) => v.handle === active);
  }

  openPath = async (path: string): Promise<void> => {
    performance.mark('migwb:open-requested');
    this.setStatus(`Opening ${path}…`);
    this.store.set({ progress: { path, phase: 'scan', done: 0, total: 1 } });
    try {
      const opened = await this.api.openImage(path);
      const view = new ImageView(opened, this.api, this.viewHost);
      this.store.set((s) => ({ views: [...s.views, view], active: opened.handle }));
      const errors = [...opened.containerDiagnostics, ...opened.diagnostics].filter((d) => d.severity === 'error').length;
      const via = opened.openedVia === 'scan' ? 'scanned' : `read its ${opened.openedVia === 'sidecar' ? 'sidecar ' : ''}section directory`;
      this.setStatus(`${opened.name}: ${opened.streamSize.toLocaleString()} bytes, ${via} in ${opened.openMs} ms${errors ? `, ${errors} errors` : ''}`, errors > 0);
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    } finally {
      this.store.set({ progress: null });
    }
  };

  openDialog = async (): Promise<void> => {
    const path = await this.choosePath('file');
    if (path) await this.openPath(path);
  };

  closeImage = (handle: string): void => {
    void this.api.closeImage(handle);
    this.store.set(({ views, active }) => {
      const rest = views.filter((v) => v.handle !== handle);
      return { views: rest, active: active === handle ? (rest[rest.length - 1]?.handle ?? LIBRARY) : active };
    });
  };

  /** A path chosen with the native dialog (desktop) or the in-app picker (browser). */
  choosePath = (mode: PickMode, suggestedName = ''): Promise<string | null> => {
    if (this.store.get().host?.nativeDialogs) return mode === 'file' ? this.api.pickImage() : mode === 'folder' ? this.api.pickFolder() : this.api.pickSavePath(suggestedName);
    return new Promise((resolve) => this.store.set({ picker: { mode, suggestedName, resolve } }));
  };

  pickFolder = (): Promise<string | null> => this.choosePath('folder');

  /** The in-app picker closed with a path, or cancelled (null). */
  picked = (path: string | null): void => {
    const { picker } = this.store.get();
    this.store.set({ picker: null });
    picker?.resolve(path);
  };

  /** Files dropped on the window: opened, when the host can tell their paths (the desktop app). */
  dropFiles = (files: File[]): void => {
    const paths = files.map((f) => this.api.pathForDroppedFile(f)).filter((p): p is string => !!p);
    if (files.length && !paths.length) this.setStatus('Dropping files works in the desktop app; in a browser use Open image…', true);
    paths.forEach((p) => void this.openPath(p));
  };

  toggleTheme = (): void => {
    const theme = this.store.get().theme === 'dark' ? 'light' : 'dark';
    this.store.set({ theme });
    applyTheme(theme, true);
  };

  private run = (c: Command): void => {
    const { active } = this.store.get();
    if (c.type === 'open-image') void this.openDialog();
    else if (c.type === 'open-path') void this.openPath(c.path);
    else if (c.type === 'close-image') {
      if (active && active !== LIBRARY) this.closeImage(active);
    } else if (c.type === 'toggle-theme') this.toggleTheme();
    else this.activeView()?.run(c);
  };

  private onEvent = (e: WorkbenchEvent): void => {
    if (e.type === 'open-progress') this.store.set({ progress: { path: e.path, phase: e.phase, done: e.done, total: e.total } });
    else if (e.type === 'save-progress') this.store.set({ progress: e.done >= e.total && e.phase === 'writing' ? null : { path: 'the edited image', phase: e.phase, done: e.done, total: e.total } });
    else if (e.type === 'menu') runCommand({ type: e.command });
    else if (e.type === 'open-path') void this.openPath(e.path);
  };

  private onKey = (e: KeyboardEvent): void => {
    const command = commandForKey(e, this.store.get().host?.host === 'electron');
    if (!command) return;
    e.preventDefault();
    runCommand(command);
  };
}
