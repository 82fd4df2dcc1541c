import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb, migwbProcess } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import type { JournalDocument } from '../../shared/edit/journal-file';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');

describe('migwb edit / apply: the journal as a file of its own', () => {
  expectOriginalsUnchanged([MINIMAL, E1000]);
  const tmp = tempFolder('migwb-journal-');

  it('records edits with the image identity, re-applies them to an identical copy, and refuses any other image', async () => {
    const journal = path.join(tmp(), 'j.json');
    const r = await migwb('edit', MINIMAL, '--journal', journal, '--set', 'cpu.env.regs[0]=0x1122334455667788', '--ram', '0x5000=deadbeef', '--replace-bytes', '0x4d6ef=aa');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('journal ' + journal + ': 3 edits');
    const doc = readJson<JournalDocument>(journal);
    expect(doc).toMatchObject({ format: 'migwb-edit-journal', version: 1, image: { path: MINIMAL, size: 433073, sha256: readJson(sidecar(MINIMAL, 'meta')).sha256 }, sources: [], undone: [] });
    expect(doc.edits.map((e) => e.intent.op)).toEqual(['set-field', 'ram-write', 'replace-bytes']);
    expect(doc.edits[0].changes).toEqual([{ offset: 0x4d6ef, delete: 8, insert: [{ hex: '1122334455667788' }], removed: [{ source: 'image', offset: 0x4d6ef, length: 8 }] }]);

    const fromOriginal = path.join(tmp(), 'from-original.mig');
    expect((await migwb('apply', MINIMAL, journal, '-o', fromOriginal)).code).toBe(0);
    const copy = path.join(tmp(), 'copy-of-original.mig');
    fs.copyFileSync(MINIMAL, copy);
    const fromCopy = path.join(tmp(), 'from-copy.mig');
    const applied = await migwb('apply', copy, journal, '-o', fromCopy);
    expect(applied.code, applied.err).toBe(0);
    expect(sha256File(fromCopy)).toBe(sha256File(fromOriginal));
    expect(applied.out).toContain(`sha256 ${sha256File(fromCopy)}`);

    const other = await migwb('apply', E1000, journal, '-o', path.join(tmp(), 'never.mig'));
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/the journal was made for .*x86_64-pc-minimal-paused-16M.mig \(433073 bytes, sha256 91b5eefb.*\); .* is a different image/);
    expect(fs.existsSync(path.join(tmp(), 'never.mig'))).toBe(false);
  });

  it('a rejected edit leaves the journal as it was; undo and redo move edits between "edits" and "undone"', async () => {
    const journal = path.join(tmp(), 'undo.json');
    expect((await migwb('edit', MINIMAL, '--journal', journal, '--set', 'cpu.env.eip=0xfff4', '--set', 'cpu.env.regs[1]=7')).code).toBe(0);
    const before = fs.readFileSync(journal, 'utf8');
    const bad = await migwb('edit', MINIMAL, '--journal', journal, '--set', 'cpu.env.eip=0xfff5', '--set', 'cpu.env.eip=-1');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/env.eip \(uint64\) takes an integer from 0 to 18446744073709551615/);
    expect(fs.readFileSync(journal, 'utf8')).toBe(before);

    const undo = await migwb('edit', MINIMAL, '--journal', journal, '--undo');
    expect(undo.out).toMatch(/^undone: cpu:0 env.regs\[1\]/);
    expect(readJson(journal)).toMatchObject({ edits: [{ intent: { path: 'env.eip' } }], undone: [{ intent: { path: 'env.regs[1]' } }] });
    const redo = await migwb('edit', MINIMAL, '--journal', journal, '--redo', '--json');
    expect(JSON.parse(redo.out)).toMatchObject({ redone: [{ summary: expect.stringContaining('env.regs[1]') }], edits: 2 });
    expect((await migwb('edit', MINIMAL, '--journal', journal, '--undo', '3')).err).toMatch(/--undo 3: there are only 2 edits to undo/);
  });

  it('lists field paths, writes an evidence report with the old and new bytes, and never writes over the original', async () => {
    const journal = path.join(tmp(), 'report.json');
    const report = path.join(tmp(), 'report.md');
    const fields = await migwb('edit', MINIMAL, '--journal', journal, '--fields', 'cpu', '--set', 'cpu.env.regs[2]=0x1', '--report', report);
    expect(fields.out).toMatch(/0x0004d6ff {2}env.regs\[2\] {2}uint64 {2}8 bytes {2}0x0000000000000001 \(1\)/);
    expect(fields.out).toMatch(/env.segs\[0\] {2}struct \(not settable\) {2}20 bytes/);
    const md = fs.readFileSync(report, 'utf8');
    expect(md).toContain('sha256 `91b5eefb5561e5813c9be42ad01febd26fdd1e95ebe353f3ca2883e1641d32f1` (never written)');
    expect(md).toContain('| 0x4d6ff | 8 bytes: 8 bytes of `image` at 0x4d6ff: `00 00 00 00 00 06 0f b1` | 8 bytes: `00 00 00 00 00 00 00 01` |');

    const overOriginal = await migwb('apply', MINIMAL, journal, '-o', MINIMAL);
    expect(overOriginal.code).toBe(2);
    expect(overOriginal.err).toMatch(/refusing to write .*evidence and is never modified/);
    const overJournal = await migwb('edit', MINIMAL, '--journal', MINIMAL);
    expect(overJournal.code).toBe(2);
  });

  it('apply refuses a result with errors (exit 1, nothing written) unless --force', async () => {
    const journal = path.join(tmp(), 'broken.json');
    // 0x44 where the cpu section's type byte (0x04) is.
    const edit = await migwb('edit', MINIMAL, '--journal', journal, '--replace-bytes', '0x4d6de=44');
    expect(edit.out).toMatch(/edited image \(433073 bytes\): 1 error, 0 warnings\n {2}error 0x0004d6de {2}Unknown section type 0x44/);
    expect(edit.out).toContain('"migwb apply" refuses to save an image with errors unless given --force');
    const out = path.join(tmp(), 'broken.mig');
    const refused = await migwb('apply', MINIMAL, journal, '-o', out);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/not saved: the result would have 1 error:\n {2}0x4d6de Unknown section type 0x44/);
    expect(fs.existsSync(out)).toBe(false);
    const forced = await migwb('apply', MINIMAL, journal, '-o', out, '--force');
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('note: saved with 1 error because --force was given');
  });

  it('a journal that copies from a donor finds it by its recorded path, or where --donor says it is now', async () => {
    const journal = path.join(tmp(), 'graft.json');
    const moved = path.join(tmp(), 'donor-moved.mig');
    fs.copyFileSync(E1000, moved);
    expect((await migwb('edit', MINIMAL, '--journal', journal, '--donor', moved, '--graft', '0000:00:03.0/e1000')).code).toBe(0);
    expect(readJson<JournalDocument>(journal).sources).toEqual([{ id: 'donor', path: moved, size: fs.statSync(E1000).size, sha256: sha256File(E1000) }]);
    const out = path.join(tmp(), 'grafted.mig');
    expect((await migwb('apply', MINIMAL, journal, '-o', out)).code).toBe(0);
    fs.rmSync(moved);
    const missing = await migwb('apply', MINIMAL, journal, '-o', path.join(tmp(), 'x.mig'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/donor-moved.mig does not exist/);
    const again = path.join(tmp(), 'grafted-again.mig');
    const found = await migwb('apply', MINIMAL, journal, '-o', again, '--donor', `donor=${E1000}`);
    expect(found.code, found.err).toBe(0);
    expect(sha256File(again)).toBe(sha256File(out));
    const wrong = await migwb('apply', MINIMAL, journal, '-o', path.join(tmp(), 'y.mig'), '--donor', `donor=${MINIMAL}`);
    expect(wrong.err).toMatch(/donor donor at .* is not the file the journal used/);
  });

  it('works the same through the installed launcher (a real process)', () => {
    const journal = path.join(tmp(), 'process.json');
    const out = path.join(tmp(), 'process.mig');
    const edit = migwbProcess('edit', MINIMAL, '--journal', journal, '--set', 'mc146818rtc.cmos_index=0x0e');
    expect(edit.code, edit.err).toBe(0);
    const apply = migwbProcess('apply', MINIMAL, journal, '-o', out, '--json');
    expect(apply.code, apply.err).toBe(0);
    expect(JSON.parse(apply.out)).toMatchObject({ output: { path: out, sha256: sha256File(out) }, counts: { error: 0 } });
  });
});
