import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

/** The hashes the library recorded for a path, oldest first. */
function recorded(db: string, file: string): { sha256: string; taken_at: string; size: number }[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare('SELECT sha256, taken_at, size FROM evidence_hashes WHERE path = ? ORDER BY id').all(path.resolve(file)) as { sha256: string; taken_at: string; size: number }[];
  } finally {
    conn.close();
  }
}

/**
 * `--evidence` on the commands that open an image: the file's sha256 is recorded with the
 * time in the library (a real SQLite file), a re-open whose hash changed is an error
 * diagnostic (validate exits 1 on it), and the commands that change an image refuse.
 */
describe('migwb … --evidence', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-evidence-');
  let copy = '';
  let db = '';
  beforeAll(() => {
    copy = path.join(tmp(), 'seized.mig');
    db = path.join(tmp(), 'case.sqlite');
    fs.copyFileSync(MINIMAL, copy);
  });

  it('info, validate, dump, search and read each record the sha256 with the time', async () => {
    const runs: [string, string[]][] = [
      ['info', ['info', copy, '--json']],
      ['validate', ['validate', copy]],
      ['dump', ['dump', copy, '--section', 'cpu']],
      ['search', ['search', copy, '--string', 'SeaBIOS']],
      ['read', ['read', copy, '--gpa', '0x5000', '--length', '16']],
    ];
    const started = new Date().toISOString();
    for (const [name, args] of runs) {
      const r = await migwb(...args, '--evidence', '--db', db);
      expect(r.code, `${name}: ${r.err}`).toBe(0);
      expect(r.err, name).toMatch(new RegExp(`evidence: .*seized\\.mig: sha256 ${sha256File(copy)} \\(433073 bytes\\) recorded at `));
    }
    const rows = recorded(db, copy);
    expect(rows).toHaveLength(runs.length);
    for (const row of rows) {
      expect(row).toMatchObject({ sha256: sha256File(copy), size: 433073 });
      expect(row.taken_at >= started).toBe(true);
    }
    // info --json stays JSON: the evidence line went to stderr.
    const info = await migwb('info', copy, '--json', '--evidence', '--db', db);
    expect((JSON.parse(info.out) as { path: string }).path).toBe(copy);
  });

  it('a re-open after the file changed is an error diagnostic with both hashes', async () => {
    const before = sha256File(copy);
    const bytes = fs.readFileSync(copy);
    bytes[0x31816] ^= 0x01; // the S of "SeaBIOS" in a BIOS page record: the image itself stays valid
    fs.writeFileSync(copy, bytes);
    const after = sha256File(copy);

    const clean = await migwb('validate', copy);
    expect(clean.code, 'without --evidence the image is valid').toBe(0);

    const v = await migwb('validate', copy, '--evidence', '--db', db, '--json');
    expect(v.code).toBe(1);
    const report = JSON.parse(v.out) as { valid: boolean; diagnostics: { code: string; severity: string; offset: number; expected: string; found: string }[] };
    expect(report.valid).toBe(false);
    expect(report.diagnostics[0]).toMatchObject({ code: 'evidence-hash-changed', severity: 'error', offset: 0 });
    expect(report.diagnostics[0].expected).toContain(before);
    expect(report.diagnostics[0].found).toContain(after);
    expect(v.err).toMatch(/error .*The file changed since it was first opened for evidence/);

    // The other commands still run, and say it.
    const info = await migwb('info', copy, '--evidence', '--db', db);
    expect(info.code).toBe(0);
    expect(info.err).toMatch(/The file changed since it was first opened for evidence/);
    expect(recorded(db, copy).map((r) => r.sha256).slice(-2)).toEqual([after, after]);
  });

  it('edit and repair refuse --evidence and write nothing', async () => {
    const journal = path.join(tmp(), 'j.json');
    const edit = await migwb('edit', copy, '--journal', journal, '--set', 'cpu.env.eip=0x1', '--evidence');
    expect(edit.code).toBe(2);
    expect(edit.err).toMatch(/--evidence opens images read-only: "migwb edit" would change the image/);
    expect(fs.existsSync(journal)).toBe(false);
    const out = path.join(tmp(), 'repaired.mig');
    const repair = await migwb('repair', copy, '-o', out, '--evidence');
    expect(repair.code).toBe(2);
    expect(repair.err).toMatch(/"migwb repair" would change the image/);
    expect(fs.existsSync(out)).toBe(false);
  });
});
