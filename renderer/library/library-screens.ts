import type { LibraryImage, LibraryScreen, WorkbenchApi } from '../../shared/api/contract';
import { errorMessage } from '../api';
import { Store } from '../state/store';

/** Ids per request: thumbnails not drawn yet are drawn by the backend's worker, so small batches let them appear as they come. */
const BATCH = 16;

/**
 * The library's screen thumbnails, asked for only when a row or card is on screen: the
 * backend reads those it stored, and draws the others in its thumbnail worker (then stores
 * them). Requests of one frame are batched; a thumbnail is kept until its image is indexed again.
 */
export class LibraryScreens {
  readonly store = new Store<{ screens: ReadonlyMap<number, LibraryScreen> }>({ screens: new Map() });
  private readonly wanted = new Set<number>();
  private readonly asked = new Set<number>();
  /** The indexing time each kept thumbnail belongs to. */
  private readonly indexedAt = new Map<number, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private fetching = false;

  constructor(private readonly api: WorkbenchApi) {}

  /** A row or card showing this image is on screen. */
  want = (id: number): void => {
    if (this.asked.has(id) || this.store.get().screens.has(id)) return;
    this.wanted.add(id);
    this.timer ??= setTimeout(() => void this.fetch(), 16);
  };

  /** It left the screen before its thumbnail was asked for: not asked for (a fast scroll through 10,000 rows draws only where it stops). */
  unwant = (id: number): void => void this.wanted.delete(id);

  /** The library was listed again: thumbnails of images indexed since, or gone, are dropped. */
  listed(images: readonly LibraryImage[]): void {
    const current = new Map(images.map((i) => [i.id, i.indexedAt]));
    const stale = [...this.indexedAt].filter(([id, at]) => current.get(id) !== at).map(([id]) => id);
    for (const [id, at] of current) if (!this.indexedAt.has(id)) this.indexedAt.set(id, at);
    if (!stale.length) return;
    const screens = new Map(this.store.get().screens);
    for (const id of stale) {
      screens.delete(id);
      this.asked.delete(id);
      if (current.has(id)) this.indexedAt.set(id, current.get(id)!);
      else this.indexedAt.delete(id);
    }
    this.store.set({ screens });
  }

  /** One request at a time, each for the rows on screen now, so the backend never queues the thumbnails of rows scrolled past. */
  private async fetch(): Promise<void> {
    this.timer = undefined;
    if (this.fetching) return;
    this.fetching = true;
    try {
      while (this.wanted.size) {
        const batch = [...this.wanted].slice(-BATCH);
        for (const id of batch) {
          this.wanted.delete(id);
          this.asked.add(id);
        }
        let got: LibraryScreen[];
        try {
          got = await this.api.libraryScreens(batch);
        } catch (e) {
          got = batch.map((id) => ({ id, png: null, width: null, height: null, mode: null, reason: `the thumbnail could not be read: ${errorMessage(e)}` }));
        }
        const screens = new Map(this.store.get().screens);
        for (const s of got) screens.set(s.id, s);
        for (const id of batch) if (!screens.has(id)) screens.set(id, { id, png: null, width: null, height: null, mode: null, reason: 'not given: the file is outside the folders this window may read' });
        this.store.set({ screens });
      }
    } finally {
      this.fetching = false;
    }
  }
}
