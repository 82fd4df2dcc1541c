import type { GuestMemoryWindow, MemorySearchQuery, MemorySearchResult } from '../../shared/api/contract';
import { exportModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { MemoryMap } from '../../shared/api/memory-map';
import { memoryMap } from '../../shared/memory/memory-map';
import { readGuestWindow } from '../memory/read-memory';
import { compilePattern, type SearchPattern } from '../memory/pattern';
import type { SearchResult } from '../memory/search';
import type { MemorySearchJob, MemorySearchProgress } from '../memory/search-worker';
import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { ImageSession } from './image-session';

/** Cells per row of the memory map: finer than any map panel draws. */
const MAP_CELLS = 256;
const DEFAULT_MAX_HITS = 1000;

/** The guest's memory map of the image as it stands (edits included). */
export function sessionMemoryMap(session: ImageSession): MemoryMap {
  const { model, layout } = session.guest();
  return memoryMap(model, layout, MAP_CELLS);
}

/** A window of guest memory for the memory view: guest-physical (`block` null) or one block's offsets. */
export function sessionGuestWindow(session: ImageSession, block: string | null, offset: number, length: number): GuestMemoryWindow {
  const guest = session.guest();
  const { bytes, spans } = readGuestWindow(guest, guest.layout, block === null ? { gpa: true } : { block }, offset, length);
  return {
    bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'),
    spans: spans.map((s) => (s.hole ? { at: s.at, length: s.length, hole: true as const } : { at: s.at, ...s.origin, length: s.length })),
  };
}

/**
 * Searches all guest memory of an open image in a worker, with the service `migwb search`
 * uses (compressed and XBZRLE pages decoded). The worker attaches the image as the main
 * thread holds it, so nothing is detected, decompressed or scanned again. It reads the file
 * as it is on disk: unsaved edits are not searched, and the result says how many there are.
 */
export async function searchSessionMemory(
  session: ImageSession,
  query: MemorySearchQuery,
  controls: { signal: AbortSignal; onProgress(p: MemorySearchProgress): void },
): Promise<MemorySearchResult> {
  const started = Date.now();
  const pattern = patternOf(query);
  compilePattern(pattern); // a bad regex or hex string is reported before a worker starts
  const image = session.original;
  const job: MemorySearchJob = {
    path: image.path,
    container: image.container,
    model: exportModel(image.model),
    via: image.via,
    pattern,
    maxHits: query.maxHits ?? DEFAULT_MAX_HITS,
  };
  const editsNotSearched = session.opened.edits;
  try {
    const found = await runWorkerJob<MemorySearchJob, SearchResult, MemorySearchProgress>(compiledWorker('memory/search-worker.js'), job, controls);
    const hits = found.hits.map(({ gpa, aliases, block, blockOffset, length, kind, streamOffset, fileOffset, match }) => ({ gpa, aliases, block, blockOffset, length, kind, streamOffset, fileOffset, match }));
    return { hits, truncated: found.truncated, scannedBytes: found.scannedBytes, elapsedMs: Date.now() - started, cancelled: false, editsNotSearched };
  } catch (e) {
    if (!controls.signal.aborted) throw e;
    return { hits: [], truncated: false, scannedBytes: 0, elapsedMs: Date.now() - started, cancelled: true, editsNotSearched };
  }
}

function patternOf(q: MemorySearchQuery): SearchPattern {
  return q.kind === 'string' ? { string: q.pattern } : q.kind === 'hex' ? { hex: q.pattern } : { regex: q.pattern };
}
