import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkbenchApi } from '../../shared/api/contract';
import { corpusPath } from '../helpers/corpus';
import { handlerWindows } from '../helpers/handler-windows';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const FLIPPED = corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig');

/**
 * Editing that never loses work, over the real handlers: journals kept beside the library
 * while edits are unsaved, offered again when the image is opened by a later session (a
 * reloaded page, a restarted app), and a repair offered on the diagnostic it answers.
 */
describe('unsaved edits are kept and offered again; repairs are offered where the problem is', () => {
  const windows = handlerWindows('migwb-safe-edit-');
  const { work, windowApi } = windows;

  const eipBytes = async (api: WorkbenchApi, handle: string) => {
    const tree = await api.treeChildren(handle, null);
    const cpu = tree.find((n) => n.label === 'cpu')!;
    const eip = (await api.treeChildren(handle, cpu.id)).find((n) => n.label === 'env.eip')!;
    return Buffer.from(await api.readBytes(handle, eip.offset, 8, 'stream'), 'base64').toString('hex');
  };

  it('an edit is kept on disk; a later session is offered it, restores it, and the bytes are the edited ones', async () => {
    const first = windowApi('window-1');
    const opened = await first.openImage(MINIMAL);
    expect(opened.autosaved).toBeNull();
    await first.editApply(opened.handle, { op: 'set-field', field: 'cpu.env.eip', value: '0x1234' });
    const file = windows.autosave.fileFor(MINIMAL);
    await expect.poll(() => fs.existsSync(file), { timeout: 10_000 }).toBe(true);
    expect(windows.sessions.unsaved('window-1').map((s) => s.path)).toEqual([MINIMAL]);

    // The page is reloaded (or the app crashed): a new session opens the image again.
    const second = windowApi('window-2');
    const again = await second.openImage(MINIMAL);
    expect(again.autosaved).toMatchObject({ edits: 1, undone: 0 });
    // Until the offer is answered, new edits do not replace what was kept.
    await second.editApply(again.handle, { op: 'set-field', field: 'cpu.env.eip', value: '0x5555' });
    await second.editUndo(again.handle);
    await new Promise((r) => setTimeout(r, 600));
    expect(windows.autosave.find(MINIMAL)).toMatchObject({ edits: 1 });
    const restored = await second.restoreAutosave(again.handle).catch((e: Error) => e);
    expect(restored).toBeInstanceOf(Error); // a session with its own journal does not take another
    expect((restored as Error).message).toMatch(/fresh session/);

    const third = windowApi('window-3');
    const fresh = await third.openImage(MINIMAL);
    const state = await third.restoreAutosave(fresh.handle);
    expect(state.edits.map((e) => e.summary)).toEqual([expect.stringMatching(/^cpu:0 env\.eip .*→ 0x0000000000001234/)]);
    expect(state.image.edits).toBe(1);
    await expect(eipBytes(third, fresh.handle)).resolves.toBe('0000000000001234');
    // Discarded: gone for good.
    await third.discardAutosave(fresh.handle);
    expect(fs.existsSync(file)).toBe(false);
    for (const [api, handle] of [[first, opened.handle], [second, again.handle], [third, fresh.handle]] as const) await api.closeImage(handle);
    // Closing with unsaved edits keeps them (window-1 and window-3 had one each).
    expect(windows.autosave.find(MINIMAL)).toMatchObject({ edits: 1 });
    await windows.autosave.discard(MINIMAL);
  });

  it('edits undone or saved leave nothing behind', async () => {
    const api = windowApi('window-4');
    const { handle } = await api.openImage(MINIMAL);
    await api.editApply(handle, { op: 'set-field', field: 'cpu.env.eip', value: '0x4444' });
    await expect.poll(() => fs.existsSync(windows.autosave.fileFor(MINIMAL)), { timeout: 10_000 }).toBe(true);
    await api.editUndo(handle);
    await expect.poll(() => fs.existsSync(windows.autosave.fileFor(MINIMAL)), { timeout: 10_000 }).toBe(false);
    await api.editRedo(handle);
    await expect.poll(() => fs.existsSync(windows.autosave.fileFor(MINIMAL)), { timeout: 10_000 }).toBe(true);
    const saved = await api.editSave(handle, path.join(work, 'saved.mig'), { force: false, streamOnly: false });
    expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(fs.existsSync(windows.autosave.fileFor(MINIMAL))).toBe(false);
    expect(windows.sessions.unsaved('window-4')).toEqual([]);
    await api.closeImage(handle);
  });

  it('a kept journal is not applied to a file that changed since', async () => {
    const copy = path.join(work, 'copy.mig');
    fs.copyFileSync(MINIMAL, copy);
    const api = windowApi('window-5');
    const { handle } = await api.openImage(copy);
    await api.editApply(handle, { op: 'set-field', field: 'cpu.env.eip', value: '0x7777' });
    await api.closeImage(handle);
    const bytes = fs.readFileSync(copy);
    bytes[bytes.length - 1] ^= 0xff; // the last byte of the vmdesc changes
    fs.writeFileSync(copy, bytes);
    const later = windowApi('window-6');
    const reopened = await later.openImage(copy);
    expect(reopened.autosaved).toMatchObject({ edits: 1 });
    await expect(later.restoreAutosave(reopened.handle)).rejects.toThrow(/the journal was made for .*copy\.mig .* is a different image/);
  });

  it('a damaged image offers the repair on the diagnostic it answers, and makes only that one', async () => {
    const api = windowApi('window-8');
    const opened = await api.openImage(FLIPPED);
    const damaged = opened.diagnostics.find((d) => d.code === 'damaged-section-type')!;
    expect(damaged.offset).toBe(0xbb64c);
    const offer = opened.repairs.find((r) => r.answers.some((a) => a.code === damaged.code && a.offset === damaged.offset))!;
    expect(offer.summary).toMatch(/restored the type byte of .*timer.* 0x14 → 0x04/);
    const report = await api.editRepairDiagnostic(opened.handle, damaged.code, damaged.offset);
    expect(report.repairs).toEqual([{ code: offer.code, summary: offer.summary }]);
    expect(report.image.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(report.image.repairs).toEqual([]);
    await expect(api.editRepairDiagnostic(opened.handle, damaged.code, damaged.offset)).rejects.toThrow(/has no repair any more/);
    // A valid image has nothing to offer.
    expect((await api.openImage(MINIMAL)).repairs).toEqual([]);
  });

  it('a byte search of the stream reports progress and can be cancelled', async () => {
    const api = windowApi('window-9');
    const { handle, streamSize } = await api.openImage(MINIMAL);
    const hit = await api.search(handle, { kind: 'text', pattern: 'QEVM', from: 0 });
    expect(hit).toEqual({ offset: 0, length: 4 });
    // Not there: the search reaches the end and says so with null; cancelled, it stops with null too.
    expect(await api.search(handle, { kind: 'hex', pattern: 'de ad be ef 01 02 03 04 05', from: 0 })).toBeNull();
    const running = api.search(handle, { kind: 'hex', pattern: 'de ad be ef 01 02 03 04 05', from: 0 });
    await api.searchCancel(handle);
    expect(await running).toBeNull();
    expect(streamSize).toBeGreaterThan(0);
  });
});
