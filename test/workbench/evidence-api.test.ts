import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import type { WorkbenchApi } from '../../shared/api/contract';
import { validateArguments } from '../../shared/api/validate';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import { corpusAndTemp } from '../helpers/grants';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

/** Opening for evidence in the app, over the real handlers and a real SQLite library. */
describe('openEvidence: read-only, hashed on open, a changed hash flagged', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-evidence-api-');
  let library: Library;
  let api: WorkbenchApi;
  let copy = '';
  beforeAll(() => {
    library = Library.open(path.join(tmp(), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => undefined);
    copy = path.join(tmp(), 'seized.mig');
    fs.copyFileSync(MINIMAL, copy);
  });
  afterAll(() => library.close());

  it('records the sha256 with the time in the library and says so on the opened image', async () => {
    const opened = await api.openEvidence(copy);
    expect(opened.evidence).toMatchObject({ sha256: sha256File(copy), size: fs.statSync(copy).size, earlier: 0, changed: false });
    expect(library.evidenceHashes(copy)).toEqual([{ size: opened.evidence!.size, sha256: opened.evidence!.sha256, takenAt: opened.evidence!.takenAt }]);
    expect(opened.containerDiagnostics.some((d) => d.code === 'evidence-hash-changed')).toBe(false);
    await api.closeImage(opened.handle);
  });

  it('refuses every edit, repair, transform and save, and the file stays as it was', async () => {
    const opened = await api.openEvidence(copy);
    const h = opened.handle;
    const refused = /seized\.mig is open for evidence, read-only: no edit, repair, transform or save is made/;
    await expect(api.editApply(h, { op: 'set-field', field: 'cpu.env.eip', value: '0x1' })).rejects.toThrow(refused);
    await expect(api.editUndo(h)).rejects.toThrow(refused);
    await expect(api.editRedo(h)).rejects.toThrow(refused);
    await expect(api.editRepair(h, null)).rejects.toThrow(refused);
    await expect(api.editRepairDiagnostic(h, 'truncated', 0)).rejects.toThrow(refused);
    await expect(api.editFromDonor(h, MINIMAL, { op: 'replace-section', section: 'cpu:0' })).rejects.toThrow(refused);
    await expect(api.transformApply(h, { to: 'qemu-10.0', machine: null, templatePath: null, options: [] })).rejects.toThrow(refused);
    await expect(api.editSave(h, path.join(tmp(), 'out.mig'), { force: true, streamOnly: false })).rejects.toThrow(refused);
    await expect(api.editSaveJournal(h, path.join(tmp(), 'j.json'))).rejects.toThrow(refused);
    expect(fs.existsSync(path.join(tmp(), 'out.mig'))).toBe(false);
    // Reading goes on as usual.
    expect((await api.treeChildren(h, null)).length).toBeGreaterThan(10);
    await api.closeImage(h);
    // The same file opened normally is editable.
    const normal = await api.openImage(copy);
    expect(normal.evidence).toBeUndefined();
    expect((await api.editApply(normal.handle, { op: 'set-field', field: 'cpu.env.eip', value: '0x1' })).image.edits).toBe(1);
    await api.editUndo(normal.handle);
    await api.closeImage(normal.handle);
  });

  it('a re-open after the file changed carries an error diagnostic with both hashes', async () => {
    const before = sha256File(copy);
    const bytes = fs.readFileSync(copy);
    bytes[0x31816] ^= 0x01; // inside a BIOS page record
    fs.writeFileSync(copy, bytes);
    const opened = await api.openEvidence(copy);
    expect(opened.evidence).toMatchObject({ sha256: sha256File(copy), changed: true, earlier: 2 });
    const problem = opened.containerDiagnostics.find((d) => d.code === 'evidence-hash-changed');
    expect(problem).toMatchObject({ severity: 'error', offset: 0 });
    expect(problem!.expected).toContain(before);
    expect(problem!.found).toContain(sha256File(copy));
    await api.closeImage(opened.handle);
  });

  it('takes one path, like openImage', () => {
    expect(() => validateArguments('openEvidence', [])).toThrow(/expected 1 arguments/);
    expect(() => validateArguments('openEvidence', [copy])).not.toThrow();
  });
});
