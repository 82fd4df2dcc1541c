import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Library } from '../../electron/index/library';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import { haveChromium, openThroughPicker, screenshot } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

/**
 * "Open for evidence" in real Chromium: the image opens read-only (no edit buttons, no edit
 * box), its sha256 is in the workbench's library with the time, and opening it again after
 * the file changed shows the change as an error diagnostic.
 */
describe.skipIf(!haveChromium)('opening for evidence in the app', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-e2e-evidence-');
  const wb = useWorkbench();

  it('read-only, hashed into the library, a changed file flagged on the next open', async () => {
    const copy = path.join(tmp(), 'seized.mig');
    fs.copyFileSync(MINIMAL, copy);
    const page = await wb().newPage();
    await page.getByRole('checkbox', { name: /Open for evidence/ }).check();
    await openThroughPicker(page, copy);
    const badge = page.getByTestId('evidence-badge');
    await expect.poll(() => badge.textContent()).toMatch(new RegExp(`Evidence · read-only · sha256 ${sha256File(copy)} taken .* · first hash of this file`));
    expect(await page.getByRole('toolbar', { name: 'Edits', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Save as…' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Insert from file…' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'From donor…' }).isDisabled()).toBe(true);
    // A field selected: the inspector decodes it and offers no edit box.
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) }).dblclick();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).click();
    await expect.poll(() => page.locator('.inspector').textContent()).toMatch(/cpu:0\.env\.eip/);
    expect(await page.getByRole('textbox', { name: 'Set value' }).count()).toBe(0);
    const library = Library.open(wb().libraryFile);
    try {
      expect(library.evidenceHashes(copy).map((h) => h.sha256)).toEqual([sha256File(copy)]);
    } finally {
      library.close();
    }
    await screenshot(page, '33-opened-for-evidence');

    // The file changes on disk; opened again for evidence, the change is an error with both hashes.
    const before = sha256File(copy);
    const bytes = fs.readFileSync(copy);
    bytes[0x31816] ^= 0x01;
    fs.writeFileSync(copy, bytes);
    await openThroughPicker(page, copy);
    await expect.poll(() => page.getByTestId('evidence-badge').filter({ visible: true }).textContent()).toMatch(/CHANGED since it was first opened for evidence/);
    await page.getByRole('tab', { name: /^Diagnostics/ }).filter({ visible: true }).click();
    const diagnostics = page.locator('.diag').filter({ visible: true });
    await expect.poll(() => diagnostics.first().textContent()).toMatch(/The file changed since it was first opened for evidence/);
    expect(await diagnostics.first().textContent()).toContain(before);
    await screenshot(page, '34-evidence-hash-changed');
  }, 120_000);

  it('no edit is sent from a shortcut or the compare view: the UI says the image is read-only', async () => {
    const seized = path.join(tmp(), 'seized-keys.mig');
    const other = path.join(tmp(), 'other.mig');
    fs.copyFileSync(MINIMAL, seized);
    fs.copyFileSync(MINIMAL, other);
    const page = await wb().newPage();
    const calls: string[] = [];
    page.on('request', (r) => {
      const p = new URL(r.url()).pathname;
      if (p.startsWith('/api/')) calls.push(p.slice('/api/'.length));
    });
    await page.getByRole('checkbox', { name: /Open for evidence/ }).check();
    await openThroughPicker(page, seized);
    await page.getByTestId('evidence-badge').waitFor();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) }).click();
    const status = page.getByTestId('status-message');
    for (const [keys, name] of [
      ['Control+z', 'Undo'],
      ['Control+Shift+Z', 'Redo'],
      ['Control+y', 'Redo'],
      ['Control+Shift+X', 'Transform'],
    ] as const) {
      await page.keyboard.press(keys);
      await expect.poll(() => status.textContent()).toBe(`${name} is off: the image is open for evidence (read-only): no edit, repair, transform or save is made`);
      // A reason, not a refused edit's error.
      expect(await status.getAttribute('class')).not.toMatch(/\berror\b/);
    }
    expect(await page.getByRole('dialog').count()).toBe(0);
    await screenshot(page, '37-evidence-shortcuts-off');

    // Compared with an image opened for editing: nothing can be copied into the evidence side.
    await page.getByRole('checkbox', { name: /Open for evidence/ }).uncheck();
    await page.getByRole('button', { name: 'Compare with…' }).filter({ visible: true }).click();
    const picker = page.getByTestId('file-picker');
    await picker.getByRole('textbox', { name: 'Folder' }).fill(path.dirname(other));
    await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
    await picker.locator('.entry', { hasText: 'other.mig' }).first().dblclick();
    await expect.poll(() => page.getByTestId('compare-status').textContent(), { timeout: 60_000 }).toMatch(/^Equal in content/);
    await expect.poll(() => page.getByTestId('compare-read-only').textContent()).toBe('A open for evidence (read-only): nothing is copied into it');
    expect(await page.getByTestId('compare-side-a').locator('.compare-side-title .hint').textContent()).toBe('evidence · read-only');
    expect(await page.getByTestId('compare-side-b').locator('.compare-side-title .hint').textContent()).toBe('no edits');
    for (const into of ['A', 'B'] as const) {
      const from = into === 'A' ? 'B' : 'A';
      for (const what of ['field', 'section']) {
        const button = page.getByRole('button', { name: `Copy ${what} ${from} → ${into}` });
        expect(await button.isDisabled(), `Copy ${what} ${from} → ${into}`).toBe(into === 'A');
        if (into === 'A') expect(await button.getAttribute('title')).toMatch(/^A: the image is open for evidence \(read-only\)/);
      }
    }
    await screenshot(page, '38-evidence-compare-read-only');

    // Nothing that changes an image reached the backend.
    expect(calls.filter((c) => /^(edit|transform|borrowVmdesc|restoreAutosave)/.test(c))).toEqual([]);
    expect(calls).toContain('diffImages');
  }, 120_000);
});
