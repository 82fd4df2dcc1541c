import type Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LibraryImage, LibraryNote, LibraryScreen } from '../../shared/api/contract';
import { UserError } from '../services/user-error';
import { defaultDatabasePath, noSuchLibrary, openLibraryDatabase, openLibraryReadOnly } from './database';
import { compiledWorker, runWorkerJob, WorkerTerminated } from '../services/worker-job';
import type { IndexJob } from './index-worker';
import { recordFailedFile, type IndexProgress, type IndexReport } from './indexer';

export type { IndexProgress, IndexReport } from './indexer';

/** One file of the library as `ls` shows it: what the GUI's library view shows, and more. */
export interface ImageListing extends LibraryImage {
  sha256: string | null;
  fileVersion: number | null;
  elementCount: number | null;
  /** Diagnostics of severity info (the user's own notes are userNotes). */
  notes: number;
}

export interface FindQuery {
  /** Device idstr ("0000:00:03.0/e1000"), its last path part ("e1000"), or its vmsd name. */
  device?: string;
  /** Section version of the device. */
  version?: number;
  /** Machine type, exactly or as a glob ("pc-i440fx-*"). */
  machine?: string;
  /** Only images with errors or warnings. */
  hasDiagnostics?: boolean;
}

/** An image `find` matched, with the device sections that matched (instead of every device's short name). */
export type FoundImage = Omit<ImageListing, 'devices'> & { devices: DeviceMatch[] };

export interface DeviceMatch {
  name: string;
  vmsdName: string | null;
  instanceId: number;
  versionId: number;
  subsections: string[] | null;
}

export interface IndexRunOptions {
  sealSidecars?: boolean;
  onProgress?: (p: IndexProgress) => void;
  signal?: AbortSignal;
  /** Longest one file may take before it is recorded as failed and the run goes on (default: 60 s plus 20 s per GiB; MIGWB_INDEX_FILE_BUDGET_MS overrides). */
  fileBudgetMs?: (size: number) => number;
}

/** After a cancel, the worker gets this long to stop between files before it is stopped at once. */
const CANCEL_GRACE_MS = 250;

function defaultFileBudget(size: number): number {
  const fixed = Number(process.env.MIGWB_INDEX_FILE_BUDGET_MS);
  return fixed > 0 ? fixed : 60_000 + (20_000 * size) / 1024 ** 3;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

/** Separates the texts of a group_concat (never in a tag, a device name or a note). */
const US = '\u001f';

const LISTING_COLUMNS = `i.id, i.path, i.status, i.status_detail AS statusDetail, i.format, i.size, i.sha256, i.file_version AS fileVersion,
  i.machine_type AS machineType, i.page_size AS pageSize, i.opened_via AS openedVia, i.element_count AS elementCount,
  i.ram_bytes AS ramBytes, i.errors, i.warnings, i.notes, i.indexed_at AS indexedAt, i.wrapper, i.qemu_version_hint AS qemuVersion,
  (SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM tags t WHERE t.image_id = i.id ORDER BY tag)) AS tags,
  (SELECT group_concat(name, char(31)) FROM (SELECT name FROM devices d WHERE d.image_id = i.id ORDER BY d.section_idx)) AS devices,
  (SELECT group_concat(p, char(31)) FROM (SELECT DISTINCT severity || ':' || code AS p FROM diagnostics g WHERE g.image_id = i.id)) AS problems,
  (SELECT json_group_array(json_object('id', n.id, 'text', n.text, 'createdAt', n.created_at)) FROM notes n WHERE n.image_id = i.id) AS userNotes`;

/**
 * The image library: one SQLite database of indexed images, for the CLI and the GUI's main
 * process alike. Indexing runs in a worker thread with its own connection; this connection
 * serves the reads and the user's notes and tags.
 */
/** A sha256 taken when a file was opened for evidence. */
export interface EvidenceHash {
  size: number;
  sha256: string;
  takenAt: string;
}

export class Library {
  private constructor(readonly file: string, private readonly db: Database.Database) {}

  /**
   * Opens the library at `file` (by default in the user data folder), migrating its schema;
   * creates it unless `mustExist` (for commands that only read, where a new file would hide a typo).
   */
  static open(file: string = defaultDatabasePath(), options: { mustExist?: boolean } = {}): Library {
    if (options.mustExist && !fs.existsSync(file)) throw noSuchLibrary(file);
    return new Library(path.resolve(file), openLibraryDatabase(file));
  }

  /**
   * Indexes files and folders (folders become library folders; no paths re-indexes the
   * library) in a worker thread. Resolves with the report, also when cancelled by `signal`.
   */
  async index(paths: readonly string[], options: IndexRunOptions = {}): Promise<IndexReport> {
    for (const p of paths) if (!fs.existsSync(p)) throw new UserError(`${p} does not exist`);
    const job: IndexJob = { dbPath: this.file, paths: paths.map((p) => path.resolve(p)), sealSidecars: !!options.sealSidecars };
    const budget = options.fileBudgetMs ?? defaultFileBudget;
    const started = Date.now();
    // Runs of the worker so far: one, unless a file overran its budget and the run was resumed after it.
    const done: NonNullable<IndexProgress['counts']>[] = [];
    // Files earlier runs handled: a resumed run counts them as unchanged, which they are not for this report.
    let handledBefore = 0;
    const given: string[] = [];
    for (;;) {
      const run = await this.indexRun({ ...job, skip: given }, options, budget);
      if (run.kind === 'finished') return mergeRuns(done, { ...run.report, unchanged: run.report.unchanged - handledBefore }, started);
      if (run.kind === 'cancelled') return mergeRuns(done, { ...run.counts, unchanged: run.counts.unchanged - handledBefore, cancelled: true, elapsedMs: 0 }, started);
      // A file overran its budget: it is recorded as failed, and the run resumes after it (files
      // already indexed are unchanged now, so the next run passes over them).
      const seconds = (budget(run.size) / 1000).toFixed(0);
      recordFailedFile(this.db, run.file, `indexing it took longer than ${seconds} s, so it was stopped; it may be built to exhaust the reader (open it to see its diagnostics)`);
      done.push({ ...run.counts, failed: run.counts.failed + 1, unchanged: run.counts.unchanged - handledBefore });
      handledBefore += run.filesDone;
      given.push(run.file);
    }
  }

  /** One run of the index worker, watched: cancelled at once on `signal`, stopped when one file exceeds its budget. */
  private async indexRun(job: IndexJob, options: IndexRunOptions, budget: (size: number) => number): Promise<
    | { kind: 'finished'; report: IndexReport }
    | { kind: 'cancelled'; counts: NonNullable<IndexProgress['counts']> }
    | { kind: 'overran'; file: string; size: number; filesDone: number; counts: NonNullable<IndexProgress['counts']> }
  > {
    const terminate = new AbortController();
    let last: IndexProgress | undefined;
    let fileSince = Date.now();
    let overran: { file: string; size: number } | undefined;
    const onCancel = () => setTimeout(() => terminate.abort('cancelled'), CANCEL_GRACE_MS).unref();
    options.signal?.addEventListener('abort', onCancel, { once: true });
    const watch = setInterval(() => {
      const file = last?.currentFile;
      if (!file) return;
      const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
      if (Date.now() - fileSince > budget(size)) {
        overran = { file, size };
        terminate.abort('overran');
      }
    }, 100);
    try {
      const report = await runWorkerJob<IndexJob, IndexReport, IndexProgress>(compiledWorker('index/index-worker.js'), job, {
        signal: options.signal,
        terminate: terminate.signal,
        onProgress: (p) => {
          if (p.currentFile !== last?.currentFile) fileSince = Date.now();
          last = p;
          options.onProgress?.(p);
        },
      });
      return { kind: 'finished', report };
    } catch (e) {
      if (!(e instanceof WorkerTerminated)) throw e;
      const counts = last?.counts ?? { files: 0, indexed: 0, unchanged: 0, notImages: 0, unsupported: 0, failed: 0, missing: 0, sidecarsWritten: 0 };
      return overran ? { kind: 'overran', ...overran, filesDone: last?.filesDone ?? 0, counts } : { kind: 'cancelled', counts };
    } finally {
      clearInterval(watch);
      options.signal?.removeEventListener('abort', onCancel);
    }
  }

  /** The library folders (added by indexing a folder). */
  folders(): { id: number; path: string; addedAt: string }[] {
    return this.db.prepare('SELECT id, path, added_at AS addedAt FROM folders ORDER BY path').all() as never;
  }

  /** Whether `file` is in the library (indexed on its own or in a folder). */
  hasImage(file: string): boolean {
    return this.db.prepare('SELECT 1 FROM images WHERE path = ?').get(file) !== undefined;
  }

  /** Every file of the library (images only unless `all`), by path. */
  list(options: { all?: boolean } = {}): ImageListing[] {
    const where = options.all ? '' : "WHERE i.status NOT IN ('not-an-image')";
    return this.db.prepare(`SELECT ${LISTING_COLUMNS} FROM images i ${where} ORDER BY i.path`).all().map(listing);
  }

  /** The files with these ids, by path (ids not in the library are left out). */
  byIds(ids: readonly number[]): ImageListing[] {
    const wanted = new Set(ids);
    return this.list({ all: true }).filter((i) => wanted.has(i.id));
  }

  /**
   * The stored screen thumbnails of these images, with each image's path; an indexed image
   * without one (or with one of an earlier version of the file) comes with `toDraw`, what the
   * thumbnail worker needs to draw it; an image not indexed as one says why it has none.
   */
  screens(ids: readonly number[]): (LibraryScreen & { path: string; toDraw?: { size: number; mtimeMs: number; sha256: string | null } })[] {
    const rows = this.db
      .prepare<[string], { id: number; path: string; status: string; detail: string | null; size: number; mtimeMs: number; sha256: string | null; width: number | null; height: number | null; mode: string | null; reason: string | null; thumbnail: Buffer | null; drawnFrom: string | null; has: number | null }>(
        `SELECT i.id, i.path, i.status, i.status_detail AS detail, i.size, i.mtime_ms AS mtimeMs, i.sha256,
                s.width, s.height, s.mode, s.reason, s.thumbnail, s.sha256 AS drawnFrom, s.image_id AS has
         FROM images i LEFT JOIN screens s ON s.image_id = i.id WHERE i.id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(ids));
    return rows.map((r) => {
      const base = { id: r.id, path: r.path, png: null, width: null, height: null, mode: null };
      if (r.status !== 'indexed') return { ...base, reason: `${r.status}: ${r.detail ?? 'not indexed as an image'}` };
      if (r.has === null || r.drawnFrom !== r.sha256) return { ...base, reason: null, toDraw: { size: r.size, mtimeMs: r.mtimeMs, sha256: r.sha256 } };
      return { ...base, png: r.thumbnail ? r.thumbnail.toString('base64') : null, width: r.width, height: r.height, mode: r.mode, reason: r.reason };
    });
  }

  /** Keeps drawn thumbnails (or why there is none) for the file version they were drawn from. */
  storeScreens(screens: readonly { id: number; sha256: string | null; png: Uint8Array | null; width: number | null; height: number | null; mode: string | null; reason: string | null }[]): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO screens (image_id, sha256, width, height, mode, reason, thumbnail) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM images WHERE id = ?)');
    this.db.transaction(() => {
      for (const s of screens) put.run(s.id, s.sha256, s.width, s.height, s.mode, s.reason, s.png ? Buffer.from(s.png) : null, s.id);
    })();
  }

  /** The id of the library's row for a file, or a UserError saying how to add it. */
  idOf(file: string): number {
    const row = this.db.prepare<[string], { id: number }>('SELECT id FROM images WHERE path = ?').get(path.resolve(file));
    if (!row) throw new UserError(`${file} is not in the library ${this.file}; add it with "migwb index ${file}"`);
    return row.id;
  }

  /** Indexed images matching every given criterion, with the devices that matched. */
  find(q: FindQuery): FoundImage[] {
    if (q.version !== undefined && q.device === undefined) throw new UserError('--version needs --device (it is the version of that device\'s section)');
    if (q.device === undefined && q.machine === undefined && !q.hasDiagnostics) throw new UserError('give at least one of --device, --machine, --has-diagnostics');
    const conditions = ["i.status = 'indexed'"];
    const params: Record<string, unknown> = {};
    if (q.machine !== undefined) {
      conditions.push(/[*?[]/.test(q.machine) ? 'i.machine_type GLOB @machine' : 'i.machine_type = @machine');
      params.machine = q.machine;
    }
    if (q.hasDiagnostics) conditions.push('i.errors + i.warnings > 0');
    const deviceCondition = `d.image_id = i.id AND (d.name = @device OR d.vmsd_name = @device OR substr(d.name, -length(@device) - 1) = '/' || @device)${q.version !== undefined ? ' AND d.version_id = @version' : ''}`;
    if (q.device !== undefined) {
      conditions.push(`EXISTS (SELECT 1 FROM devices d WHERE ${deviceCondition})`);
      params.device = q.device;
      if (q.version !== undefined) params.version = q.version;
    }
    const images = this.db.prepare(`SELECT ${LISTING_COLUMNS} FROM images i WHERE ${conditions.join(' AND ')} ORDER BY i.path`).all(params).map(listing);
    const devices = this.db.prepare(
      `SELECT d.name, d.vmsd_name AS vmsdName, d.instance_id AS instanceId, d.version_id AS versionId, d.subsections
       FROM devices d, images i WHERE i.id = @id AND ${deviceCondition} ORDER BY d.section_idx`,
    );
    return images.map((img) => ({
      ...img,
      devices: q.device === undefined ? [] : devices.all({ ...params, id: img.id }).map((d) => { const row = d as Omit<DeviceMatch, 'subsections'> & { subsections: string | null }; return { ...row, subsections: row.subsections ? (JSON.parse(row.subsections) as string[]) : null }; }),
    }));
  }

  /**
   * Records the sha256 of a file opened for evidence, with the time it was taken, and returns
   * every hash recorded for that path before it (oldest first): a different earlier hash
   * means the file changed since.
   */
  recordEvidenceHash(file: string, size: number, sha256: string, takenAt: string): EvidenceHash[] {
    const at = path.resolve(file);
    const earlier = this.evidenceHashes(at);
    this.db.prepare('INSERT INTO evidence_hashes (path, size, sha256, taken_at) VALUES (?, ?, ?, ?)').run(at, size, sha256, takenAt);
    return earlier;
  }

  /** Every hash recorded for a path when it was opened for evidence, oldest first. */
  evidenceHashes(file: string): EvidenceHash[] {
    return this.db.prepare('SELECT size, sha256, taken_at AS takenAt FROM evidence_hashes WHERE path = ? ORDER BY id').all(path.resolve(file)) as EvidenceHash[];
  }

  /** Adds a note to an image; returns its id. The user's notes and tags stay with the image when its file is renamed or moved. */
  addNote(imageId: number, text: string): number {
    this.mustExist(imageId);
    return Number(this.db.prepare('INSERT INTO notes (image_id, text, created_at) VALUES (?, ?, ?)').run(imageId, text, new Date().toISOString()).lastInsertRowid);
  }

  deleteNote(noteId: number): void {
    if (!this.db.prepare('DELETE FROM notes WHERE id = ?').run(noteId).changes) throw new UserError(`there is no note ${noteId}`);
  }

  notes(imageId: number): LibraryNote[] {
    return this.db.prepare('SELECT id, text, created_at AS createdAt FROM notes WHERE image_id = ? ORDER BY id').all(imageId) as never;
  }

  addTag(imageId: number, tag: string): void {
    this.tag([imageId], [tag]);
  }

  /** Adds tags to images (tags are trimmed; a tag an image has is not added twice). */
  tag(imageIds: readonly number[], tags: readonly string[]): void {
    const add = this.db.prepare('INSERT OR IGNORE INTO tags (image_id, tag) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const id of imageIds) {
        this.mustExist(id);
        for (const t of tags) add.run(id, normaliseTag(t));
      }
    })();
  }

  untag(imageIds: readonly number[], tags: readonly string[]): void {
    const remove = this.db.prepare('DELETE FROM tags WHERE image_id = ? AND tag = ?');
    this.db.transaction(() => {
      for (const id of imageIds) for (const t of tags) remove.run(id, normaliseTag(t));
    })();
  }

  private mustExist(imageId: number): void {
    if (!this.db.prepare('SELECT 1 FROM images WHERE id = ?').get(imageId)) throw new UserError(`there is no image ${imageId} in the library`);
  }

  close(): void {
    this.db.close();
  }
}

/** Runs one SQL statement on a read-only connection: SQLite refuses any write. */
export function queryLibrary(file: string, sql: string, params: unknown[] = []): QueryResult {
  if (!fs.existsSync(file)) throw noSuchLibrary(file);
  const db = openLibraryReadOnly(file);
  try {
    let stmt: Database.Statement;
    try {
      stmt = db.prepare(sql);
    } catch (e) {
      throw new UserError(`the query is not valid SQL: ${(e as Error).message}`);
    }
    if (!stmt.reader) throw new UserError('the query returns no rows; only SELECT (and other reading) statements are allowed, the connection is read-only');
    try {
      const rows = stmt.raw(true).all(...params) as unknown[][];
      return { columns: stmt.columns().map((c) => c.name), rows };
    } catch (e) {
      throw new UserError(`the query failed: ${(e as Error).message}`);
    }
  } finally {
    db.close();
  }
}

type ListingRow = Omit<ImageListing, 'tags' | 'devices' | 'problems' | 'userNotes'> & { tags: string | null; devices: string | null; problems: string | null; userNotes: string };

function listing(row: unknown): ImageListing {
  const r = row as ListingRow;
  return {
    ...r,
    tags: r.tags ? r.tags.split(US) : [],
    devices: shortDeviceNames(r.devices ? r.devices.split(US) : []),
    problems: r.problems ? r.problems.split(US).map((p) => ({ severity: p.slice(0, p.indexOf(':')) as 'error', code: p.slice(p.indexOf(':') + 1) })) : [],
    userNotes: (JSON.parse(r.userNotes) as LibraryNote[]).sort((a, b) => a.id - b.id),
  };
}

/** "0000:00:03.0/e1000" → "e1000"; repeats counted ("cpu ×2"); in stream order. */
export function shortDeviceNames(names: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const n of names) {
    const short = n.slice(n.lastIndexOf('/') + 1);
    counts.set(short, (counts.get(short) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
}

function normaliseTag(tag: string): string {
  const t = tag.trim();
  if (!t || /[,\s]/.test(t) || t.length > 100) throw new UserError(`"${tag}" is not a tag: a tag is 1 to 100 characters without spaces or commas`);
  return t;
}

/** One report of runs resumed after files that overran their budget. */
function mergeRuns(earlier: NonNullable<IndexProgress['counts']>[], last: IndexReport | (NonNullable<IndexProgress['counts']> & { cancelled: boolean; elapsedMs: number }), started: number): IndexReport {
  const sum = (k: 'indexed' | 'unchanged' | 'notImages' | 'unsupported' | 'failed' | 'missing' | 'sidecarsWritten') => earlier.reduce((n, r) => n + r[k], last[k]);
  return {
    files: earlier[0]?.files ?? last.files,
    indexed: sum('indexed'),
    unchanged: sum('unchanged'),
    notImages: sum('notImages'),
    unsupported: sum('unsupported'),
    failed: sum('failed'),
    missing: sum('missing'),
    sidecarsWritten: sum('sidecarsWritten'),
    cancelled: last.cancelled,
    elapsedMs: Date.now() - started,
  };
}
