import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LibraryIndexReport } from '../../shared/api/contract';
import { readBytes } from '../../shared/io/byte-source';
import { DETECT_BYTES, detectImageKind } from '../../shared/formats/detect';
import { encodeDirectory, looksLikeDirectoryHeader } from '../../shared/formats/section-directory/section-directory';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import { imageIdentity } from '../services/image-identity';
import { loadStreamDetailed, SIDECAR_SUFFIX } from '../services/load-stream';
import { openContainer, prepareContainer } from '../services/open-container';
import { openReadOnly } from '../services/open-image';
import { sealedBy } from '../services/seal-image';
import { UnsupportedFormatError, UserError } from '../services/user-error';
import { imageRows } from './image-rows';

export interface IndexProgress {
  filesDone: number;
  filesTotal: number;
  /** Bytes read (hashed and parsed) of the files that needed work. */
  bytesDone: number;
  bytesTotal: number;
  currentFile?: string;
}

export interface IndexOptions {
  /** Write IMAGE.migdir beside images that had to be scanned. */
  sealSidecars?: boolean;
  onProgress?: (p: IndexProgress) => void;
  /** Polled between files and while reading; true stops the run after the current transaction. */
  isCancelled?: () => boolean;
}

export interface IndexReport extends LibraryIndexReport {
  sidecarsWritten: number;
}

/** Raised through the engine's progress callback to stop a run. */
class Cancelled extends Error {}

interface FileTask {
  path: string;
  folderId: number | null;
  size: number;
  mtimeMs: number;
}

interface ImageRow {
  id: number;
  size: number;
  mtime_ms: number;
  sha256: string | null;
  status: string;
  indexed_by: string;
}

const HASH_CHUNK = 4 << 20;

/**
 * Indexes files and folders into the library: registers folders, skips what did not change
 * (size and mtime, then the sha256), marks vanished files missing, and stores each image's
 * model in one transaction, so a killed run leaves every image either fully old or fully new.
 * It runs in the indexing worker (index-worker.ts), never on the UI thread. Asynchronous
 * only because compressed libvirt saves are decompressed into the cache (streamed) before
 * they are read; everything else is synchronous.
 */
export async function runIndex(db: Database.Database, paths: readonly string[], options: IndexOptions = {}): Promise<IndexReport> {
  const started = Date.now();
  const report: IndexReport = { files: 0, indexed: 0, unchanged: 0, notImages: 0, unsupported: 0, failed: 0, missing: 0, sidecarsWritten: 0, cancelled: false, elapsedMs: 0 };
  const store = new Store(db);
  const version = sealedBy();
  const tasks = collectTasks(store, paths, report);
  report.files = tasks.length;

  const work: FileTask[] = [];
  for (const t of tasks) {
    const row = store.imageByPath(t.path);
    if (row && row.status !== 'missing' && row.size === t.size && row.mtime_ms === t.mtimeMs && row.indexed_by === version) report.unchanged++;
    else work.push(t);
  }
  const progress: IndexProgress = { filesDone: 0, filesTotal: work.length, bytesDone: 0, bytesTotal: work.reduce((n, t) => n + t.size, 0) };
  let lastReport = 0;
  const tick = (force = false) => {
    if (options.isCancelled?.()) throw new Cancelled();
    const now = Date.now();
    if (force || now - lastReport >= 100) {
      lastReport = now;
      options.onProgress?.({ ...progress });
    }
  };

  try {
    tick(true);
    for (const task of work) {
      progress.currentFile = task.path;
      tick(true);
      const before = progress.bytesDone;
      try {
        await indexFile(store, task, version, options, report, (bytes) => {
          progress.bytesDone = before + bytes;
          tick();
        });
      } catch (e) {
        if (e instanceof Cancelled) throw e;
        // One file's I/O error (or an engine bug) must not stop a 10,000-image run: record it.
        store.writeStatus(task, version, 'unreadable', `could not be indexed: ${(e as Error).message}`, null, null);
        report.failed++;
      }
      progress.bytesDone = before + task.size;
      progress.filesDone++;
    }
    progress.currentFile = undefined;
    tick(true);
  } catch (e) {
    if (!(e instanceof Cancelled)) throw e;
    report.cancelled = true;
  }
  report.elapsedMs = Date.now() - started;
  return report;
}

/** Resolves the arguments to files; no arguments means every folder and file already in the library. */
function collectTasks(store: Store, paths: readonly string[], report: IndexReport): FileTask[] {
  const tasks: FileTask[] = [];
  const targets = paths.length ? paths.map((p) => path.resolve(p)) : [...store.folderPaths(), ...store.looseImagePaths()];
  for (const target of targets) {
    let st: fs.Stats;
    try {
      st = fs.statSync(target);
    } catch {
      if (paths.length) throw new UserError(`${target} does not exist`);
      report.missing += store.markMissing(target);
      continue;
    }
    if (st.isDirectory()) {
      const folderId = store.folderId(target);
      const seen = new Set<string>();
      for (const file of walk(target)) {
        seen.add(file.path);
        tasks.push({ ...file, folderId });
      }
      report.missing += store.markMissingInFolder(folderId, seen);
    } else if (st.isFile()) {
      tasks.push({ path: target, folderId: store.folderContaining(target), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
    } else if (paths.length) {
      throw new UserError(`${target} is neither a file nor a folder`);
    }
  }
  return tasks;
}

/** Regular files under a folder, recursively, in a stable order (symlinks are not followed). */
function* walk(dir: string): Generator<{ path: string; size: number; mtimeMs: number }> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // an unreadable subfolder is skipped, not fatal
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Set(entries.map((e) => e.name));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(full);
    else if (e.isFile() && !isOwnTemporary(e.name) && !isSidecarOf(e.name, names)) {
      try {
        const st = fs.statSync(full);
        yield { path: full, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
      } catch {
        // vanished between readdir and stat
      }
    }
  }
}

/** IMAGE.migdir beside IMAGE: our sidecar, not a library file (one that is not beside its image is read, and skipped by content). */
function isSidecarOf(name: string, names: Set<string>): boolean {
  return name.endsWith(SIDECAR_SUFFIX) && names.has(name.slice(0, -SIDECAR_SUFFIX.length));
}

/** Temporary files of writeFileAtomic (a sidecar being written by another run). */
function isOwnTemporary(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

async function indexFile(store: Store, task: FileTask, version: string, options: IndexOptions, report: IndexReport, onBytes: (n: number) => void): Promise<void> {
  let head: Uint8Array;
  try {
    const f = openReadOnly(task.path);
    try {
      head = readBytes(f, 0, Math.max(DETECT_BYTES, 9));
    } finally {
      f.close();
    }
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    store.writeStatus(task, version, 'unreadable', e.message, null, null);
    report.failed++;
    return;
  }
  if (looksLikeDirectoryHeader(head)) {
    report.files--; // our own sidecar: not a library file
    return;
  }
  const kind = detectImageKind(head);
  if (kind === 'unknown') {
    store.writeStatus(task, version, 'not-an-image', 'content not recognised as a migration or save image', null, null);
    report.notImages++;
    return;
  }
  const sha256 = hashFile(task.path, onBytes);
  const row = store.imageByPath(task.path);
  if (row && row.sha256 === sha256 && row.indexed_by === version && row.status !== 'missing') {
    store.touch(row.id, task);
    report.unchanged++;
    return;
  }
  const file = openReadOnly(task.path);
  let container: ReturnType<typeof openContainer> | undefined;
  try {
    let opened;
    try {
      await prepareContainer(task.path, file);
      container = openContainer(task.path, file);
      opened = { stream: container.stream, ...loadStreamDetailed(container.stream, { imagePath: task.path, onProgress: () => onBytes(task.size) }) };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      store.writeStatus(task, version, 'unsupported', e.message, kind, sha256);
      // Recognised but not opened yet (Xen) is not a failure; a container that could not be read is.
      if (e instanceof UnsupportedFormatError) report.unsupported++;
      else report.failed++;
      return;
    }
    if (options.sealSidecars && opened.via === 'scan' && writeSidecar(task.path, opened.model)) report.sidecarsWritten++;
    store.writeImage(task, version, kind, sha256, opened.via, imageRows(opened.model));
    report.indexed++;
  } finally {
    container?.close();
    file.close();
  }
}

/** Writes IMAGE.migdir; a folder the user cannot write to is not an error (the index still works). */
function writeSidecar(image: string, model: Parameters<typeof encodeDirectory>[0]): boolean {
  try {
    const bytes = encodeDirectory(model, { placedAt: 0, sealedBy: sealedBy(), image: imageIdentity(image) });
    writeFileAtomic(image + SIDECAR_SUFFIX, (fd) => writeAll(fd, bytes));
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return false;
    throw e;
  }
}

function hashFile(file: string, onBytes: (n: number) => void): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
      onBytes(pos);
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The indexer's statements, prepared once. */
class Store {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      imageByPath: db.prepare<[string], ImageRow>('SELECT id, size, mtime_ms, sha256, status, indexed_by FROM images WHERE path = ?'),
      movedFrom: db.prepare<[string], { id: number }>("SELECT id FROM images WHERE status = 'missing' AND sha256 = ? ORDER BY id LIMIT 1"),
      folderByPath: db.prepare<[string], { id: number }>('SELECT id FROM folders WHERE path = ?'),
      addFolder: db.prepare<[string, string]>('INSERT INTO folders (path, added_at) VALUES (?, ?)'),
      folders: db.prepare<[], { id: number; path: string }>('SELECT id, path FROM folders ORDER BY path'),
      loose: db.prepare<[], { path: string }>("SELECT path FROM images WHERE folder_id IS NULL AND status <> 'missing' ORDER BY path"),
      inFolder: db.prepare<[number], { id: number; path: string }>("SELECT id, path FROM images WHERE folder_id = ? AND status <> 'missing'"),
      markMissing: db.prepare<[number]>("UPDATE images SET status = 'missing', status_detail = 'the file is gone' WHERE id = ?"),
      markMissingByPath: db.prepare<[string]>("UPDATE images SET status = 'missing', status_detail = 'the file is gone' WHERE path = ? AND status <> 'missing'"),
      touch: db.prepare<[number, number, number]>('UPDATE images SET size = ?, mtime_ms = ? WHERE id = ?'),
      upsert: db.prepare(`
        INSERT INTO images (path, folder_id, size, mtime_ms, sha256, status, status_detail, format, file_version, machine_type, page_size,
                            capabilities, has_vmdesc, saw_eof, opened_via, element_count, ram_bytes, errors, warnings, notes, indexed_by, indexed_at)
        VALUES (@path, @folder_id, @size, @mtime_ms, @sha256, @status, @status_detail, @format, @file_version, @machine_type, @page_size,
                @capabilities, @has_vmdesc, @saw_eof, @opened_via, @element_count, @ram_bytes, @errors, @warnings, @notes, @indexed_by, @indexed_at)
        ON CONFLICT (path) DO UPDATE SET
          folder_id = excluded.folder_id, size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256,
          status = excluded.status, status_detail = excluded.status_detail, format = excluded.format,
          file_version = excluded.file_version, machine_type = excluded.machine_type, page_size = excluded.page_size,
          capabilities = excluded.capabilities, has_vmdesc = excluded.has_vmdesc, saw_eof = excluded.saw_eof,
          opened_via = excluded.opened_via, element_count = excluded.element_count, ram_bytes = excluded.ram_bytes,
          errors = excluded.errors, warnings = excluded.warnings, notes = excluded.notes,
          indexed_by = excluded.indexed_by, indexed_at = excluded.indexed_at
        RETURNING id`),
      movePath: db.prepare<[string, number]>('UPDATE images SET path = ? WHERE id = ?'),
      clear: ['devices', 'page_runs', 'diagnostics', 'sections', 'ram_blocks'].map((t) => db.prepare<[number]>(`DELETE FROM ${t} WHERE image_id = ?`)),
      section: db.prepare(`INSERT INTO sections (image_id, idx, type, type_code, offset, length, section_id, idstr, instance_id, version_id,
                           payload_offset, footer_offset, pages, damaged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      ramBlock: db.prepare('INSERT INTO ram_blocks (image_id, idx, name, used_length, pages, pages_present, record_offset) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      pageRun: db.prepare(`INSERT INTO page_runs (image_id, idx, block_idx, first_page, count, kind, data_offset, stride, data_length, fill, element_idx)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      device: db.prepare('INSERT INTO devices (image_id, section_idx, name, vmsd_name, instance_id, version_id, subsections) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      diagnostic: db.prepare(`INSERT INTO diagnostics (image_id, idx, severity, code, offset, length, section, expected, found, message, hint)
                              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    };
  }

  imageByPath(p: string): ImageRow | undefined {
    return this.s.imageByPath.get(p);
  }

  folderId(p: string): number {
    return this.s.folderByPath.get(p)?.id ?? Number(this.s.addFolder.run(p, new Date().toISOString()).lastInsertRowid);
  }

  /** The registered folder holding `file`, if any (the deepest one). */
  folderContaining(file: string): number | null {
    let best: { id: number; path: string } | undefined;
    for (const f of this.s.folders.all()) if (file.startsWith(f.path + path.sep) && (!best || f.path.length > best.path.length)) best = f;
    return best?.id ?? null;
  }

  folderPaths(): string[] {
    return this.s.folders.all().map((f) => f.path);
  }

  looseImagePaths(): string[] {
    return this.s.loose.all().map((r) => r.path);
  }

  markMissing(p: string): number {
    return this.s.markMissingByPath.run(p).changes;
  }

  markMissingInFolder(folderId: number, present: Set<string>): number {
    const gone = this.s.inFolder.all(folderId).filter((r) => !present.has(r.path));
    this.db.transaction(() => gone.forEach((r) => this.s.markMissing.run(r.id)))();
    return gone.length;
  }

  touch(id: number, t: FileTask): void {
    this.s.touch.run(t.size, t.mtimeMs, id);
  }

  /** A file without a model (not an image, unreadable, unsupported). */
  writeStatus(t: FileTask, version: string, status: string, detail: string, format: string | null, sha256: string | null): void {
    this.db.transaction(() => {
      const id = this.upsert(t, version, { status, status_detail: detail, format, sha256 });
      for (const c of this.s.clear) c.run(id);
    }).immediate();
  }

  /** An image and its whole model, in one transaction. */
  writeImage(t: FileTask, version: string, format: string, sha256: string, via: string, rows: ReturnType<typeof imageRows>): void {
    this.db.transaction(() => {
      if (!this.imageByPath(t.path)) {
        // A file that reappears under another name keeps its notes and tags.
        const moved = this.s.movedFrom.get(sha256);
        if (moved) this.s.movePath.run(t.path, moved.id);
      }
      const id = this.upsert(t, version, { status: 'indexed', status_detail: null, format, sha256, opened_via: via, ...rows.image });
      for (const c of this.s.clear) c.run(id);
      for (const r of rows.ramBlocks) this.s.ramBlock.run(id, ...r);
      for (const r of rows.sections) this.s.section.run(id, ...r);
      for (const r of rows.pageRuns) this.s.pageRun.run(id, ...r);
      for (const r of rows.devices) this.s.device.run(id, ...r);
      for (const r of rows.diagnostics) this.s.diagnostic.run(id, ...r);
    }).immediate();
  }

  private upsert(t: FileTask, version: string, fields: Record<string, unknown>): number {
    const row = {
      path: t.path,
      folder_id: t.folderId,
      size: t.size,
      mtime_ms: t.mtimeMs,
      sha256: null,
      status_detail: null,
      format: null,
      file_version: null,
      machine_type: null,
      page_size: null,
      capabilities: null,
      has_vmdesc: null,
      saw_eof: null,
      opened_via: null,
      element_count: null,
      ram_bytes: null,
      errors: 0,
      warnings: 0,
      notes: 0,
      indexed_by: version,
      indexed_at: new Date().toISOString(),
      ...fields,
    };
    return (this.s.upsert.get(row) as { id: number }).id;
  }
}
