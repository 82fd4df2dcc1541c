import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';
import { haveChromium, openThroughPicker, screenshot } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';

const LIBVIRT_RAW = corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav');
const QCOW2 = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2');
const QCOW2_VMSTATE = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.vmstate.mig');
const XEN_A = corpusPath('xen', 'hvm-v3.libxl');
const XEN_B = corpusPath('xen', 'hvm-v3.xl');

const compareStatus = (page: Page) => page.getByTestId('compare-status').textContent();
const framingRows = (page: Page) => page.getByTestId('framing-row').allTextContents();

/** Opens `a`, then "Compare with…" `b` through the in-app picker. */
async function compare(page: Page, a: string, b: string): Promise<void> {
  await openThroughPicker(page, a);
  await page.getByRole('button', { name: 'Compare with…' }).filter({ visible: true }).click();
  const picker = page.getByTestId('file-picker');
  await picker.getByRole('textbox', { name: 'Folder' }).fill(path.dirname(b));
  await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
  await picker.locator('.entry', { hasText: path.basename(b) }).first().dblclick();
  await page.getByTestId('compare-view').filter({ visible: true }).waitFor();
}

/**
 * The compare view across containers, in real Chromium through the bridge: a libvirt save
 * against its bare stream and a qcow2 snapshot against its extracted vmstate are equal in
 * content, with the container listed as framing; Xen saves are refused with the reason.
 */
describe.skipIf(!haveChromium)('the compare view across containers', () => {
  expectOriginalsUnchanged([LIBVIRT_RAW, QCOW2, QCOW2_VMSTATE, XEN_A, XEN_B]);
  const tmp = tempFolder('migwb-e2e-compare-containers-');
  const wb = useWorkbench();
  let bare = '';

  beforeAll(async () => {
    bare = path.join(tmp(), 'libvirt-stream.mig');
    const r = await migwb('stream', LIBVIRT_RAW, '-o', bare);
    expect(r.code, r.err).toBe(0);
  }, 60_000);

  it('a libvirt save against its bare stream: equal in content, the container as framing', async () => {
    const page = await wb().newPage();
    await compare(page, LIBVIRT_RAW, bare);
    await expect.poll(() => compareStatus(page), { timeout: 60_000 }).toMatch(/^Equal in content \(\d+ framing differences\)/);
    expect(await framingRows(page)).toContainEqual(expect.stringMatching(/^framing\s*container\s*not content\s*\S*libvirt\S*\s*qemu-migration-stream/));
    await expect.poll(() => page.getByTestId('compare-view').filter({ visible: true }).textContent()).toContain('The two images are equal in content; only their framing differs');
    await screenshot(page, '35-compare-libvirt-against-stream');
  }, 120_000);

  it('a qcow2 snapshot against its extracted vmstate: equal in content, the container as framing', async () => {
    const page = await wb().newPage();
    await compare(page, QCOW2, QCOW2_VMSTATE);
    await expect.poll(() => compareStatus(page), { timeout: 60_000 }).toMatch(/^Equal in content \(\d+ framing differences\)/);
    expect(await framingRows(page)).toContainEqual(expect.stringMatching(/^framing\s*container\s*not content\s*qcow2\s*qemu-migration-stream/));
    await screenshot(page, '36-compare-qcow2-against-vmstate');
  }, 120_000);

  it('two Xen saves: the compare view says why it does not compare them', async () => {
    const page = await wb().newPage();
    await compare(page, XEN_A, XEN_B);
    await expect.poll(() => compareStatus(page), { timeout: 60_000 }).toMatch(/hvm-v3\.libxl is a Xen save \(xen-libxl\): comparing works on QEMU migration streams/);
    expect(await page.getByTestId('compare-status').getAttribute('class')).toMatch(/\berror\b/);
  }, 120_000);
});
