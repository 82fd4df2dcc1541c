import type Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LibraryImage } from '../../shared/api/contract';
import { UserError } from '../services/user-error';
import { defaultDatabasePath, noSuchLibrary, openLibraryDatabase, openLibraryReadOnly } from './database';
import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { IndexJob } from './index-worker';
import type { IndexProgress, IndexReport } from './indexer';

export type { IndexProgress, IndexReport } from './indexer';

/** One file of the library as `ls` shows it: what the GUI's library view shows, and more. */
export interface ImageListing extends LibraryImage {
  sha256: string | null;
  fileVersion: number | null;
  elementCount: number | null;
  ramBytes: number | null;
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
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

const LISTING_COLUMNS = `i.id, i.path, i.status, i.status_detail AS statusDetail, i.format, i.size, i.sha256, i.file_version AS fileVersion,
  i.machine_type AS machineType, i.page_size AS pageSize, i.opened_via AS openedVia, i.element_count AS elementCount,
  i.ram_bytes AS ramBytes, i.errors, i.warnings, i.notes, i.indexed_at AS indexedAt,
  (SELECT group_concat(tag, ',') FROM (SELECT tag FROM tags t WHERE t.image_id = i.id ORDER BY tag)) AS tags`;

/**
 * The image library: one SQLite database of indexed images, for the CLI and the GUI's main
 * process alike. Indexing runs in a worker thread with its own connection; this connection
 * serves the reads and the user's notes and tags.
 */
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
    return runWorkerJob<IndexJob, IndexReport, IndexProgress>(compiledWorker('index/index-worker.js'), job, options);
  }

  /** The library folders (added by indexing a folder). */
  folders(): { id: number; path: string; addedAt: string }[] {
    return this.db.prepare('SELECT id, path, added_at AS addedAt FROM folders ORDER BY path').all() as never;
  }

  /** Every file of the library (images only unless `all`), by path. */
  list(options: { all?: boolean } = {}): ImageListing[] {
    const where = options.all ? '' : "WHERE i.status NOT IN ('not-an-image')";
    return this.db.prepare(`SELECT ${LISTING_COLUMNS} FROM images i ${where} ORDER BY i.path`).all().map(listing);
  }

  /** Indexed images matching every given criterion, with the devices that matched. */
  find(q: FindQuery): (ImageListing & { devices: DeviceMatch[] })[] {
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
      devices: q.device === undefined ? [] : devices.all({ ...params, id: img.id }).map((d: any) => ({ ...d, subsections: d.subsections ? JSON.parse(d.subsections) : null })),
    }));
  }

  addNote(imageId: number, text: string): void {
    this.db.prepare('INSERT INTO notes (image_id, text, created_at) VALUES (?, ?, ?)').run(imageId, text, new Date().toISOString());
  }

  notes(imageId: number): { id: number; text: string; createdAt: string }[] {
    return this.db.prepare('SELECT id, text, created_at AS createdAt FROM notes WHERE image_id = ? ORDER BY id').all(imageId) as never;
  }

  addTag(imageId: number, tag: string): void {
    this.db.prepare('INSERT OR IGNORE INTO tags (image_id, tag) VALUES (?, ?)').run(imageId, tag);
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

function listing(row: any): ImageListing {
  return { ...row, tags: row.tags ? String(row.tags).split(',') : [] };
}
