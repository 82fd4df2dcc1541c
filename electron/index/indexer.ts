import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LibraryIndexReport } from '../../shared/api/contract';
import { readBytes } from '../../shared/io/byte-source';
import { DETECT_BYTES, detectFormat, peekFormat, type Detection } from '../../shared/formats/registry';
import { ENGINE_TABLES, engineOfDetection } from '../formats/engines';
import { encodeDirectory, looksLikeDirectoryHeader } from '../../shared/formats/section-directory/section-directory';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import { imageIdentity } from '../services/image-identity';
import { loadStreamDetailed, SIDECAR_SUFFIX } from '../services/load-stream';
import { attachContainer, describeContainer, prepareContainer, type StreamInFile } from '../services/open-container';
import { openReadOnly } from '../services/open-image';
import { sealedBy } from '../services/seal-image';
import { UnsupportedFormatError, UserError } from '../services/user-error';
import { describeWrapper, imageRows } from './image-rows';
import { SCHEMA_VERSION } from './schema';

export interface IndexProgress {
  filesDone: number;
  filesTotal: number;
  /** Bytes read (hashed and parsed) of the files that needed work. */
  bytesDone: number;
  bytesTotal: number;
  currentFile?: string;
  /** The report so far, so a run stopped from outside (cancel, a file over its budget) still accounts for what it did. */
  counts?: Pick<IndexReport, 'files' | 'indexed' | 'unchanged' | 'notImages' | 'unsupported' | 'failed' | 'missing' | 'sidecarsWritten'>;
}

export interface IndexOptions {
  /** Write IMAGE.migdir beside images that had to be scanned. */
  sealSidecars?: boolean;
  onProgress?: (p: IndexProgress) => void;
  /** Polled between files and while reading; true stops the run after the current transaction. */
  isCancelled?: () => boolean;
  /** Files to leave out of this run (recorded already by the caller). */
  skip?: ReadonlySet<string>;
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
  /** The name's bytes are not UTF-8: `path` shows them escaped (\xHH) and cannot be opened by it. */
  badName?: boolean;
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
  // Rows stored by another version, or before the schema gained columns, are read again.
  const version = `${sealedBy()} library ${SCHEMA_VERSION}`;
  const tasks = collectTasks(store, paths, report).filter((t) => !options.skip?.has(t.path));
  report.files = tasks.length + (options.skip?.size ?? 0);

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
      const { files, indexed, unchanged, notImages, unsupported, failed, missing, sidecarsWritten } = report;
      options.onProgress?.({ ...progress, counts: { files, indexed, unchanged, notImages, unsupported, failed, missing, sidecarsWritten } });
    }
  };

  try {
    tick(true);
    for (const task of work) {
      progress.currentFile = task.path;
      tick(true);
      const before = progress.bytesDone;
      if (task.badName) {
        store.writeStatus(task, version, 'unreadable', 'the file name is not valid UTF-8, so it cannot be recorded or opened by its name; rename it (the \\xHH in the path are its bytes) and index again', null, null);
        report.failed++;
        progress.filesDone++;
        continue;
      }
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
function* walk(dir: string): Generator<{ path: string; size: number; mtimeMs: number; badName?: boolean }> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
    yield* badlyNamed(dir);
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

/**
 * Files of `dir` whose names are not valid UTF-8. Node decodes such a name with U+FFFD,
 * so the decoded path names no file and the walk would lose it silently: they are listed
 * here by their bytes (stat'ed through a Buffer path), with the bad bytes shown as \xHH.
 */
function* badlyNamed(dir: string): Generator<{ path: string; size: number; mtimeMs: number; badName: true }> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const raw = e.name as unknown as Buffer;
    if (Buffer.from(raw.toString('utf8'), 'utf8').equals(raw) || !e.isFile()) continue;
    try {
      const st = fs.statSync(Buffer.concat([Buffer.from(dir + path.sep), raw]));
      yield { path: path.join(dir, escapeInvalidUtf8(raw)), size: st.size, mtimeMs: Math.trunc(st.mtimeMs), badName: true };
    } catch {
      // vanished meanwhile
    }
  }
}

/** The name as UTF-8 where it is, with every byte of an invalid sequence as \xHH. */
function escapeInvalidUtf8(raw: Buffer): string {
  let out = '';
  for (let i = 0; i < raw.length; ) {
    const len = raw[i] < 0x80 ? 1 : raw[i] >> 5 === 6 ? 2 : raw[i] >> 4 === 14 ? 3 : raw[i] >> 3 === 30 ? 4 : 0;
    const piece = len ? raw.subarray(i, i + len) : undefined;
    if (piece && piece.length === len && Buffer.from(piece.toString('utf8'), 'utf8').equals(piece)) {
      out += piece.toString('utf8');
      i += len;
    } else {
      out += '\\x' + raw[i].toString(16).padStart(2, '0');
      i++;
    }
  }
  return out;
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
  // Detected once, here: what the file is decides whether it is hashed and read at all.
  const detection = detectFormat(head) ?? probeFile(task.path);
  if (!detection) {
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
  const { kind } = detection;
  const engine = engineOfDetection(detection);
  if (engine) {
    // A format with an engine of its own (Xen streams) gives its rows itself.
    const own = openReadOnly(task.path);
    try {
      const { format, rows, wrapper } = engine.indexRows(own, () => onBytes(task.size));
      store.writeImage(task, version, format, sha256, 'scan', rows, wrapper);
      report.indexed++;
    } finally {
      own.close();
    }
    return;
  }
  const file = openReadOnly(task.path);
  let attached: StreamInFile | undefined;
  try {
    let opened;
    try {
      const container = describeContainer(task.path, file, {}, detection);
      await prepareContainer(task.path, container);
      attached = attachContainer(task.path, file, container);
      opened = loadStreamDetailed(attached.stream, { imagePath: task.path, onProgress: () => onBytes(task.size) });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      store.writeStatus(task, version, 'unsupported', e.message, kind, sha256);
      // Recognised but not opened yet (Xen) is not a failure; a container that could not be read is.
      if (e instanceof UnsupportedFormatError) report.unsupported++;
      else report.failed++;
      return;
    }
    if (options.sealSidecars && opened.via === 'scan' && writeSidecar(task.path, opened.model)) report.sidecarsWritten++;
    store.writeImage(task, version, kind, sha256, opened.via, imageRows(opened.model), describeWrapper(attached.container.layers, file, opened.model));
    report.indexed++;
  } finally {
    attached?.close();
    file.close();
  }
}

/** A format without a magic (a legacy Xen stream) is recognised by its content probes. */
function probeFile(file: string): Detection | undefined {
  const f = openReadOnly(file);
  try {
    return peekFormat(f);
  } finally {
    f.close();
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

/** The hash's read buffer, allocated once: a new 4 MiB buffer for each of 10,000 small images took a sixth of the hashing time, and more in GC. */
let hashBuffer: Buffer | undefined;

function hashFile(file: string, onBytes: (n: number) => void): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = (hashBuffer ??= Buffer.allocUnsafe(HASH_CHUNK));
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
                            capabilities, has_vmdesc, saw_eof, opened_via, element_count, ram_bytes, errors, warnings, notes, wrapper, qemu_version_hint,
                            indexed_by, indexed_at)
        VALUES (@path, @folder_id, @size, @mtime_ms, @sha256, @status, @status_detail, @format, @file_version, @machine_type, @page_size,
                @capabilities, @has_vmdesc, @saw_eof, @opened_via, @element_count, @ram_bytes, @errors, @warnings, @notes, @wrapper, @qemu_version_hint,
                @indexed_by, @indexed_at)
        ON CONFLICT (path) DO UPDATE SET
          folder_id = excluded.folder_id, size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256,
          status = excluded.status, status_detail = excluded.status_detail, format = excluded.format,
          file_version = excluded.file_version, machine_type = excluded.machine_type, page_size = excluded.page_size,
          capabilities = excluded.capabilities, has_vmdesc = excluded.has_vmdesc, saw_eof = excluded.saw_eof,
          opened_via = excluded.opened_via, element_count = excluded.element_count, ram_bytes = excluded.ram_bytes,
          errors = excluded.errors, warnings = excluded.warnings, notes = excluded.notes,
          wrapper = excluded.wrapper, qemu_version_hint = excluded.qemu_version_hint,
          indexed_by = excluded.indexed_by, indexed_at = excluded.indexed_at
        RETURNING id`),
      movePath: db.prepare<[string, number]>('UPDATE images SET path = ? WHERE id = ?'),
      // A changed file's thumbnail goes with its old rows: the view draws the new one on demand.
      clear: ['screens', 'devices', 'page_runs', 'diagnostics', 'sections', 'ram_blocks', ...ENGINE_TABLES.map((t) => t.name)].map((t) => db.prepare<[number]>(`DELETE FROM ${t} WHERE image_id = ?`)),
      engineRow: new Map(ENGINE_TABLES.map((t) => [t.name, db.prepare(`INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`)])),
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
  writeImage(t: FileTask, version: string, format: string, sha256: string, via: string, rows: ReturnType<typeof imageRows>, wrapper: string | null): void {
    this.db.transaction(() => {
      if (!this.imageByPath(t.path)) {
        // A file that reappears under another name keeps its notes and tags.
        const moved = this.s.movedFrom.get(sha256);
        if (moved) this.s.movePath.run(t.path, moved.id);
      }
      const id = this.upsert(t, version, { status: 'indexed', status_detail: null, format, sha256, opened_via: via, wrapper, ...rows.image });
      for (const c of this.s.clear) c.run(id);
      for (const r of rows.ramBlocks) this.s.ramBlock.run(id, ...r);
      for (const r of rows.sections) this.s.section.run(id, ...r);
      for (const r of rows.pageRuns) this.s.pageRun.run(id, ...r);
      for (const r of rows.devices) this.s.device.run(id, ...r);
      for (const r of rows.diagnostics) this.s.diagnostic.run(id, ...r);
      for (const t of rows.engineTables ?? []) for (const r of t.rows) this.s.engineRow.get(t.table)!.run(id, ...r);
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
      wrapper: null,
      qemu_version_hint: null,
      indexed_by: version,
      indexed_at: new Date().toISOString(),
      ...fields,
    };
    return (this.s.upsert.get(row) as { id: number }).id;
  }
}

/** Records a file the indexer could not finish (stopped from outside after its time budget) as failed, with the reason. */
export function recordFailedFile(db: Database.Database, file: string, detail: string): void {
  const store = new Store(db);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch {
    return; // gone meanwhile: the next run marks it missing
  }
  store.writeStatus({ path: file, folderId: store.folderContaining(file), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) }, sealedBy(), 'unreadable', detail, null, null);
}
