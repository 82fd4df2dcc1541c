import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import type { LibraryImage, WorkbenchApi } from '../../shared/api/contract';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { corpusAndTemp } from '../helpers/grants';
import { tempDir } from '../directory/sealed';
import { linkOrCopy } from './library-fixture';

const root = tempDir('library-front-door');
const folder = path.join(root, 'images');
const db = path.join(root, 'library.sqlite');
const FILES = {
  e1000: corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'),
  compress: corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig'),
  q35v10: corpusPath('qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig'),
  flipped: corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig'),
  gzip: corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav'),
} as const;
const inFolder = (f: string) => path.join(folder, path.basename(f));

async function json(...args: string[]) {
  const r = await migwb(...args, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
}

/** The library as the front door: the columns a user scans, tags and notes from the CLI and the app, export, re-indexing. */
describe('the library view’s rows, tags and notes, export and re-index', () => {
  let library: Library;
  let api: WorkbenchApi;
  const rows = async () => Object.fromEntries((await api.libraryList()).map((i) => [path.basename(i.path), i])) as Record<string, LibraryImage>;
  beforeAll(async () => {
    fs.mkdirSync(folder, { recursive: true });
    for (const f of Object.values(FILES)) linkOrCopy(f, inFolder(f));
    fs.copyFileSync(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), path.join(folder, 'to-rename.mig'));
    await json('index', folder, '--db', db);
    library = Library.open(db);
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => undefined);
  });
  afterAll(() => library.close());

  it('rows carry short device names, a QEMU version hint, RAM, the wrapper and the distinct problems', async () => {
    const r = await rows();
    const e1000 = r['x86_64-pc-e1000-payload-paused-32M.mig'];
    expect(e1000.devices).toContain('e1000');
    expect(e1000.devices).not.toContain('0000:00:03.0/e1000');
    expect(e1000).toMatchObject({ qemuVersion: '≥ 7.2', ramBytes: expect.any(Number), wrapper: null, problems: [] });
    expect(e1000.ramBytes).toBeGreaterThanOrEqual(32 << 20);
    // Compressed pages bound the release from above: the capability went in QEMU 9.1.
    expect(r['x86_64-pc-compress-payload-paused-32M.mig']).toMatchObject({ qemuVersion: '7.2–9.0', wrapper: 'compressed pages' });
    expect(r['x86_64-q35-e1000-payload-paused-32M.mig'].qemuVersion).toBe('≥ 10.0');
    expect(r['wb-tiny-i440fx-gzip-paused.sav'].wrapper).toMatch(/^libvirt save image · version 2 · gzip stream/);
    expect(r['x86_64-q35-minimal-running-32M.flip-hdr.mig'].problems).toContainEqual({ severity: 'error', code: 'damaged-section-type' });
  });

  it('migwb tag and migwb note store them in the library; the app sees them, and they survive a rename', async () => {
    const target = path.join(folder, 'to-rename.mig');
    const tagged = await json('tag', 'case-4711', target, inFolder(FILES.e1000), '--db', db);
    expect(tagged.images.map((i: { tags: string[] }) => i.tags)).toEqual([['case-4711'], ['case-4711']]);
    const noted = await json('note', target, 'seized 2026-11-20 from host A', '--db', db);
    expect(noted.notes.map((n: { text: string }) => n.text)).toEqual(['seized 2026-11-20 from host A']);
    expect((await migwb('tag', 'has space', target, '--db', db)).err).toMatch(/is not a tag/);
    expect((await migwb('note', path.join(folder, 'nope.mig'), 'x', '--db', db)).err).toMatch(/is not in the library .*migwb index/);
    // Renamed: re-indexing finds the same content under the new name; the tag and the note go with it.
    const renamed = path.join(folder, 'renamed.mig');
    fs.renameSync(target, renamed);
    await json('index', '--db', db);
    const r = await rows();
    expect(r['to-rename.mig']).toBeUndefined();
    expect(r['renamed.mig']).toMatchObject({ tags: ['case-4711'], userNotes: [expect.objectContaining({ text: 'seized 2026-11-20 from host A' })] });
    // The app adds and removes them the same way.
    await api.libraryTag([r['renamed.mig'].id], ['reviewed'], false);
    await api.libraryAddNote(r['renamed.mig'].id, 'loads in QEMU 7.2');
    await api.libraryTag([r['x86_64-pc-e1000-payload-paused-32M.mig'].id], ['case-4711'], true);
    const after = await rows();
    expect(after['renamed.mig'].tags).toEqual(['case-4711', 'reviewed']);
    expect(after['renamed.mig'].userNotes.map((n) => n.text)).toEqual(['seized 2026-11-20 from host A', 'loads in QEMU 7.2']);
    expect(after['x86_64-pc-e1000-payload-paused-32M.mig'].tags).toEqual([]);
    await api.libraryDeleteNote(after['renamed.mig'].userNotes[1].id);
    expect((await rows())['renamed.mig'].userNotes).toHaveLength(1);
  });

  it('exports the selected rows as CSV and as JSON', async () => {
    const r = await rows();
    const ids = [r['renamed.mig'].id, r['x86_64-q35-minimal-running-32M.flip-hdr.mig'].id];
    const csvFile = path.join(root, 'rows.csv');
    expect(await api.libraryExport(ids, 'csv', csvFile)).toEqual({ path: csvFile, rows: 2 });
    const csv = fs.readFileSync(csvFile, 'utf8').split('\r\n');
    expect(csv[0]).toBe('path,status,format,wrapper,machine_type,qemu_version,ram_bytes,size,devices,errors,warnings,problems,tags,notes,sha256,indexed_at');
    expect(csv).toHaveLength(4); // header, two rows, the final line break
    expect(csv.find((l) => l.includes('flip-hdr'))).toMatch(/error:damaged-section-type/);
    const jsonFile = path.join(root, 'rows.json');
    await api.libraryExport(ids, 'json', jsonFile);
    const exported = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    expect(exported.map((e: { path: string }) => path.basename(e.path)).sort()).toEqual(['renamed.mig', 'x86_64-q35-minimal-running-32M.flip-hdr.mig']);
    expect(exported.find((e: { tags: string }) => e.tags).tags).toBe('case-4711 reviewed');
    // Never over an image of the export.
    await expect(api.libraryExport(ids, 'csv', r['renamed.mig'].path)).rejects.toThrow(/is evidence and is never modified/);
  });

  it('migwb ls --export writes every row as the app exports them; never over the library or an image, never without -o', async () => {
    const all = (await api.libraryList()).map((i) => i.id);
    for (const format of ['csv', 'json'] as const) {
      const fromApp = path.join(root, `all-app.${format}`);
      const fromCli = path.join(root, `all-cli.${format}`);
      await api.libraryExport(all, format, fromApp);
      const r = await migwb('ls', '--db', db, '--export', format, '-o', fromCli);
      expect(r.err).toBe('');
      expect(r.out).toBe(`${all.length} rows written to ${fromCli}\n`);
      expect(fs.readFileSync(fromCli, 'utf8')).toBe(fs.readFileSync(fromApp, 'utf8'));
    }
    const usage = await migwb('ls', '--db', db, '--export', 'csv');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--export FORMAT and -o FILE go together/);
    expect((await migwb('ls', '--db', db, '--export', 'xml', '-o', path.join(root, 'x.xml'))).err).toMatch(/--export takes csv or json, not "xml"/);
    const before = fs.readFileSync(db);
    expect((await migwb('ls', '--db', db, '--export', 'csv', '-o', db)).code).toBe(2);
    expect(fs.readFileSync(db).equals(before)).toBe(true);
  });

  it('Re-index (no paths) re-reads the whole library; selected ids re-read those files', async () => {
    const all = await api.libraryIndex([]);
    expect(all).toMatchObject({ files: 6, unchanged: 6, indexed: 0, cancelled: false });
    const r = await rows();
    fs.appendFileSync(path.join(folder, 'renamed.mig'), Buffer.from('trailing junk'));
    const some = await api.libraryReindex([r['renamed.mig'].id, r['x86_64-pc-e1000-payload-paused-32M.mig'].id]);
    expect(some).toMatchObject({ files: 2, indexed: 1, unchanged: 1 });
    expect((await rows())['renamed.mig'].problems).toContainEqual({ severity: 'warning', code: 'trailing-data' });
  });
});
