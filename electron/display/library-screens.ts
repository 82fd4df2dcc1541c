import type { LibraryScreen } from '../../shared/api/contract';
import type { Library } from '../index/library';
import { compiledWorker } from '../services/worker-job';
import { WorkerPool } from '../services/worker-pool';
import type { DrawnScreen, ScreenJob } from './screen-worker';

/** One worker: thumbnails are drawn for the rows on screen, a few at a time, never competing with the UI for both cores. */
const pool = new WorkerPool<ScreenJob, DrawnScreen[]>(() => compiledWorker('display/screen-worker.js'), 1);

/** A batch's longest time before its worker is stopped (a hostile image must not hold the thumbnails up). */
const BUDGET_MS = 60_000;

/**
 * The library's screen thumbnails of these images: those stored already, and the others
 * drawn now in the thumbnail worker (on demand: only what the view shows is ever asked
 * for) and stored for next time. A re-index of a changed file drops its thumbnail.
 */
export async function libraryScreens(library: Library, ids: readonly number[]): Promise<(LibraryScreen & { path: string })[]> {
  const known = library.screens(ids);
  const missing = known.filter((s) => s.toDraw).map((s) => ({ id: s.id, path: s.path, size: s.toDraw!.size, mtimeMs: s.toDraw!.mtimeMs }));
  if (!missing.length) return known.map(withoutDrawInfo);
  let drawn: DrawnScreen[];
  try {
    drawn = await pool.run({ images: missing }, { budgetMs: BUDGET_MS });
  } catch (e) {
    drawn = missing.map((m) => ({ id: m.id, png: null, width: null, height: null, mode: null, reason: `the screen could not be drawn: ${(e as Error).message}` }));
  }
  const sha = new Map(known.map((s) => [s.id, s.toDraw?.sha256 ?? null]));
  library.storeScreens(drawn.map((d) => ({ ...d, sha256: sha.get(d.id) ?? null })));
  const byId = new Map(drawn.map((d) => [d.id, d]));
  return known.map((s) => {
    const d = byId.get(s.id);
    return d ? { id: s.id, path: s.path, png: d.png ? Buffer.from(d.png).toString('base64') : null, width: d.width, height: d.height, mode: d.mode, reason: d.reason } : withoutDrawInfo(s);
  });
}

function withoutDrawInfo<T extends { toDraw?: unknown }>(s: T): Omit<T, 'toDraw'> {
  const { toDraw: _toDraw, ...rest } = s;
  return rest;
}
