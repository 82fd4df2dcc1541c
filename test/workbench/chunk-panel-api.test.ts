import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { PathGrants } from '../../electron/api/path-grants';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import type { ChunkRow, WorkbenchApi } from '../../shared/api/contract';
import { validateArguments } from '../../shared/api/validate';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import { corpusAndTemp } from '../helpers/grants';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const E1000_SECTION = '0000:00:03.0/e1000:0';

const keys = (rows: ChunkRow[]) => rows.map((r) => r.key);
const row = (rows: ChunkRow[], key: string) => rows.find((r) => r.key === key)!;

/**
 * The chunk panel's channels over the real handlers (the functions behind IPC and the
 * bridge): the list as `migwb chunks` makes it, and each edit as the journal entry
 * `migwb edit` makes (the saved files are compared byte for byte with the CLI's).
 */
describe('the chunk panel API: list, section and chunk edits through the journal', () => {
  expectOriginalsUnchanged([MINIMAL, E1000]);
  const tmp = tempFolder('migwb-chunk-api-');
  let library: Library;
  let api: WorkbenchApi;
  beforeAll(() => {
    library = Library.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-chunk-api-lib-')), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => {});
  });
  afterAll(() => library.close());

  it('a QEMU stream: its elements stand for chunks, as `migwb chunks --json` lists them', async () => {
    const { handle } = await api.openImage(MINIMAL);
    const list = await api.chunkList(handle);
    expect(list.container).toBe(false);
    const cli = await migwb('chunks', MINIMAL, '--json');
    expect(cli.code).toBe(0);
    const printed = JSON.parse(cli.out).chunks as { key: string; type: string; crc: string; length: number }[];
    expect(keys(list.rows)).toEqual(printed.map((c) => c.key));
    expect(list.rows.map((r) => [r.type, r.length, r.crc])).toEqual(printed.map((c) => [c.type, c.length, c.crc]));
    expect(row(list.rows, 'FULL cpu:0')).toMatchObject({ section: 'cpu:0', crc: 'none', damaged: false, properties: { critical: true, public: true, reservedClear: true, safeToCopy: false } });
    await api.closeImage(handle);
  });

  it('graft from a donor, undo, replace, and a note: the saved file is the one `migwb edit` + `apply` writes', async () => {
    const { handle } = await api.openImage(MINIMAL);
    const donor = await api.donorSections(handle, E1000);
    expect(donor.sections.map((s) => s.section)).toContain(E1000_SECTION);
    // Graft the donor's NIC after globalstate, undo it, redo it.
    let state = await api.editFromDonor(handle, E1000, { op: 'graft-section', section: E1000_SECTION, position: { after: 'globalstate:0' } });
    expect(state.edits.at(-1)!.summary).toMatch(/e1000/);
    let rows = (await api.chunkList(handle)).rows;
    expect(keys(rows).slice(-4)).toEqual(['FULL globalstate:0', `FULL ${E1000_SECTION}`, 'QEOF', 'vDSC']);
    state = await api.editUndo(handle);
    expect(keys((await api.chunkList(handle)).rows)).not.toContain(`FULL ${E1000_SECTION}`);
    state = await api.editRedo(handle);
    // Replace the timer with the donor's (the same donor, opened once); note the cpu.
    state = await api.editFromDonor(handle, E1000, { op: 'replace-section', section: 'timer:0' });
    state = await api.editApply(handle, { op: 'set-note', about: 'FULL cpu:0', text: 'registers checked by hand' });
    expect(state.edits).toHaveLength(3);
    rows = (await api.chunkList(handle)).rows;
    expect(row(rows, 'FULL cpu:0').note).toBe('registers checked by hand');
    const out = path.join(tmp(), 'app.mig');
    const saved = await api.editSave(handle, out, { force: false, streamOnly: false });
    expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // A bare stream has no place for the note: it stays in the journal, and Save as says so.
    expect(saved.notes.join(' ')).toMatch(/kept in the journal only/);
    const journal = path.join(tmp(), 'cli.json');
    const edit = await migwb('edit', MINIMAL, '--journal', journal, '--donor', E1000, '--graft', `${E1000_SECTION} after globalstate:0`, '--replace-section', 'timer:0');
    expect(edit.code, edit.err).toBe(0);
    const apply = await migwb('apply', MINIMAL, journal, '-o', path.join(tmp(), 'cli.mig'));
    expect(apply.code, apply.err).toBe(0);
    expect(sha256File(out)).toBe(sha256File(path.join(tmp(), 'cli.mig')));
    await api.closeImage(handle);
  });

  it('delete a section, then insert it from a file where it was: the stream is the original again, but for the vmdesc', async () => {
    const { handle } = await api.openImage(MINIMAL);
    const before = (await api.chunkList(handle)).rows;
    const pcspk = row(before, 'FULL pcspk:0');
    const file = path.join(tmp(), 'pcspk.section');
    fs.writeFileSync(file, fs.readFileSync(MINIMAL).subarray(pcspk.stream!.offset, pcspk.stream!.offset + pcspk.stream!.length));
    await api.editApply(handle, { op: 'delete-section', section: 'pcspk:0' });
    expect(keys((await api.chunkList(handle)).rows)).not.toContain('FULL pcspk:0');
    const state = await api.editInsertSection(handle, file, { after: 'i8254:0' });
    expect(state.edits).toHaveLength(2);
    const after = (await api.chunkList(handle)).rows;
    expect(keys(after)).toEqual(keys(before));
    const moved = row(after, 'FULL pcspk:0');
    expect(moved.stream).toEqual(pcspk.stream);
    const bytes = Buffer.from(await api.readBytes(handle, 0, pcspk.stream!.offset + pcspk.stream!.length, 'stream'), 'base64');
    expect(bytes.equals(fs.readFileSync(MINIMAL).subarray(0, bytes.length))).toBe(true);
    // A file that is not a section is refused with the reason, and the journal is unchanged.
    const junk = path.join(tmp(), 'junk.section');
    fs.writeFileSync(junk, Buffer.from('not a section'));
    await expect(api.editInsertSection(handle, junk, { end: true })).rejects.toThrow(/section/);
    expect((await api.editUndo(handle)).edits).toHaveLength(1);
    await api.closeImage(handle);
  });

  it('a chunked container: a damaged chunk is marked, its CRC recomputed on request, notes kept, an ancillary chunk dropped', async () => {
    const packed = path.join(tmp(), 'minimal.migc');
    expect((await migwb('pack', MINIMAL, '-o', packed)).code).toBe(0);
    const clean = await api.openImage(packed);
    const cpu = row((await api.chunkList(clean.handle)).rows, 'FULL cpu:0');
    await api.closeImage(clean.handle);
    const damaged = path.join(tmp(), 'damaged.migc');
    const bytes = fs.readFileSync(packed);
    bytes[cpu.fileOffset! + 8 + 40] ^= 0x01;
    fs.writeFileSync(damaged, bytes);

    const { handle } = await api.openImage(damaged);
    let list = await api.chunkList(handle);
    expect(list.container).toBe(true);
    const bad = row(list.rows, 'FULL cpu:0');
    expect(bad).toMatchObject({ crc: 'bad', damaged: true, fileOffset: cpu.fileOffset, storedCrc: cpu.storedCrc });
    expect(bad.computedCrc).not.toBe(cpu.storedCrc);
    expect(list.rows.filter((r) => r.damaged).map((r) => r.key)).toEqual(['FULL cpu:0']);
    await api.editApply(handle, { op: 'recompute-crc', chunk: bad.fileOffset! });
    await api.editApply(handle, { op: 'set-note', about: 'FULL cpu:0', text: 'bit 0 of byte 40 flipped in transit;\nCRC recomputed after review' });
    list = await api.chunkList(handle);
    expect(row(list.rows, 'FULL cpu:0').note).toBe('bit 0 of byte 40 flipped in transit;\nCRC recomputed after review');
    const ancillary = list.rows.find((r) => !r.properties.critical && r.fileOffset !== undefined && r.type !== 'vDSC')!;
    expect(ancillary).toBeDefined();
    await api.editApply(handle, { op: 'drop-chunk', chunk: ancillary.fileOffset! });
    expect(keys((await api.chunkList(handle)).rows)).not.toContain(ancillary.key);
    const out = path.join(tmp(), 'reviewed.migc');
    await api.editSave(handle, out, { force: false, streamOnly: false });
    const chunks = await migwb('chunks', out, '--json');
    expect(chunks.code, chunks.out).toBe(0);
    const written = JSON.parse(chunks.out) as { damaged: number; chunks: { key: string; note?: string }[] };
    expect(written.damaged).toBe(0);
    expect(written.chunks.find((c) => c.key === 'FULL cpu:0')!.note).toMatch(/^bit 0 of byte 40 flipped/);
    expect(written.chunks.map((c) => c.key)).not.toContain(ancillary.key);
    await api.closeImage(handle);
  });

  it('paths reach the chunk edits only when the user gave them; malformed requests stop at validation', async () => {
    const onlyTheImage = new PathGrants();
    onlyTheImage.grantFile(MINIMAL);
    const strict = createHandlers({ sessions: new ImageSessions(), library, grants: onlyTheImage, host: 'bridge', version: 'test', initialPaths: [] }, 'strict', () => {});
    const { handle } = await strict.openImage(MINIMAL);
    await expect(strict.donorSections(handle, E1000)).rejects.toThrow(/not chosen by you/);
    await expect(strict.editFromDonor(handle, E1000, { op: 'replace-section', section: 'cpu:0' })).rejects.toThrow(/not chosen by you/);
    await expect(strict.editInsertSection(handle, '/etc/passwd', { end: true })).rejects.toThrow(/^(?!.*root:).*not chosen by you/);
    expect((await strict.chunkList(handle)).rows.length).toBeGreaterThan(0);
    await strict.closeImage(handle);

    expect(() => validateArguments('editApply', ['h', { op: 'set-note', about: 'FULL cpu:0', text: 42 }])).toThrow(/text/);
    expect(() => validateArguments('editApply', ['h', { op: 'recompute-crc', chunk: -1 }])).toThrow(/chunk/);
    expect(() => validateArguments('editApply', ['h', { op: 'graft-section', source: 'donor', section: 'cpu' }])).toThrow(/op must be one of/);
    expect(() => validateArguments('editFromDonor', ['h', '/x', { op: 'graft-section', section: 'cpu', position: { sideways: 'timer' } }])).toThrow(/position/);
    expect(() => validateArguments('editFromDonor', ['h', '/x', { op: 'delete-section', section: 'cpu' }])).toThrow(/graft-section or replace-section/);
    expect(() => validateArguments('editInsertSection', ['h', '/x', { end: false }])).toThrow(/end must be true/);
    expect(() => validateArguments('editFromDonor', ['h', '/x', { op: 'graft-section', section: 'cpu', position: null }])).not.toThrow();
  });
});
