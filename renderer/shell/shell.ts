import type { HostInfo, WorkbenchBridge, WorkbenchEvent } from '../../shared/api/contract';
import { errorMessage } from '../api';
import { onCommand, runCommand, type Command } from '../commands';
import type { ConfirmRequest } from '../components/ConfirmDialog';
import type { PathRequest } from '../components/FilePicker';
import { CompareView } from '../compare/compare-view';
import { ImageView, type ImageViewHost, type StatusMessage } from '../image/image-view';
import { LibraryModel } from '../library/library-model';
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
export interface PickerRequest extends PathRequest {
  resolve(path: string | null): void;
}

/** An in-app question on screen. */
export interface ConfirmState extends ConfirmRequest {
  resolve(value: string | null): void;
}

export interface ShellState {
  host: HostInfo | null;
  /** The open images, in tab order. */
  views: readonly ImageView[];
  /** Open comparisons of two images, each in its tab after the images'. */
  compares: readonly CompareView[];
  /** The tab on screen: an image's handle, a comparison's id, or LIBRARY. */
  active: string | null;
  /** The library's (and the app's) last message; each image keeps its own. */
  status: StatusMessage;
  progress: Progress | null;
  picker: PickerRequest | null;
  confirm: ConfirmState | null;
  theme: Theme;
  /** Images are opened for evidence: read-only, their sha256 recorded in the library on open. */
  evidenceMode: boolean;
}

/**
 * The app around the images: the open images and which one is on screen, the status bar,
 * long-work progress, file choosing, the theme, and the commands of menus and shortcuts
 * (those that act on an image go to the image on screen).
 */
export class Shell {
  readonly store = new Store<ShellState>({ host: null, views: [], compares: [], active: null, status: { text: 'Ready' }, progress: null, picker: null, confirm: null, theme: savedTheme(), evidenceMode: false });
  /** What each image view gets from the shell. */
  private readonly viewHost: ImageViewHost = { choosePath: (request) => this.choosePath(request), confirm: (request) => this.confirm(request), compareWith: (handle) => this.compareWith(handle) };
  private compareSeq = 0;
  /** The library tab: indexed images, their filter and selection, indexing. */
  readonly library: LibraryModel;

  constructor(private readonly api: WorkbenchBridge) {
    applyTheme(this.store.get().theme, false);
    this.library = new LibraryModel(api, { status: (text, error) => this.setStatus(text, error), openPaths: (paths) => this.openPaths(paths), comparePaths: (a, b) => this.comparePaths(a, b), choosePath: (request) => this.choosePath(request) });
  }

  /** Connects to the backend (host info, events), the command bus and the keyboard; returns the disconnect. */
  start = (): (() => void) => {
    void this.api.hostInfo().then((host) => {
      this.store.set({ host, ...(host.initialFolders.length && { active: LIBRARY }) });
      host.initialPaths.forEach((p) => void this.openPath(p));
      // What the library holds, then the folders given on the command line (indexed again: only changed files are read).
      void this.library.refresh().then(() => (host.initialFolders.length ? this.library.index(host.initialFolders) : undefined));
    });
    const stopEvents = this.api.onEvent(this.onEvent);
    const stopCommands = onCommand(this.run);
    window.addEventListener('keydown', this.onKey);
    window.addEventListener('beforeunload', this.onBeforeUnload);
    return () => {
      stopEvents();
      stopCommands();
      window.removeEventListener('keydown', this.onKey);
      window.removeEventListener('beforeunload', this.onBeforeUnload);
    };
  };

  /** The library's (and the app's) status line. */
  setStatus = (text: string, error?: boolean): void => this.store.set({ status: { text, error } });

  /** A message for the tab on screen: the image's own line, or the library's. */
  tellActive = (text: string, error?: boolean): void => {
    const view = this.activeView();
    if (view) view.setStatus(text, error);
    else this.setStatus(text, error);
  };

  show = (tab: string): void => this.store.set({ active: tab });

  activeView(): ImageView | undefined {
    const { views, active } = this.store.get();
    return views.find((v) => v.handle === active);
  }

  openPath = async (path: string): Promise<void> => void (await this.open(path));

  /** Opens an image in a new tab; resolves with its view (undefined when it could not be opened: the status says why). */
  private open = async (path: string): Promise<ImageView | undefined> => {
    performance.mark('migwb:open-requested');
    this.store.set({ progress: { path, phase: 'scan', done: 0, total: 1 } });
    try {
      const opened = await (this.store.get().evidenceMode ? this.api.openEvidence(path) : this.api.openImage(path));
      const view = new ImageView(opened, this.api, this.viewHost);
      this.store.set((s) => ({ views: [...s.views, view], active: opened.handle }));
      const errors = [...opened.containerDiagnostics, ...opened.diagnostics].filter((d) => d.severity === 'error').length;
      const via = opened.openedVia === 'scan' ? 'scanned' : `read its ${opened.openedVia === 'sidecar' ? 'sidecar ' : ''}section directory`;
      const evidence = opened.evidence ? `; opened for evidence (read-only), sha256 ${opened.evidence.sha256} recorded${opened.evidence.changed ? ': THE FILE CHANGED since it was first opened for evidence (see Diagnostics)' : ''}` : '';
      view.setStatus(`${opened.name}: ${describeSize(opened)}, ${via} in ${opened.openMs} ms${errors ? `, ${errors} errors` : ''}${evidence}`, errors > 0);
      return view;
    } catch (e) {
      this.tellActive(errorMessage(e), true);
      return undefined;
    } finally {
      this.store.set({ progress: null });
    }
  };

  /** The open view of a file, or a new one. */
  private viewOfPath = async (path: string): Promise<ImageView | undefined> => this.store.get().views.find((v) => v.store.get().image.path === path) ?? (await this.open(path));

  /**
   * Two images side by side in a compare tab (each also in its own tab, where its edits are
   * the same), compared at once.
   */
  comparePaths = async (pathA: string, pathB: string): Promise<void> => {
    if (pathA === pathB) return this.tellActive('Choose two different images to compare', true);
    const a = await this.viewOfPath(pathA);
    const b = a && (await this.viewOfPath(pathB));
    if (a && b) this.compare(a, b);
  };

  /** "Compare with…" on an image: the other image is chosen in a file dialog. */
  compareWith = async (handle: string): Promise<void> => {
    const view = this.viewOf(handle);
    if (!view) return;
    const other = await this.choosePath({ mode: 'file', title: `Compare ${view.store.get().image.name} with…` });
    if (other) await this.comparePaths(view.store.get().image.path, other);
  };

  private compare(a: ImageView, b: ImageView): void {
    const compare = new CompareView(a, b, this.api, `compare-${++this.compareSeq}`);
    this.store.set((s) => ({ compares: [...s.compares, compare], active: compare.id }));
    void compare.run();
  }

  closeCompare = (id: string): void =>
    this.store.set(({ compares, views, active }) => ({ compares: compares.filter((c) => c.id !== id), active: active === id ? (views[views.length - 1]?.handle ?? LIBRARY) : active }));

  /** Opens several images (from the library), one after another. */
  openPaths = async (paths: readonly string[]): Promise<void> => {
    for (const p of paths) await this.openPath(p);
  };

  openDialog = async (): Promise<void> => {
    const path = await this.choosePath({ mode: 'file' });
    if (path) await this.openPath(path);
  };

  /**
   * Closes an image's tab. With unsaved edits it asks first: save them, keep them (the
   * journal stays beside the library and is offered when the image is opened again),
   * discard them, or stay.
   */
  closeImage = async (handle: string): Promise<void> => {
    const view = this.store.get().views.find((v) => v.handle === handle);
    if (!view) return;
    if (view.dirty) {
      this.show(handle);
      const { image } = view.store.get();
      const choice = await this.confirm({
        title: 'Unsaved edits',
        message: `${image.name} has ${image.edits} unsaved edit${image.edits === 1 ? '' : 's'}.`,
        detail: 'The file itself is never written. Save the edited image as a new file, keep the edits to restore when you open the image again, or discard them.',
        buttons: [
          { label: 'Cancel', value: 'cancel' },
          { label: 'Discard edits', value: 'discard', danger: true },
          { label: 'Keep edits for later', value: 'keep' },
          { label: 'Save as…', value: 'save', primary: true },
        ],
      });
      if (choice === 'save' && !(await view.save({ force: false, streamOnly: false }))) return;
      if (choice === null || choice === 'cancel') return;
      if (choice === 'discard') await this.api.discardAutosave(handle).catch(() => undefined);
    }
    await this.api.closeImage(handle).catch(() => undefined);
    this.store.set(({ views, compares, active }) => {
      const rest = views.filter((v) => v.handle !== handle);
      // A comparison shows the image: it goes with it.
      const gone = compares.filter((c) => c.a.handle === handle || c.b.handle === handle).map((c) => c.id);
      const shown = active === handle || (active !== null && gone.includes(active));
      return { views: rest, compares: compares.filter((c) => !gone.includes(c.id)), active: shown ? (rest[rest.length - 1]?.handle ?? LIBRARY) : active };
    });
  };

  /** A path chosen with the native dialog (desktop) or the in-app picker (browser). */
  choosePath = (request: PathRequest): Promise<string | null> => {
    if (this.store.get().host?.nativeDialogs) return request.mode === 'file' ? this.api.pickImage() : request.mode === 'folder' ? this.api.pickFolder() : this.api.pickSavePath(request.suggestedName ?? '');
    return new Promise((resolve) => this.store.set({ picker: { ...request, resolve } }));
  };

  /** Asks a question in the app; resolves with the chosen button's value, or null. */
  confirm = (request: ConfirmRequest): Promise<string | null> => new Promise((resolve) => this.store.set({ confirm: { ...request, resolve } }));

  /** The question on screen was answered. */
  answered = (value: string | null): void => {
    const { confirm } = this.store.get();
    this.store.set({ confirm: null });
    confirm?.resolve(value);
  };

  pickFolder = (): Promise<string | null> => this.choosePath({ mode: 'folder', title: 'Add a folder to the library' });

  /** The in-app picker closed with a path, or cancelled (null). */
  picked = (path: string | null): void => {
    const { picker } = this.store.get();
    this.store.set({ picker: null });
    picker?.resolve(path);
  };

  /** Files dropped on the window: opened, when the host can tell their paths (the desktop app). */
  dropFiles = (files: File[]): void => {
    const paths = files.map((f) => this.api.pathForDroppedFile(f)).filter((p): p is string => !!p);
    if (files.length && !paths.length) this.tellActive('Dropping files works in the desktop app; in a browser use Open image…', true);
    paths.forEach((p) => void this.openPath(p));
  };

  setEvidenceMode = (evidenceMode: boolean): void => this.store.set({ evidenceMode });

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
      if (this.store.get().compares.some((x) => x.id === active)) this.closeCompare(active!);
      else if (active && active !== LIBRARY) void this.closeImage(active);
    } else if (c.type === 'toggle-theme') this.toggleTheme();
    else this.activeView()?.run(c);
  };

  private onEvent = (e: WorkbenchEvent): void => {
    if (e.type === 'memory-search-progress') this.viewOf(e.handle)?.memory.searchProgress(e.done, e.total);
    else if (e.type === 'diff-progress') this.store.get().compares.filter((c) => c.a.handle === e.handle).forEach((c) => c.progress(e.done, e.total));
    else if (e.type === 'search-progress') this.viewOf(e.handle)?.searchProgress(e.done, e.total);
    else if (e.type === 'index-progress') this.library.indexProgress(e);
    else if (e.type === 'open-progress') this.store.set({ progress: { path: e.path, phase: e.phase, done: e.done, total: e.total } });
    else if (e.type === 'transform-progress') this.viewOf(e.handle)?.transform.progress(e);
    else if (e.type === 'save-progress') this.store.set({ progress: e.done >= e.total && e.phase === 'writing' ? null : { path: 'the edited image', phase: e.phase, done: e.done, total: e.total } });
    else if (e.type === 'menu') runCommand({ type: e.command });
    else if (e.type === 'open-path') void this.openPath(e.path);
  };

  private viewOf(handle: string): ImageView | undefined {
    return this.store.get().views.find((v) => v.handle === handle);
  }

  /** Leaving the page (reload, closing the browser tab) with unsaved edits: the browser asks first. */
  private onBeforeUnload = (e: BeforeUnloadEvent): void => {
    if (!this.store.get().views.some((v) => v.dirty)) return;
    e.preventDefault();
    e.returnValue = ''; // older browsers ask only when returnValue is set
  };

  private onKey = (e: KeyboardEvent): void => {
    const command = commandForKey(e, this.store.get().host?.host === 'electron');
    if (!command) return;
    e.preventDefault();
    runCommand(command);
  };
}

/** "433,073 bytes" for a bare stream; for a wrapped one, the file's size and the stream's, each named. */
export function describeSize(image: { fileSize: number; streamSize: number; layers: string[] }): string {
  const bytes = (n: number) => `${n.toLocaleString()} bytes`;
  return image.layers.length ? `file ${bytes(image.fileSize)}, QEMU stream ${bytes(image.streamSize)}` : bytes(image.fileSize);
}
