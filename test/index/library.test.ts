import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { parseFile } from '../helpers/parse';
import { defaultDatabasePath } from '../../electron/index/database';
import { Library, type IndexProgress } from '../../electron/index/library';
import { SCHEMA_VERSION } from '../../electron/index/schema';
import { tempDir } from '../directory/sealed';
import { makeLibraryFolder } from './library-fixture';
import type { ListedImage } from '../helpers/wire';

const root = tempDir('library');
const lib = makeLibraryFolder(root);
const db = path.join(root, 'db', 'library.sqlite');
const sub = (name: string) => path.join(lib, 'sub', name);

/** A migwb command's JSON output (as JSON.parse gives it; the callbacks below say what they read). */
async function json(...args: string[]) {
  const r = await migwb(...args, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
}

function sql<T = Record<string, unknown>>(query: string, ...params: unknown[]): T[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(query).all(...params) as T[];
  } finally {
    conn.close();
  }
}

describe('indexing a library folder (real SQLite file, real worker thread)', () => {
  let first: unknown;
  beforeAll(async () => {
    first = await json('index', lib, '--db', db);
  });

  it('recognises images by content, whatever their names, and records the rest', async () => {
    expect(first).toMatchObject({ files: 8, indexed: 7, unchanged: 0, not_images: 1, failed: 0, missing: 0, cancelled: false });
    const { images } = await json('ls', '--db', db, '--all');
    const byName = Object.fromEntries(images.map((i: ListedImage) => [path.basename(i.path), i]));
    expect(byName['notes.mig'].status).toBe('not-an-image');
    expect(byName['sealed-without-extension']).toMatchObject({ status: 'indexed', format: 'qemu-migration-stream', opened_via: 'directory', machine_type: 'pc-i440fx-7.2' });
    expect(byName['x86_64-q35-e1000-payload-paused-32M.mig']).toMatchObject({ opened_via: 'scan', machine_type: 'pc-q35-10.0', file_version: 3, page_size: 4096 });
    expect(byName['x86_64-q35-minimal-running-32M.flip-hdr.mig'].errors).toBeGreaterThan(0);
    expect((await json('ls', '--db', db)).images).toHaveLength(7);
  });

  it('stores each model completely: element table, RAM blocks, page runs, devices, diagnostics', () => {
    const image = sub('x86_64-pc-minimal-paused-16M.mig');
    const model = parseFile(image);
    const [row] = sql('SELECT * FROM images WHERE path = ?', image);
    expect(row).toMatchObject({ element_count: model.elements.length, errors: 0, has_vmdesc: 1, saw_eof: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const sections = sql('SELECT * FROM sections WHERE image_id = ? ORDER BY idx', row.id);
    expect(sections.map((s) => [s.type, s.offset, s.length, s.section_id])).toEqual(model.elements.map((e) => [e.type, e.offset, e.length, e.sectionId ?? null]));
    const runs = sql('SELECT * FROM page_runs WHERE image_id = ? ORDER BY idx', row.id);
    expect(runs.map((r) => [r.block_idx, r.first_page, r.count, r.data_offset, r.stride])).toEqual([...model.pages.runs()].map((r) => [r.block, r.firstPage, r.count, r.dataOffset, r.stride]));
    expect(sql('SELECT name FROM ram_blocks WHERE image_id = ? ORDER BY idx', row.id).map((b) => b.name)).toEqual(model.ramBlocks.map((b) => b.id));
    const cpu = sql<{ vmsd_name: string; instance_id: number; subsections: string }>("SELECT * FROM devices WHERE image_id = ? AND name = 'cpu'", row.id)[0];
    expect(cpu).toMatchObject({ vmsd_name: 'cpu', instance_id: 0 });
    expect(JSON.parse(cpu.subsections)).toEqual(model.vmdesc!.devices.find((d) => d.name === 'cpu')!.subsections!.map((s) => s.vmsd_name));
    const damaged = sql("SELECT d.* FROM diagnostics d JOIN images i ON i.id = d.image_id WHERE i.path LIKE '%flip-hdr.mig'");
    expect(damaged.map((d) => d.code)).toEqual(parseFile(path.join(lib, 'x86_64-q35-minimal-running-32M.flip-hdr.mig')).diagnostics.map((d) => d.code));
  });

  it('the database is WAL, at the current schema version, and consistent', () => {
    const conn = new Database(db, { readonly: true });
    try {
      expect(conn.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(conn.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(conn.pragma('foreign_key_check')).toEqual([]);
    } finally {
      conn.close();
    }
  });

  it('find: by device (idstr tail or vmsd name), device version, machine type, diagnostics', async () => {
    const names = async (...args: string[]) => (await json('find', '--db', db, ...args)).images.map((i: ListedImage) => path.basename(i.path)).sort();
    expect(await names('--device', 'e1000')).toEqual(['x86_64-pc-e1000-payload-paused-32M.mig', 'x86_64-q35-e1000-payload-paused-32M.mig']);
    expect(await names('--device', 'e1000', '--version', '2')).toHaveLength(2);
    expect(await names('--device', 'e1000', '--version', '3')).toEqual([]);
    expect(await names('--device', 'e1000', '--machine', 'pc-q35-*')).toEqual(['x86_64-q35-e1000-payload-paused-32M.mig']);
    expect(await names('--machine', 'pc-i440fx-7.2', '--has-diagnostics')).toEqual([]);
    expect(await names('--has-diagnostics')).toEqual(['x86_64-q35-minimal-running-32M.flip-hdr.mig']);
    const hit = (await json('find', '--db', db, '--device', '0000:00:03.0/e1000')).images[0];
    expect(hit.devices).toEqual([expect.objectContaining({ name: '0000:00:03.0/e1000', vmsd_name: 'e1000', version_id: 2 })]);
  });

  it('query runs read-only SQL and refuses writes', async () => {
    const rows = await json('query', '--db', db, "SELECT status, count(*) AS n FROM images GROUP BY status ORDER BY status");
    expect(rows).toEqual([
      { status: 'indexed', n: 7 },
      { status: 'not-an-image', n: 1 },
    ]);
    const write = await migwb('query', '--db', db, 'DELETE FROM images');
    expect(write.code).toBe(2);
    expect(write.err).toMatch(/read-only/);
    const attempt = await migwb('query', '--db', db, "SELECT 1; INSERT INTO tags VALUES (1, 'x')");
    expect(attempt.code).toBe(2);
    const bad = await migwb('query', '--db', db, 'SELEKT');
    expect(bad).toMatchObject({ code: 2, err: expect.stringMatching(/not valid SQL/) });
    expect(sql('SELECT count(*) AS n FROM images')[0].n).toBe(8);
  });
});

describe('re-indexing touches only what changed', () => {
  const indexedAt = () => Object.fromEntries(sql('SELECT path, indexed_at FROM images').map((r) => [r.path, r.indexed_at]));

  it('an unchanged library is skipped by size and mtime', async () => {
    const before = indexedAt();
    const again = await json('index', lib, '--db', db);
    expect(again).toMatchObject({ files: 8, indexed: 0, unchanged: 8 });
    expect(indexedAt()).toEqual(before);
  });

  it('a touched file with the same content is recognised by its hash and not re-read', async () => {
    const before = indexedAt();
    const file = sub('x86_64-pc-ignore-shared-paused-16M.mig');
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(file, later, later);
    expect(await json('index', lib, '--db', db)).toMatchObject({ indexed: 0, unchanged: 8 });
    expect(indexedAt()).toEqual(before);
    expect(sql('SELECT mtime_ms FROM images WHERE path = ?', file)[0].mtime_ms).toBe(Math.trunc(fs.statSync(file).mtimeMs));
  });

  it('a changed file is re-indexed, alone; notes and tags stay with it', async () => {
    const file = sub('x86_64-pc-minimal-paused-16M.mig');
    const library = Library.open(db);
    const id = library.list().find((i) => i.path === file)!.id;
    library.addNote(id, 'seized 2026-11-20, case 4711');
    library.addTag(id, 'evidence');
    library.close();
    const before = indexedAt();
    fs.appendFileSync(file, Buffer.from('junk after the vmdesc'));
    expect(await json('index', lib, '--db', db)).toMatchObject({ indexed: 1, unchanged: 7 });
    const after = indexedAt();
    for (const p of Object.keys(before)) if (p !== file) expect(after[p]).toBe(before[p]);
    expect(after[file]).not.toBe(before[file]);
    const reopened = Library.open(db);
    const row = reopened.list().find((i) => i.path === file)!;
    expect(row).toMatchObject({ id, tags: ['evidence'], warnings: 1 });
    expect(reopened.notes(id).map((n) => n.text)).toEqual(['seized 2026-11-20, case 4711']);
    reopened.close();
  });

  it('a deleted file is marked missing; renamed, it keeps its row, notes and tags', async () => {
    const file = sub('x86_64-pc-minimal-paused-16M.mig');
    const renamed = sub('renamed.mig');
    const id = sql('SELECT id FROM images WHERE path = ?', file)[0].id;
    fs.renameSync(file, renamed);
    expect(await json('index', lib, '--db', db)).toMatchObject({ missing: 1, indexed: 1 });
    expect(sql('SELECT id, status FROM images WHERE path = ?', renamed)).toEqual([{ id, status: 'indexed' }]);
    fs.rmSync(sub('x86_64-pc-ignore-shared-paused-16M.mig'));
    expect(await json('index', '--db', db)).toMatchObject({ missing: 1, indexed: 0 });
    const { images } = await json('ls', '--db', db);
    expect(images.find((i: ListedImage) => i.path.endsWith('ignore-shared-paused-16M.mig')).status).toBe('missing');
  });
});

describe('cancellation, progress and sidecars', () => {
  it('a cancelled run stops before writing, and the next run completes the job', async () => {
    const folder = makeLibraryFolder(tempDir('cancel'));
    const file = path.join(path.dirname(folder), 'cancel.sqlite');
    const library = Library.open(file);
    try {
      const controller = new AbortController();
      controller.abort();
      expect(await library.index([folder], { signal: controller.signal })).toMatchObject({ cancelled: true, indexed: 0 });
      const progress: IndexProgress[] = [];
      const report = await library.index([folder], { onProgress: (p) => progress.push(p) });
      expect(report).toMatchObject({ cancelled: false, indexed: 7, notImages: 1 });
      const last = progress.at(-1)!;
      expect(last).toMatchObject({ filesDone: 8, filesTotal: 8 });
      expect(last.bytesDone).toBe(last.bytesTotal);
      expect(progress.some((p) => p.currentFile?.startsWith(folder))).toBe(true);
    } finally {
      library.close();
    }
  });

  it('--seal-sidecars writes IMAGE.migdir for scanned images; they are not library files, and the next index opens through them', async () => {
    const folder = makeLibraryFolder(tempDir('sidecars'));
    const file = path.join(path.dirname(folder), 'sidecars.sqlite');
    const first = await json('index', folder, '--db', file, '--seal-sidecars');
    expect(first).toMatchObject({ indexed: 7, sidecars_written: 6 });
    expect(fs.existsSync(path.join(folder, 'x86_64-pc-e1000-payload-paused-32M.mig.migdir'))).toBe(true);
    expect(fs.existsSync(path.join(folder, 'sub', 'deeper', 'sealed-without-extension.migdir'))).toBe(false);
    fs.rmSync(file);
    expect(await json('index', folder, '--db', file)).toMatchObject({ files: 8, indexed: 7 });
    const via = await json('query', '--db', file, "SELECT opened_via AS via, count(*) AS n FROM images WHERE status = 'indexed' GROUP BY via ORDER BY via");
    expect(via).toEqual([
      { via: 'directory', n: 1 },
      { via: 'sidecar', n: 6 },
    ]);
  });
});

describe('paths and arguments', () => {
  it('the default database is where Electron keeps userData for "Migration Image Workbench"', () => {
    expect(defaultDatabasePath({}, 'linux', '/home/ana')).toBe('/home/ana/.config/Migration Image Workbench/library.sqlite');
    expect(defaultDatabasePath({ XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/ana')).toBe('/xdg/Migration Image Workbench/library.sqlite');
    expect(defaultDatabasePath({}, 'darwin', '/Users/ana')).toBe('/Users/ana/Library/Application Support/Migration Image Workbench/library.sqlite');
    expect(defaultDatabasePath({ APPDATA: 'C:\\Users\\ana\\AppData\\Roaming' }, 'win32', 'C:\\Users\\ana')).toBe(path.join('C:\\Users\\ana\\AppData\\Roaming', 'Migration Image Workbench', 'library.sqlite'));
  });

  it('a database from a newer workbench is refused, not downgraded; reopening a current one changes nothing', async () => {
    const newer = path.join(root, 'newer.sqlite');
    Library.open(newer).close();
    Library.open(newer).close();
    const conn = new Database(newer);
    expect(conn.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    conn.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    conn.close();
    expect(await migwb('ls', '--db', newer)).toMatchObject({ code: 2, err: expect.stringMatching(/newer than this workbench understands/) });
  });

  it('user mistakes are one-line errors with exit status 2', async () => {
    const missing = await migwb('index', path.join(root, 'nope'), '--db', db);
    expect(missing).toMatchObject({ code: 2, err: expect.stringMatching(/^migwb: .*nope does not exist\n$/) });
    expect(await migwb('find', '--db', db)).toMatchObject({ code: 2, err: expect.stringMatching(/at least one of --device/) });
    expect(await migwb('find', '--db', db, '--version', '2')).toMatchObject({ code: 2, err: expect.stringMatching(/--version needs --device/) });
    expect(await migwb('query', '--db', path.join(root, 'absent.sqlite'), 'SELECT 1')).toMatchObject({ code: 2, err: expect.stringMatching(/does not exist; index some images first/) });
  });
});
