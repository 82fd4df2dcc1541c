import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANALYZE_MIGRATION, haveAnalyzeMigration, runAnalyzeMigration } from '../helpers/analyze-migration';
import { corpusPath, qemuCorpusImages } from '../helpers/corpus';
import { sealedCopy, tempDir } from './sealed';

/**
 * QEMU's analyze-migration.py finds the vmdesc by the last NUL byte of the file's tail; a
 * NUL-free directory leaves that search, and so the script's output, unchanged.
 */
const SCRIPT_72 = path.join(path.dirname(ANALYZE_MIGRATION), 'analyze-migration-7.2.py');
const dir = tempDir('analyze');

describe.skipIf(!haveAnalyzeMigration)(`analyze-migration.py prints the same for a sealed copy (needs ${ANALYZE_MIGRATION})`, () => {
  let readable = 0;
  // Where the script fails on the original (no vmdesc, capabilities it does not know), it
  // must fail on the sealed copy too; everywhere else print exactly the same.
  it.each(qemuCorpusImages().map((f) => [path.basename(f), f]))('10.0 script, %s', (_, image) => {
    const sealed = sealedCopy(image, dir);
    const outcome = (f: string) => {
      const r = runAnalyzeMigration(f, 'state');
      return { ok: r.ok, stdout: r.stdout };
    };
    const original = outcome(image);
    if (original.ok) readable++;
    expect(outcome(sealed)).toEqual(original);
  });

  it('the script reads most of the corpus, so the comparison above means something', () => {
    expect(readable).toBeGreaterThanOrEqual(12);
  });

  it.skipIf(!fs.existsSync(SCRIPT_72))('7.2 script too, -d state and -d desc (x86_64-pc-minimal-paused-16M)', () => {
    const image = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
    const sealed = sealedCopy(image, dir, '72-minimal.mig');
    const run = (f: string, mode: string) => execFileSync('python3', [SCRIPT_72, '-f', f, '-d', mode], { maxBuffer: 1 << 28 }).toString();
    expect(run(sealed, 'state')).toBe(run(image, 'state'));
    expect(run(sealed, 'desc')).toBe(run(image, 'desc'));
  });
});
