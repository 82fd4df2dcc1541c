import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusPath } from '../helpers/corpus';
import { firstSelectedOffset, haveChromium, openThroughPicker, screenshot, selectedHexBytes, selectedRow, startWorkbench, treeRow, type Workbench } from '../helpers/browser';
import { tempDir } from '../helpers/xen';
import { libxlWithEmulator, qemuDeviceState, xenPage, xlFile } from '../helpers/xen-samples';

/**
 * A Xen xl save file in the real app (the renderer bundle in Chromium, over the bridge and
 * the real handlers): the generic structure tree shows its records, a PAGE_DATA page and a
 * QEMU device field inside EMULATOR_CONTEXT (a real device state from a QEMU corpus image).
 */
describe.skipIf(!haveChromium)('a Xen xl save file in real Chromium', () => {
  let wb: Workbench;
  const tmp = tempDir('migwb-e2e-xen-');
  const xl = tmp.file('guest.xl', xlFile(libxlWithEmulator(qemuDeviceState(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), true))));
  beforeAll(async () => {
    wb = await startWorkbench();
  });
  afterAll(async () => {
    await wb?.close();
    tmp.cleanup();
  });

  it('walk down to a PAGE_DATA page and to a QEMU field inside EMULATOR_CONTEXT', async () => {
    const page = await wb.newPage();
    await openThroughPicker(page, xl);
    await expect(treeRow(page, 'xl').locator('.label').textContent()).resolves.toBe('xl save header');
    await expect(page.getByTestId('status').textContent()).resolves.not.toMatch(/\d+ errors?/);
    // PAGE_DATA → pages → the page of pfn 0x10: its 4096 bytes are selected, starting with its tag.
    const pageData = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^libxc PAGE_DATA$/ }) });
    const id = await pageData.first().getAttribute('data-node-id');
    await pageData.first().locator('.twisty').click();
    await treeRow(page, `${id}/pg`).locator('.twisty').click();
    await treeRow(page, `${id}/pg/2`).click();
    await expect.poll(async () => (await selectedRow(page)).label).toBe('page pfn 0x10 NOTAB');
    await expect(page.getByTestId('inspector-length').textContent()).resolves.toBe('4096 bytes');
    const pageAt = await firstSelectedOffset(page);
    expect((await selectedHexBytes(page)).slice(0, 16).join('')).toBe(Buffer.from(xenPage(0x10).subarray(0, 16)).toString('hex'));
    await screenshot(page, 'xen-01-page-data-page');
    // EMULATOR_CONTEXT → QEMU device state → cpu → env.eip, decoded by the QEMU engine at its file offset.
    const emulator = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^libxl EMULATOR_CONTEXT$/ }) });
    const eid = await emulator.getAttribute('data-node-id');
    await emulator.locator('.twisty').click();
    await treeRow(page, `${eid}/q`).locator('.twisty').click();
    const cpu = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) });
    await cpu.locator('.twisty').click();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).click();
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', 'ff', 'f0']);
    expect(await firstSelectedOffset(page)).toBeGreaterThan(pageAt);
    await expect(page.getByTestId('inspector-value').textContent()).resolves.toBe('0x000000000000fff0 (65520)');
    await expect(page.getByTestId('field-address').textContent()).resolves.toBe('EMULATOR_CONTEXT.cpu:0.env.eip');
    await page.getByRole('tab', { name: /JSON: EMULATOR_CONTEXT › cpu/ }).waitFor();
    await screenshot(page, 'xen-02-qemu-field-in-emulator-context');
  });

  it('a Xen record field: its JSON, its address, and an edit through the inspector', async () => {
    const page = await wb.newPage();
    await openThroughPicker(page, xl);
    const tsc = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^libxc X86_TSC_INFO$/ }) });
    await tsc.locator('.twisty').click();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^khz$/ }) }).click();
    await expect(page.getByTestId('field-address').textContent()).resolves.toBe('X86_TSC_INFO.khz');
    // Little-endian, as the stream is: 2,000,000 kHz.
    await expect.poll(() => selectedHexBytes(page)).toEqual(['80', '84', '1e', '00']);
    await page.getByRole('tab', { name: /JSON: libxc X86_TSC_INFO/ }).click();
    const editorText = async () => ((await page.getByTestId('code-viewer').locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ');
    await expect.poll(editorText).toContain('"khz": "0x001e8480"');
    const value = page.getByRole('textbox', { name: 'Set value' });
    await value.fill('3000000');
    await value.press('Enter');
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/X86_TSC_INFO\.khz.*no errors \(not saved yet\)/);
    await expect.poll(() => selectedHexBytes(page)).toEqual(['c0', 'c6', '2d', '00']);
    await screenshot(page, 'xen-03-record-field-edited');
  });
});
