import type { GuestMemorySpan, MemoryMap, MemorySearchQuery, MemorySearchResult, WorkbenchApi } from '../../shared/api/contract';
import { errorMessage, hexOffset } from '../api';
import { ByteCache } from '../byte-cache';
import { Store } from '../state/store';

/** A memory search as the search tab shows it. */
export interface MemorySearchState {
  query: MemorySearchQuery;
  running: boolean;
  progress: { done: number; total: number } | null;
  result: MemorySearchResult | null;
  error: string | null;
  /** The hit last jumped to (index into result.hits). */
  current: number | null;
}

export interface GuestMemoryState {
  /** The memory map at this revision of the image; null until loaded. */
  map: MemoryMap | null;
  mapError: string | null;
  /** What the memory view shows: guest-physical addresses (null), or one RAM block's offsets. */
  block: string | null;
  /** Bytes of the space shown at this revision (null until the map says how large it is). */
  bytes: ByteCache | null;
  cursor: number;
  reveal: { offset: number; seq: number } | null;
  /** Where the byte at the cursor came from: its page, record and file offset (or a hole). */
  origin: GuestMemorySpan | null;
  search: MemorySearchState;
}

/** What the memory view needs from the image view it belongs to. */
export interface GuestMemoryHost {
  status(text: string, error?: boolean): void;
  /** Shows the image's bytes at a stream offset (the record a page came from). */
  showRecord(streamOffset: number): void;
  /** Shows the memory view (the hex panel's guest-memory pane). */
  showMemory(): void;
}

/**
 * The guest memory of one open image, as the guest sees it: the map of its physical
 * address space, a hex view across records (pages decompressed, XBZRLE replayed), and
 * searches over all of it. Everything is read through the backend, a window at a time, so
 * an 8 GiB guest costs what is on screen.
 */
export class GuestMemory {
  readonly store = new Store<GuestMemoryState>({
    map: null,
    mapError: null,
    block: null,
    bytes: null,
    cursor: 0,
    reveal: null,
    origin: null,
    search: { query: { kind: 'string', pattern: '' }, running: false, progress: null, result: null, error: null, current: null },
  });
  private seq = 0;
  private mapRequest: Promise<MemoryMap | null> | null = null;

  constructor(
    private readonly api: WorkbenchApi,
    private readonly handle: string,
    private readonly host: GuestMemoryHost,
  ) {}

  private get state(): GuestMemoryState {
    return this.store.get();
  }

  /** The map, loaded on first use (and again after each revision). */
  loadMap = (): Promise<MemoryMap | null> => {
    this.mapRequest ??= this.api.memoryMap(this.handle).then(
      (map) => {
        const block = this.state.block ?? (map.hasLayout ? null : (map.rows[0]?.block ?? null));
        this.store.set({ map, mapError: null, block, bytes: this.cacheFor(map, block) });
        return map;
      },
      (e) => {
        this.store.set({ mapError: errorMessage(e) });
        return null;
      },
    );
    return this.mapRequest;
  };

  /** A new revision of the image (an edit): the map and bytes are read again. */
  revisionChanged(): void {
    this.mapRequest = null;
    this.store.set({ map: null, bytes: null });
    void this.loadMap().then(() => this.moveCursor(this.state.cursor));
  }

  /** Shows guest-physical addresses (null) or one block's offsets. */
  showBlock = (block: string | null): void => {
    if (!this.state.map || block === this.state.block) return;
    this.setSpace(block);
    this.store.set({ cursor: 0, reveal: this.reveal(0) });
    void this.describeCursor();
  };

  /** Moves the memory view's cursor (a click or the keyboard in the view). */
  moveCursor = (offset: number): void => {
    this.store.set({ cursor: offset });
    void this.describeCursor();
  };

  /** Goes to a guest-physical address (or block offset) and shows the memory view; says so when nothing is there. */
  goTo = async (address: number, space: { block: string | null } = { block: this.state.block }): Promise<void> => {
    const map = await this.loadMap();
    if (!map) return;
    this.setSpace(space.block);
    const size = this.state.bytes?.size ?? 0;
    const where = space.block === null ? 'guest memory' : space.block;
    if (address >= size) return this.host.status(`${hexOffset(address)} is past the end of ${where}, which ends at ${hexOffset(Math.max(0, size - 1))}`, true);
    this.host.showMemory();
    this.store.set({ cursor: address, reveal: this.reveal(address) });
    const origin = await this.describeCursor();
    if (origin?.hole) {
      const row = map.rows.find((r) => r.kind === 'hole' && r.gpa !== null && address >= r.gpa && address < r.gpa + r.size);
      this.host.status(`nothing is mapped at guest-physical ${hexOffset(address)}${row ? `: ${row.why}` : ''}`);
    } else if (origin) this.host.status(describeOrigin(origin));
  };

  search = async (query: MemorySearchQuery): Promise<void> => {
    // The previous result goes at once: what is shown is always the current search.
    this.store.set({ search: { query, running: true, progress: null, result: null, error: null, current: null } });
    try {
      const result = await this.api.memorySearch(this.handle, query);
      if (this.state.search.query !== query) return; // a newer search replaced this one
      this.setSearch({ running: false, progress: null, result });
      this.host.status(summariseSearch(query, result));
    } catch (e) {
      if (this.state.search.query !== query) return;
      this.setSearch({ running: false, progress: null, error: errorMessage(e) });
    }
  };

  cancelSearch = (): void => void this.api.memorySearchCancel(this.handle);

  /** Shows the record the page at the cursor came from. */
  showRecordAtCursor = (): void => {
    const at = this.state.origin?.streamOffset;
    if (at !== undefined) this.host.showRecord(at);
  };

  /** A progress event of this image's running search. */
  searchProgress(done: number, total: number): void {
    if (this.state.search.running) this.setSearch({ progress: { done, total } });
  }

  /**
   * Jumps to the record holding a hit: the image's bytes at its data, with the page record
   * selected. A page that no record stores (zero, never sent) is shown in the memory view.
   */
  openHit = (index: number): void => {
    const hit = this.state.search.result?.hits[index];
    if (!hit) return;
    this.setSearch({ current: index });
    // The memory view follows, at the hit, for when the user switches to it.
    const gpaSpace = !!this.state.map?.hasLayout && hit.gpa !== undefined;
    const block = gpaSpace ? null : hit.block;
    const address = gpaSpace ? hit.gpa! : hit.blockOffset;
    if (hit.streamOffset === undefined) return void this.goTo(address, { block });
    this.setSpace(block);
    this.store.set({ cursor: address, reveal: this.reveal(address) });
    void this.describeCursor();
    this.host.showRecord(hit.streamOffset);
  };

  private setSearch(patch: Partial<MemorySearchState>): void {
    this.store.set((s) => ({ search: { ...s.search, ...patch } }));
  }

  private async describeCursor(): Promise<GuestMemorySpan | null> {
    const { bytes, cursor } = this.state;
    if (!bytes || cursor >= bytes.size) return null;
    try {
      const origin = (await bytes.origin(cursor)) ?? null;
      if (this.state.cursor === cursor && this.state.bytes === bytes) this.store.set({ origin });
      return origin;
    } catch (e) {
      this.host.status(errorMessage(e), true);
      return null;
    }
  }

  private cacheFor(map: MemoryMap, block: string | null): ByteCache {
    const size = block === null ? map.end : (map.blocks.find((b) => b.id === block)?.size ?? 0);
    return ByteCache.ofGuestMemory(this.handle, size, block);
  }

  /** Shows the space of guest-physical addresses (null) or of one block, with fresh bytes if it changed. */
  private setSpace(block: string | null): void {
    const { map } = this.state;
    if (map && (block !== this.state.block || !this.state.bytes)) this.store.set({ block, bytes: this.cacheFor(map, block), origin: null });
  }

  private reveal(offset: number): { offset: number; seq: number } {
    return { offset, seq: ++this.seq };
  }
}

/** "GPA 0x00100000 · pc.ram+0x00100000 · compress record, data at stream 0x…" */
export function describeOrigin(o: GuestMemorySpan): string {
  if (o.hole) return 'nothing mapped here';
  const at = o.gpa !== undefined ? `GPA ${hexOffset(o.gpa)} · ` : '';
  const stored = o.streamOffset !== undefined ? `, data at stream ${hexOffset(o.streamOffset)}${o.fileOffset !== undefined && o.fileOffset !== o.streamOffset ? ` (file ${hexOffset(o.fileOffset)})` : ''}` : '';
  const kind = o.kind === 'never-sent' ? 'never sent (reads as zeros)' : `${o.kind} record${stored}`;
  return `${at}${o.block}+${hexOffset(o.blockOffset ?? 0)} · ${kind}${(o.sends ?? 0) > 1 ? ` · sent ${o.sends} times` : ''}${o.problem ? ` · PROBLEM: ${o.problem}` : ''}`;
}

function summariseSearch(q: MemorySearchQuery, r: MemorySearchResult): string {
  if (r.cancelled) return 'Memory search cancelled';
  const count = `${r.hits.length}${r.truncated ? '+' : ''} hit${r.hits.length === 1 ? '' : 's'}`;
  const edits = r.editsNotSearched ? `; the file on disk was searched, not the ${r.editsNotSearched} unsaved edit${r.editsNotSearched === 1 ? '' : 's'}` : '';
  return `Memory search for ${q.kind} ${JSON.stringify(q.pattern)}: ${count} in ${(r.scannedBytes / 2 ** 20).toFixed(0)} MiB of guest memory (${(r.elapsedMs / 1000).toFixed(1)} s)${edits}`;
}
