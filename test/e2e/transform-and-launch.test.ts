import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { WorkbenchBridge } from '../../shared/api/contract';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import { haveChromium, openThroughPicker, saveThroughPicker, screenshot } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';
import { haveQemu, withLoadedImage } from '../helpers/qemu';

/**
 * The app's Transform dialog (issue 13) and "Load in QEMU…" panel (issue 14), in real
 * Chromium on the real renderer bundle, served by the bridge over the real handlers. What
 * they show and write is checked against the CLI over the same engine, and the transformed
 * file against real QEMU of the target version.
 */
const PC10 = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig');
const QXL_SAVE = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');
const bothQemus = haveQemu('7.2') && haveQemu('10.0');

expectOriginalsUnchanged([PC10, QXL_SAVE]);

/** The handle of the image whose tab is on screen. */
async function activeHandle(page: Page): Promise<string> {
  return (await page.locator('[role="tab"][aria-selected="true"][data-handle]').getAttribute('data-handle'))!;
}

/** SHA-256 of the open image's QEMU stream at its current revision, read through the app's own API in the page. */
function streamSha256(page: Page, handle: string): Promise<string> {
  return page.evaluate(async (h) => {
    const api = (window as unknown as { workbench: WorkbenchBridge }).workbench;
    const chunks: Uint8Array[] = [];
    for (let offset = 0; ; ) {
      const bin = atob(await api.readBytes(h, offset, 1 << 20, 'stream'));
      if (!bin.length) break;
      chunks.push(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
      offset += bin.length;
    }
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', all))].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, handle);
}

describe.skipIf(!haveChromium)('Transform and Load in QEMU in real Chromium (bridge + real renderer bundle)', () => {
  const wb = useWorkbench();
  const tmp = tempFolder('migwb-e2e-transform-');

  it('Transform: pick qemu-7.2, review the plan and the vmdesc diff, Apply, Undo, Apply again, Save as: the file migwb transform writes', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, PC10);
    const handle = await activeHandle(page);
    const original = sha256File(PC10);

    // By keyboard: Ctrl+Shift+X opens the dialog, named by its title.
    await page.getByLabel('Hex view').focus();
    await page.keyboard.press('Control+Shift+X');
    const dialog = page.getByRole('dialog', { name: 'Transform for another QEMU' });
    await dialog.waitFor();
    await dialog.getByLabel('Target QEMU').selectOption('qemu-7.2');
    await expect.poll(() => dialog.getByLabel('Machine type').locator('option:checked').textContent()).toBe('Compat: pc-i440fx-7.2');

    // The plan: QEMU's verdict as it is, then each change with its rule and the QEMU source it cites.
    await expect.poll(() => dialog.getByTestId('transform-before').textContent()).toBe("As it is, QEMU 7.2 -M pc-i440fx-7.2 refuses it: Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
    const changes = dialog.getByTestId('plan-change');
    await expect.poll(() => changes.evaluateAll((items) => items.map((li) => li.getAttribute('data-rule')))).toEqual(['machine-type', 'switchover-start', 'globalstate-runstate', 'field-renames', 'vmdesc-configuration', 'vmdesc-last-index']);
    const machine = changes.first();
    expect(await machine.textContent()).toContain('CONFIGURATION: machine type pc-i440fx-10.0 → pc-i440fx-7.2');
    expect(await machine.locator('.cite').first().textContent()).toMatch(/^QEMU: migration\/savevm\.c configuration_post_load/);
    expect(await dialog.getByTestId('plan-blocker').count()).toBe(0);

    // The vmdesc before and after in Monaco's diff editor: the configuration the 7.2 vmdesc lacks is a deleted stretch.
    const diff = dialog.getByTestId('diff-viewer');
    await expect.poll(async () => Number(await diff.getAttribute('data-changes'))).toBeGreaterThan(0);
    await expect.poll(async () => ((await diff.locator('.editor.original .view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ')).toContain('"configuration"');
    await expect.poll(() => diff.locator('.editor.original .line-delete, .editor.original .char-delete').count()).toBeGreaterThan(0);
    await expect.poll(async () => ((await diff.locator('.editor.modified .view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ')).not.toContain('"configuration"');
    await screenshot(page, '20-transform-plan');

    // Apply: one edit, with progress shown while it runs (the phases are recorded as they appear).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="transform-progress"]')?.textContent;
        if (text && seen[seen.length - 1] !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => dialog.getByTestId('transform-applied').textContent()).toMatch(/^Applied as one edit: transformed for qemu-7\.2 -M pc-i440fx-7\.2: 6 changes/);
    // The dialog's own first phase, then the backend's transform-progress events, which arrive while it works.
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    expect(seen[0]).toBe('Planning…');
    expect(seen).toContain('Checking the edited image…');
    await expect.poll(() => page.getByTestId('image-summary').textContent()).toContain('pc-i440fx-7.2');
    const transformed = await streamSha256(page, handle);
    expect(transformed).not.toBe(original);
    await screenshot(page, '21-transform-applied');

    // Escape closes the dialog; Undo (the toolbar's) takes the whole transform back: the bytes are the original's again.
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    await page.getByRole('tab', { name: /^Edits/ }).click();
    await expect.poll(() => page.getByTestId('edit-entry').count()).toBe(1);
    await page.getByRole('toolbar', { name: 'Edits' }).getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => page.getByTestId('image-summary').textContent()).toContain('pc-i440fx-10.0');
    await expect.poll(() => streamSha256(page, handle)).toBe(original);

    // Apply again, from the toolbar's button this time, then Save as through the in-app picker.
    await page.getByRole('button', { name: 'Transform…' }).click();
    await dialog.getByLabel('Target QEMU').selectOption('qemu-7.2');
    await expect.poll(() => changes.count()).toBe(6);
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => dialog.getByTestId('transform-applied').count()).toBe(1);
    await expect.poll(() => streamSha256(page, handle)).toBe(transformed);
    const out = tmp();
    await dialog.getByRole('button', { name: 'Save as…' }).click();
    await saveThroughPicker(page, out, 'transformed.mig');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 60_000 }).toMatch(/Saved .*transformed\.mig .*checked: no errors/);

    // The same bytes as the CLI's transform over the same engine, and the original untouched.
    const cli = await migwb('transform', PC10, '--to', 'qemu-7.2', '-o', path.join(out, 'cli.mig'));
    expect(cli.code, cli.err).toBe(0);
    expect(sha256File(path.join(out, 'transformed.mig'))).toBe(sha256File(path.join(out, 'cli.mig')));
    expect(sha256File(PC10)).toBe(original);
  }, 240_000);

  it.skipIf(!haveQemu('7.2'))('the saved transform loads in real QEMU 7.2 with the command line that made the source (needs QEMU 7.2)', async () => {
    const saved = path.join(tmp(), 'transformed.mig');
    expect(fs.existsSync(saved), 'the test above saved the transformed image').toBe(true);
    const meta = readJson(sidecar(PC10, 'meta'));
    await withLoadedImage({ version: '7.2', image: saved, args: meta.qemu_argv.slice(1), files: [corpusPath('qemu10', 'payload-1M.bin')] }, async (qmp) => {
      expect((await qmp.execute<{ status: string }>('query-status')).status).toBe('prelaunch');
    });
  }, 120_000);

  it.skipIf(!bothQemus)('Load in QEMU: the arguments are migwb qemu-args, the verdict is migwb preflight, per target; Copy puts the command on the clipboard (needs QEMU 7.2 and 10.0)', async () => {
    const page = await wb().newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: wb().bridge.origin });
    await openThroughPicker(page, QXL_SAVE);
    await page.getByLabel('Hex view').focus();
    await page.keyboard.press('Control+Shift+L');
    const panel = page.getByRole('dialog', { name: 'Load in QEMU' });
    await panel.waitFor();

    const cliArgs = async (to: string) => {
      const r = await migwb('qemu-args', QXL_SAVE, '--to', to);
      expect(r.code, r.err).toBe(0);
      // "# header", the command, a blank line, then the follow-ups, stand-ins and notes, one a line.
      const rest = r.out.replace(/^#.*\n/, '');
      const cut = rest.indexOf('\n\n');
      return { command: rest.slice(0, cut), followUp: rest.slice(cut + 2, -1) };
    };
    const cliVerdict = async (to: string) => {
      const r = await migwb('preflight', QXL_SAVE, '--to', to, '--json');
      expect([0, 1], r.err).toContain(r.code);
      const json = JSON.parse(r.out) as { loads: boolean; first_error?: string; machine: string; qemu: { version: string } };
      expect(r.code).toBe(json.loads ? 0 : 1);
      return json;
    };

    // The image's own QEMU (7.2, from its machine type) is the first target.
    const target = panel.getByLabel('Target QEMU');
    await expect.poll(() => target.inputValue()).toBe('qemu-7.2');
    for (const to of ['qemu-7.2', 'qemu-10.0']) {
      await target.selectOption(to);
      const args = await cliArgs(to);
      await expect.poll(() => panel.getByTestId('qemu-command').textContent()).toBe(args.command);
      await expect.poll(() => panel.getByTestId('qemu-follow-up').textContent()).toBe(args.followUp);
      const verdict = await cliVerdict(to);
      const shown = panel.getByTestId('preflight-verdict');
      await expect.poll(() => shown.getAttribute('data-loads')).toBe(String(verdict.loads));
      expect(await shown.locator('strong').textContent()).toBe(`QEMU ${verdict.qemu.version} -machine ${verdict.machine} ${verdict.loads ? 'loads it.' : 'refuses it.'}`);
      if (verdict.loads) expect(await panel.getByTestId('preflight-first-error').count()).toBe(0);
      else expect(await panel.getByTestId('preflight-first-error').textContent()).toBe(verdict.first_error);
    }
    // 10.0 has no qxl-vga: refused at the start, and QEMU's first line says so.
    await expect.poll(() => panel.getByTestId('preflight-first-error').textContent()).toMatch(/'qxl-vga' is not a valid device model name$/);
    await screenshot(page, '22-load-in-qemu');

    // Copy: the command for a shell, as the panel shows it, is what the clipboard holds.
    await panel.getByRole('button', { name: 'Copy command' }).click();
    await expect.poll(() => panel.getByTestId('copy-status').textContent()).toBe('Copied the command line to the clipboard.');
    const shell = (await cliArgs('qemu-10.0')).command;
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shell);

    // The libvirt tab: the save's own domain XML, checked against the stream; Copy XML copies it.
    await panel.getByRole('tab', { name: 'libvirt XML' }).click();
    const xml = await migwb('qemu-args', QXL_SAVE, '--to', 'qemu-10.0', '--libvirt');
    expect(xml.code, xml.err).toBe(0);
    const name = /<name>([^<]+)<\/name>/.exec(xml.out)![1];
    await expect.poll(async () => (await panel.getByTestId('code-viewer').locator('.view-lines').textContent()) ?? '').toContain(`<name>${name}</name>`);
    await expect.poll(() => panel.textContent()).toMatch(/The save’s own domain XML, checked against the stream: \d+ facts agree, 0 disagree/);
    await panel.getByRole('button', { name: 'Copy XML' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(xml.out);
    await screenshot(page, '23-load-in-qemu-libvirt');
  }, 180_000);
});
