import type { LibraryImage, LibraryIndexReport, WorkbenchApi, WorkbenchEvent } from '../../shared/api/contract';
import { errorMessage } from '../api';
import type { PathRequest } from '../components/FilePicker';
import { Store } from '../state/store';
import { libraryRows, type LibraryRow, type SortKey } from './library-filter';
import { LibraryScreens } from './library-screens';

export type IndexProgress = Extract<WorkbenchEvent, { type: 'index-progress' }>;

export interface LibraryState {
  images: readonly LibraryImage[];
  /** The images with what the filter and the sort read, computed once per listing. */
  rows: readonly LibraryRow[];
  filter: string;
  sort: { key: SortKey; descending: boolean };
  /** Ids of the selected images (some may be hidden by the filter: actions take only the visible ones). */
  selected: ReadonlySet<number>;
  /** The row the keyboard is on, and where a Shift+click range starts. */
  focus: number | null;
  anchor: number | null;
  /** Indexing is running; its last progress event (null until the first arrives). */
  indexing: boolean;
  progress: IndexProgress | null;
  /** Progress events heard so far (the e2e tests read it). */
  progressEvents: number;
  /** The last progress event of the latest run, kept after it ends (the e2e tests read it: a short run's bar may come and go between two looks). */
  lastProgress: IndexProgress | null;
  /** A tag, note or export is being written. */
  busy: boolean;
  /** Rows as a table, or as a grid of the guests' screens. */
  layout: 'table' | 'screens';
}

/** What the library needs from the app around it. */
export interface LibraryHost {
  status(text: string, error?: boolean): void;
  openPaths(paths: readonly string[]): Promise<void>;
  /** Opens two images side by side in a compare tab. */
  comparePaths(a: string, b: string): Promise<void>;
  choosePath(request: PathRequest): Promise<string | null>;
}

const NO_SELECTION: ReadonlySet<number> = new Set();

/**
 * The image library, the app's front door: the indexed images, the filter, sort and
 * selection, and what can be done to the selected rows (open, re-index, tag, note, export).
 * Indexing runs in the backend's worker; its progress events arrive through `indexProgress`.
 */
export class LibraryModel {
  readonly store = new Store<LibraryState>({
    images: [],
    rows: [],
    filter: '',
    sort: { key: 'name', descending: false },
    selected: NO_SELECTION,
    focus: null,
    anchor: null,
    indexing: false,
    progress: null,
    progressEvents: 0,
    lastProgress: null,
    busy: false,
    layout: 'table',
  });
  /** The screen thumbnails of the rows on screen. */
  readonly screens: LibraryScreens;

  constructor(
    private readonly api: WorkbenchApi,
    private readonly host: LibraryHost,
  ) {
    this.screens = new LibraryScreens(api);
  }

  private get state(): LibraryState {
    return this.store.get();
  }

  /** Reads the library's rows again; selected images that are gone are deselected. */
  refresh = async (): Promise<void> => {
    try {
      const images = await this.api.libraryList();
      this.screens.listed(images);
      const ids = new Set(images.map((i) => i.id));
      const selected = new Set([...this.state.selected].filter((id) => ids.has(id)));
      this.store.set({ images, rows: libraryRows(images), selected, focus: this.state.focus !== null && ids.has(this.state.focus) ? this.state.focus : null });
    } catch (e) {
      this.host.status(errorMessage(e), true);
    }
  };

  setFilter = (filter: string): void => this.store.set({ filter });

  showAs = (layout: LibraryState['layout']): void => this.store.set({ layout });

  /** Sorts by a column; the same column again reverses the order. */
  sortBy = (key: SortKey): void => this.store.set((s) => ({ sort: { key, descending: s.sort.key === key ? !s.sort.descending : false } }));

  /**
   * Selects a row as a click does: alone; with `toggle` (Ctrl/Cmd) added or removed; with
   * `extend` (Shift) the range from the anchor, among the rows shown (`visible`, in order).
   */
  select = (id: number, visible: readonly LibraryRow[], how: { toggle?: boolean; extend?: boolean } = {}): void => {
    const { selected, anchor } = this.state;
    if (how.extend && anchor !== null) {
      const from = visible.findIndex((r) => r.image.id === anchor);
      const to = visible.findIndex((r) => r.image.id === id);
      if (from >= 0 && to >= 0) {
        const range = visible.slice(Math.min(from, to), Math.max(from, to) + 1).map((r) => r.image.id);
        this.store.set({ selected: new Set(how.toggle ? [...selected, ...range] : range), focus: id });
        return;
      }
    }
    if (how.toggle) {
      const next = new Set(selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      this.store.set({ selected: next, focus: id, anchor: id });
    } else this.store.set({ selected: new Set([id]), focus: id, anchor: id });
  };

  selectAll = (visible: readonly LibraryRow[]): void => this.store.set({ selected: new Set(visible.map((r) => r.image.id)) });

  clearSelection = (): void => this.store.set({ selected: NO_SELECTION, anchor: null });

  /** Opens the images of these rows (each in its tab); files that are not readable images are left out, with a word. */
  open = async (rows: readonly LibraryRow[]): Promise<void> => {
    const openable = rows.filter((r) => r.image.status === 'indexed');
    if (openable.length < rows.length) this.host.status(`${rows.length - openable.length} of the selected files cannot be opened (see their status)`, true);
    await this.host.openPaths(openable.map((r) => r.image.path));
  };

  /** Compares the two selected images side by side. */
  compare = async (rows: readonly LibraryRow[]): Promise<void> => {
    if (rows.length !== 2) return this.host.status('Select exactly two images to compare', true);
    const unopenable = rows.filter((r) => r.image.status !== 'indexed');
    if (unopenable.length) return this.host.status(`${unopenable.map((r) => r.image.path).join(', ')} cannot be opened (see the status column)`, true);
    await this.host.comparePaths(rows[0].image.path, rows[1].image.path);
  };

  /** Indexes folders (remembered by the library) or, with none, re-reads every file of it. */
  index = (paths: readonly string[]): Promise<void> => this.runIndex(() => this.api.libraryIndex([...paths]));

  /** Indexes again the files of these rows (only changed ones are read). */
  reindex = (rows: readonly LibraryRow[]): Promise<void> => this.runIndex(() => this.api.libraryReindex(rows.map((r) => r.image.id)));

  cancelIndexing = (): void => void this.api.libraryCancel();

  /**
   * A progress event of the running indexing. Over the bridge the run's result comes on
   * another connection than its events and may overtake the last of them: those still count
   * (the bar is gone, but lastProgress ends at the run's final numbers).
   */
  indexProgress(e: IndexProgress): void {
    this.store.set((s) => ({ progress: s.indexing ? e : null, lastProgress: e, progressEvents: s.progressEvents + 1 }));
  }

  /** Adds a tag to (or removes it from) these rows. */
  tag = async (rows: readonly LibraryRow[], tag: string, remove: boolean): Promise<boolean> => {
    const clean = tag.trim();
    if (!clean || /[,\s]/.test(clean)) {
      this.host.status('A tag is one word: no spaces or commas (use case-4711, not "case 4711")', true);
      return false;
    }
    if (!rows.length) return false;
    return this.write(
      () => this.api.libraryTag(rows.map((r) => r.image.id), [clean], remove),
      `${remove ? 'Removed the tag' : 'Tagged'} ${clean} ${remove ? 'from' : 'on'} ${count(rows.length, 'image')}`,
    );
  };

  addNote = (image: LibraryImage, text: string): Promise<boolean> => {
    if (!text.trim()) return Promise.resolve(false);
    return this.write(() => this.api.libraryAddNote(image.id, text.trim()), `Note added to ${nameOf(image.path)}`);
  };

  deleteNote = (image: LibraryImage, noteId: number): Promise<boolean> => this.write(() => this.api.libraryDeleteNote(noteId), `Note deleted from ${nameOf(image.path)}`);

  /** Writes these rows to a file the user names, as CSV or JSON. */
  export = async (rows: readonly LibraryRow[], format: 'csv' | 'json'): Promise<void> => {
    if (!rows.length) return;
    const out = await this.host.choosePath({ mode: 'save', title: `Export ${count(rows.length, 'library row')} as ${format.toUpperCase()}`, suggestedName: `library.${format}` });
    if (!out) return;
    await this.write(async () => {
      const r = await this.api.libraryExport(rows.map((x) => x.image.id), format, out);
      this.host.status(`Exported ${count(r.rows, 'row')} to ${r.path}`);
    }, null);
  };

  private async runIndex(run: () => Promise<LibraryIndexReport>): Promise<void> {
    if (this.state.indexing) return;
    this.store.set({ indexing: true, progress: null, lastProgress: null });
    try {
      const r = await run();
      this.host.status(
        `${r.cancelled ? 'Indexing cancelled' : 'Indexed'}: ${r.indexed} new or changed, ${r.unchanged} unchanged, ${r.missing} missing, ${r.failed} failed of ${count(r.files, 'file')} in ${(r.elapsedMs / 1000).toFixed(1)} s`,
      );
    } catch (e) {
      this.host.status(errorMessage(e), true);
    } finally {
      this.store.set({ indexing: false, progress: null });
      await this.refresh();
    }
  }

  /** A change to the library's user data, then the rows read again. */
  private async write(work: () => Promise<unknown>, done: string | null): Promise<boolean> {
    this.store.set({ busy: true });
    try {
      await work();
      if (done) this.host.status(done);
      return true;
    } catch (e) {
      this.host.status(errorMessage(e), true);
      return false;
    } finally {
      this.store.set({ busy: false });
      await this.refresh();
    }
  }
}

export function nameOf(path: string): string {
  return path.split(/[/\\]/).pop() ?? path;
}

/** Number.toLocaleString builds a formatter on each call; the library bar counts on every keystroke. */
const NUMBER = new Intl.NumberFormat();

export function formatNumber(n: number): string {
  return NUMBER.format(n);
}

export function count(n: number, what: string): string {
  return `${formatNumber(n)} ${what}${n === 1 ? '' : 's'}`;
}
