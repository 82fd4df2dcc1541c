import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusPath } from '../helpers/corpus';
import { handlerWindows } from '../helpers/handler-windows';
import { haveXenTools, runVerifier, XEN_TOOLS_MISSING } from '../helpers/xen-tools';

const BROKEN = corpusPath('xen', 'broken-bad-image-id.libxc');
const VALID = corpusPath('xen', 'hvm-v3.xl');

/**
 * A Xen stream in the app's backend, over the real handlers (as the window and `migwb serve`
 * call them): repairs offered on the diagnostic they answer, unsaved edits autosaved and
 * offered again, the saved result accepted by Xen's verifier, and what only QEMU streams
 * have refused by name.
 */
describe('Xen streams through the app handlers', () => {
  const windows = handlerWindows('migwb-xen-app-');
  const { work, windowApi } = windows;

  it.skipIf(!haveXenTools)(`a broken sample: the offered repair, autosaved, restored in a later session, saved, and verify-stream-v2 accepts it${haveXenTools ? '' : ` (${XEN_TOOLS_MISSING})`}`, async () => {
    const first = windowApi('xen-window-1');
    const opened = await first.openImage(BROKEN);
    expect(opened.kind).toBe('xen-libxc');
    expect(opened.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    expect(opened.repairs.length).toBe(1);
    const [offer] = opened.repairs;
    const answered = opened.diagnostics.find((d) => d.code === offer.answers[0].code && d.offset === offer.answers[0].offset);
    expect(answered?.severity).toBe('error');

    const repaired = await first.editRepairDiagnostic(opened.handle, offer.answers[0].code, offer.answers[0].offset);
    expect(repaired.repairs).toEqual([{ code: offer.code, summary: offer.summary }]);
    expect(repaired.image.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(repaired.image.repairs).toEqual([]);
    // The same offer again: it no longer applies.
    await expect(first.editRepairDiagnostic(opened.handle, offer.answers[0].code, offer.answers[0].offset)).rejects.toThrow(/no repair of its own now/);

    // Unsaved: kept beside the library, and offered to a later session of the same image.
    await expect.poll(() => windows.autosave.find(BROKEN)?.edits ?? 0, { timeout: 10_000 }).toBe(1);
    const later = windowApi('xen-window-2');
    const again = await later.openImage(BROKEN);
    expect(again.autosaved).toMatchObject({ edits: 1, undone: 0 });
    const restored = await later.restoreAutosave(again.handle);
    expect(restored.edits.map((e) => e.summary)).toEqual([offer.summary]);
    expect(restored.image.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    const out = path.join(work, 'repaired.libxc');
    const saved = await later.editSave(again.handle, out, { force: false, streamOnly: false });
    expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(windows.sessions.unsaved('xen-window-2')).toEqual([]);
    const verdict = runVerifier(out, 'libxc');
    expect(verdict.says, verdict.stderr).toBe('');
    expect(verdict.exit).toBe(0);
    // The original is never written.
    expect(fs.statSync(BROKEN).size).toBe(opened.fileSize);
    await first.closeImage(opened.handle);
    await later.closeImage(again.handle);
    await windows.autosave.discard(BROKEN);
  });

  it('a valid stream offers no repair; the QEMU panel, version transforms and the memory map say it is not a QEMU stream', async () => {
    const api = windowApi('xen-window-3');
    const opened = await api.openImage(VALID);
    expect(opened.kind).toBe('xen-xl');
    expect(opened.repairs).toEqual([]);
    expect(opened.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    for (const call of [() => api.memoryMap(opened.handle), () => api.transformTargets(opened.handle), () => api.qemuTargets(opened.handle)]) {
      await expect(call()).rejects.toThrow(/hvm-v3\.xl is not a QEMU stream \(xen-xl\)/);
    }
    await api.closeImage(opened.handle);
  });
});
