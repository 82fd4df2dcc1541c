import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { sha256File, tempFolder } from '../helpers/evidence';
import { haveQemu, migrateToFile, QEMU, withGuest } from '../helpers/qemu';
import { clickByte, cursorByte, firstSelectedOffset, haveChromium, openThroughPicker, saveThroughPicker, screenshot, selectedHexBytes, selectedRow, treeRow } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

function migFilesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mig'));
}

describe.skipIf(!haveChromium)('the workbench in real Chromium (bridge + real renderer bundle)', () => {
  const wb = useWorkbench();

  it('runs under a CSP without unsafe-inline: Monaco\'s run-time styles carry the page\'s nonce, nothing is blocked', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    const cpu = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) });
    await cpu.click();
    await page.getByRole('tab', { name: /JSON: cpu/ }).click();
    await page.getByTestId('code-viewer').locator('.view-lines').waitFor();
    await expect.poll(() => page.getByTestId('code-viewer').locator('.view-lines span[class^="mtk"]').count()).toBeGreaterThan(0);
    // Token colours come from a <style> element Monaco creates: applied, so it was allowed.
    const colours = await page.getByTestId('code-viewer').locator('.view-lines span[class^="mtk"]').evaluateAll((spans) => new Set(spans.map((s) => getComputedStyle(s).color)).size);
    expect(colours).toBeGreaterThan(1);
    const styles = await page.evaluate(() => Array.from(document.querySelectorAll('style'), (s) => s.nonce !== ''));
    expect(styles.length).toBeGreaterThan(0);
    expect(styles.every(Boolean)).toBe(true);
    // Nothing was blocked while the app ran; then an injected <style> without the nonce is refused.
    expect(wb().cspViolations.splice(0)).toEqual([]);
    const injected = await page.evaluate(() => {
      const style = document.createElement('style');
      style.removeAttribute('nonce');
      style.nonce = '';
      style.textContent = 'body { background: rgb(1, 2, 3) !important; }';
      document.head.appendChild(style);
      const applied = getComputedStyle(document.body).backgroundColor === 'rgb(1, 2, 3)';
      style.remove();
      return applied;
    });
    expect(injected).toBe(false);
    // The event reports (one per policy: the header's and the meta tag's) arrive after the console's.
    await expect.poll(() => wb().cspViolations.filter((v) => v.startsWith('CSP violation')).length).toBe(2);
    const blocked = wb().cspViolations.splice(0);
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.every((v) => /style-src-elem/.test(v)), blocked.join("\n")).toBe(true);
  });

  it('shows what to do on an empty start', async () => {
    const page = await wb().newPage();
    await expect.poll(() => page.getByTestId('empty-state').textContent()).toMatch(/No image open/);
    await screenshot(page, '00-empty-state');
  });

  it('add a library folder: every corpus image is indexed with progress, and opens from the library', async () => {
    const page = await wb().newPage();
    await page.getByRole('tab', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'Add folder…' }).first().click();
    const picker = page.getByTestId('file-picker');
    await picker.getByRole('textbox', { name: 'Folder' }).fill(corpusPath('qemu'));
    await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
    await picker.getByRole('button', { name: 'Choose folder' }).click();
    // Every QEMU stream of the folder and its subfolders, recognised by content.
    const streams = migFilesUnder(corpusPath('qemu'));
    await expect.poll(() => page.locator('.library-count').textContent(), { timeout: 120_000 }).toMatch(new RegExp(`^${streams.length + 1} images$`)); // + the qcow2
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/Indexed: \d+ new or changed/);
    await expect.poll(async () => Number(await page.getByTestId('library').getAttribute('data-progress-events'))).toBeGreaterThan(0);
    await screenshot(page, '06-library-indexed');
    // Filter to the damaged samples: each indexed, with its error counted.
    await page.getByRole('searchbox', { name: 'Filter library' }).fill('flip-hdr');
    const rows = page.locator('.library-row');
    await expect.poll(() => rows.count()).toBe(3);
    await expect.poll(() => rows.allTextContents()).toEqual(Array(3).fill(expect.stringMatching(/indexed1 error\d{4}/)));
    await rows.first().dblclick();
    await page.getByRole('tab', { name: /flip-hdr\.mig/ }).waitFor();
  });

  it('open an image, expand the tree, click a field: its bytes are highlighted and the inspector decodes it', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    const cpu = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) });
    await cpu.locator('.twisty').click();
    const eip = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) });
    await eip.click();
    // The 8 highlighted bytes are the field's bytes: RIP = 0xfff0 at reset.
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', 'ff', 'f0']);
    const reference = readJson(sidecar(MINIMAL, 'sections')).elements.find((e) => e.idstr === 'cpu')!;
    const offset = await firstSelectedOffset(page);
    expect(offset).toBeGreaterThan(reference.payload_offset!);
    expect(fs.readFileSync(MINIMAL).subarray(offset, offset + 8).toString('hex')).toBe('000000000000fff0');
    await expect.poll(() => page.getByTestId('inspector-value').textContent()).toBe('0x000000000000fff0 (65520)');
    await expect.poll(() => page.getByTestId('inspector-length').textContent()).toBe('8 bytes');
    await expect.poll(() => page.getByTestId('data-inspector').textContent()).toContain('uint64 BE65520 (0xfff0)');
    // The JSON tab shows the section's decoded fields in Monaco (the analyze-migration.py shape).
    await page.getByRole('tab', { name: /JSON: cpu/ }).click();
    // Monaco draws spaces as U+00A0.
    const editorText = async () => ((await page.getByTestId('code-viewer').locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ');
    await expect.poll(editorText).toContain('"env.regs": [');
    await expect.poll(editorText).toContain('"0x0000000000060fb1"'); // RDX at reset: the CPUID signature
    await screenshot(page, '01-field-selected');
    await page.getByRole('button', { name: 'Toggle theme' }).click();
    await screenshot(page, '02-field-selected-dark');
  });

  it('click a hex byte deep inside RAM: the RAM page node is selected', async () => {
    const image = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    // Go to the planted payload's page data, then click a byte three rows further down.
    const part = readJson(sidecar(image, 'sections')).elements.find((e) => e.type === 'PART')!;
    const marker = fs.readFileSync(image).indexOf('MIGIMG-FORENSIC-MARKER', part.offset);
    await page.getByRole('textbox', { name: 'Go to offset' }).fill(`0x${marker.toString(16)}`);
    await page.getByRole('textbox', { name: 'Go to offset' }).press('Enter');
    const target = marker + 48;
    await clickByte(page, target);
    await expect.poll(async () => (await selectedRow(page)).label).toBe('page 0x100000');
    await expect.poll(() => page.getByTestId('cursor-offset').textContent()).toBe(`0x${target.toString(16).padStart(8, '0')}`);
    await expect.poll(() => page.getByTestId('inspector').textContent()).toContain('kindpage');
    await expect.poll(() => page.getByTestId('inspector-length').textContent()).toBe('4104 bytes');
    await screenshot(page, '03-ram-page-selected');
  });

  it('open a corrupt image and jump to its diagnostic', async () => {
    const image = corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig');
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    const diag = page.locator('.diag[data-code="damaged-section-type"]');
    await expect.poll(() => diag.textContent()).toMatch(/Unknown section type 0x14/);
    await diag.click();
    await expect.poll(() => page.getByTestId('cursor-offset').textContent()).toBe('0x000bb64c');
    await expect.poll(async () => (await selectedRow(page)).label).toBe('section type');
    // The damaged section is flagged in the tree, and its first byte is the highlighted one.
    await expect.poll(() => page.locator('.tree-row.damaged .label', { hasText: /^timer$/ }).count()).toBe(1);
    await expect.poll(() => cursorByte(page)).toBe('14');
    await screenshot(page, '04-corrupt-diagnostic');
  });

  it('a file that is not an image gives a one-line error in the status bar', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, corpusPath('qemu', 'payload-1M.bin'), { expectTab: false });
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/not a recognised migration image/);
  });

  it('keyboard: the tree and the hex view are navigable without a mouse', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    await treeRow(page, 'hdr').click();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => (await selectedRow(page)).id).toBe('e1');
    await page.keyboard.press('ArrowRight'); // expand START ram
    await treeRow(page, 'e1/h/0').waitFor();
    await page.keyboard.press('ArrowRight'); // into its first child
    await expect.poll(async () => (await selectedRow(page)).id).toBe('e1/h/0');
    await page.keyboard.press('ArrowLeft'); // back to the parent
    await expect.poll(async () => (await selectedRow(page)).id).toBe('e1');
    await page.getByLabel('Hex view').focus();
    await page.keyboard.press('Control+End');
    await expect.poll(() => page.getByTestId('cursor-offset').textContent()).toBe(`0x${(433073 - 1).toString(16).padStart(8, '0')}`);
    // The tree follows the cursor once the keys rest: the last byte is in the vmdesc JSON.
    await expect.poll(async () => (await selectedRow(page)).label).toBe('JSON');
  });

  it('open a libvirt save: the wrapper level (header, domain XML, stream) sits above the QEMU sections', async () => {
    const image = corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav');
    const file = fs.readFileSync(image);
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    // The wrapper is its own level above the QEMU stream, both open at first.
    const wrapper = treeRow(page, 'w0');
    await expect.poll(() => wrapper.locator('.label').textContent()).toBe('libvirt save image');
    await expect.poll(() => treeRow(page, 'w0/s').locator('.label').textContent()).toBe('QEMU stream');
    const rowIds = () => page.locator('.tree-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node-id')));
    await expect.poll(async () => (await rowIds()).slice(0, 7)).toEqual(['w0', 'w0/h', 'w0/x', 'w0/c', 'w0/p', 'w0/s', 'hdr']);
    // The domain XML: the hex view switches to file bytes and highlights it; the code tab shows it.
    await treeRow(page, 'w0/x').click();
    await expect.poll(() => page.getByTestId('cursor-offset').getAttribute('data-space')).toBe('file');
    const xmlAt = file.indexOf('<domain');
    await expect.poll(() => firstSelectedOffset(page)).toBe(xmlAt);
    await expect.poll(async () => (await selectedHexBytes(page)).slice(0, 7).join('')).toBe(Buffer.from('<domain').toString('hex'));
    await expect.poll(() => page.getByTestId('inspector-offset').textContent()).toBe(`file 0x${xmlAt.toString(16).padStart(8, '0')} (${xmlAt})`);
    await page.getByRole('tab', { name: /XML: domain XML/ }).click();
    const name = /<name>([^<]+)<\/name>/.exec(file.subarray(xmlAt, xmlAt + 4096).toString('latin1'))![1];
    await expect.poll(async () => (await page.getByTestId('code-viewer').locator('.view-lines').textContent()) ?? '').toContain(`<name>${name}</name>`);
    // A header field is decoded in the header's byte order (little-endian on x86 hosts).
    await treeRow(page, 'w0/h').locator('.twisty').click();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^version$/ }) }).click();
    await expect.poll(() => page.getByTestId('inspector-value').textContent()).toBe(`0x${file.readUInt32LE(16).toString(16).padStart(8, '0')} (${file.readUInt32LE(16)})`);
    await screenshot(page, '07-libvirt-wrapper');
    // The stream's sections follow; selecting one switches back to stream bytes, whose file offset is shown.
    await treeRow(page, 'hdr').click();
    await expect.poll(() => page.getByTestId('cursor-offset').getAttribute('data-space')).toBe('stream');
    await expect.poll(() => selectedHexBytes(page)).toEqual(['51', '45', '56', '4d', '00', '00', '00', '03']);
    const streamBase = file.indexOf('QEVM');
    await expect.poll(() => page.getByTestId('inspector-offset').textContent()).toBe(`0x00000000 (0) · file 0x${streamBase.toString(16).padStart(8, '0')}`);
    // Clicking a file byte inside the stream region selects the stored-stream node.
    await page.getByRole('button', { name: 'File', exact: true }).click();
    await expect.poll(async () => (await selectedRow(page)).id).toBe('w0/s');
    // A stream offset leads through the wrapper: clicking the "Stream" view goes back to the file header.
    await page.getByRole('button', { name: 'Stream', exact: true }).click();
    await expect.poll(async () => (await selectedRow(page)).id).toBe('hdr/0');
  });

  it('open a gzip-compressed libvirt save: it is decompressed in the worker and its sections decoded', async () => {
    const image = corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav');
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    await expect.poll(() => treeRow(page, 'w0').locator('.detail').textContent()).toMatch(/gzip stream/);
    await expect.poll(() => page.locator('.tree-row .label', { hasText: /^cpu$/ }).count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('status').textContent()).not.toMatch(/errors/);
    // Stream offsets are in the decompressed stream, which starts with the QEVM header.
    await treeRow(page, 'hdr').click();
    await expect.poll(() => selectedHexBytes(page)).toEqual(['51', '45', '56', '4d', '00', '00', '00', '03']);
    await expect.poll(() => page.getByTestId('inspector-offset').textContent()).toBe('decompressed stream 0x00000000 (0)');
    await screenshot(page, '08-libvirt-gzip');
  });

  it('a stream without a vmdesc: its fields decode with a sibling image’s vmdesc, at this image’s offsets', async () => {
    const image = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig');
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    const cpuRow = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) });
    await cpuRow.locator('.twisty').click();
    await expect.poll(() => page.locator('.tree-row .label', { hasText: /^data$/ }).count()).toBeGreaterThan(0);
    await page.locator('.diag[data-code="no-vmdesc"]').getByRole('button', { name: /Decode with a sibling image/ }).click();
    const picker = page.getByTestId('file-picker');
    await picker.getByRole('textbox', { name: 'Folder' }).fill(path.dirname(MINIMAL));
    await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
    await picker.locator('.entry', { hasText: path.basename(MINIMAL) }).first().dblclick();
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/Fields decoded with the vmdesc of .*x86_64-pc-minimal-paused-16M\.mig: 33 of 33 device sections(?! \()/);
    const cpu = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) });
    if ((await cpu.getAttribute('aria-expanded')) !== 'true') await cpu.locator('.twisty').click();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).click();
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', 'ff', 'f0']);
    const offset = await firstSelectedOffset(page);
    expect(fs.readFileSync(image).subarray(offset, offset + 8).toString('hex')).toBe('000000000000fff0');
    await expect.poll(() => page.getByTestId('inspector-value').textContent()).toBe('0x000000000000fff0 (65520)');
    await screenshot(page, '11-borrowed-vmdesc');
    // The field can be edited by that name too, and the edited image is still decoded with it.
    const value = page.getByRole('textbox', { name: 'Set value' });
    await value.fill('0xfff4');
    await value.press('Enter');
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/set cpu:0\.env\.eip = 0xfff4; no errors \(not saved yet\)/);
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', 'ff', 'f4']);
    await expect.poll(() => page.getByTestId('inspector-value').textContent()).toBe('0x000000000000fff4 (65524)');
  });

  it('edit a field in the inspector: the bytes change, the edit is listed, undo restores them', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    const cpu = page.locator('.tree-row', { has: page.locator('.label', { hasText: /^cpu$/ }) });
    await cpu.locator('.twisty').click();
    await page.locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).click();
    // The inspector names the field as `migwb edit --set` takes it.
    await expect.poll(() => page.getByTestId('field-address').textContent()).toBe('cpu:0.env.eip');
    const value = page.getByRole('textbox', { name: 'Set value' });
    await expect.poll(() => value.inputValue()).toBe('0x000000000000fff0');
    await value.fill('0x1234');
    await value.press('Enter');
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', '12', '34']);
    await expect.poll(() => page.getByTestId('inspector-value').textContent()).toBe('0x0000000000001234 (4660)');
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/set cpu:0\.env\.eip = 0x1234; no errors \(not saved yet\)/);
    await page.getByRole('tab', { name: 'Edits (1)' }).click();
    await expect.poll(() => page.getByTestId('edit-entry').textContent()).toMatch(/cpu/);
    await screenshot(page, '09-field-edited');
    // Ctrl+Z outside a text field undoes the edit.
    await page.getByLabel('Hex view').focus();
    await page.keyboard.press('Control+z');
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', 'ff', 'f0']);
    await page.getByRole('tab', { name: 'Edits (0)' }).waitFor();
    // The file itself was never written.
    expect(sha256File(MINIMAL)).toBe(readJson(sidecar(MINIMAL, 'meta')).sha256);
  });

  it('repair a corrupt image and save it: the saved file is the one "migwb repair" writes', async () => {
    const image = corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-e2e-save-'));
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    await page.getByRole('tab', { name: /^Edits/ }).click();
    await page.getByRole('button', { name: 'Repair', exact: true }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/1 repair made: .*; no errors \(not saved yet\)/);
    await expect.poll(() => page.getByRole('tab', { name: /^Diagnostics/ }).textContent()).toBe('Diagnostics (0)');
    await page.getByRole('button', { name: 'Save as…' }).click();
    await saveThroughPicker(page, out, 'repaired.mig');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 30_000 }).toMatch(/Saved .*repaired\.mig .*checked: no errors/);
    await screenshot(page, '10-repaired-and-saved');
    const cli = await migwb('repair', image, '-o', path.join(out, 'cli.mig'));
    expect(cli.code).toBe(0);
    expect(sha256File(path.join(out, 'repaired.mig'))).toBe(sha256File(path.join(out, 'cli.mig')));
    fs.rmSync(out, { recursive: true, force: true });
  });

  const tmp = tempFolder('migwb-e2e-tall-');

  // Chromium caps an element's height near 2^25 px: at 20 px a row, a stream over ~27 MiB cannot
  // be scrolled natively. 64 MiB of random guest RAM make one several times that tall.
  it.skipIf(!haveQemu('7.2'))('jump to the end of an image too tall for native scrolling (made here: QEMU 7.2, 64 MiB of random RAM)', async () => {
    const payload = path.join(tmp(), 'random-64M.bin');
    fs.writeFileSync(payload, randomBytes(64 << 20));
    const image = path.join(tmp(), 'x86_64-pc-random64M-paused.mig');
    await withGuest({ binary: QEMU['7.2'], args: ['-M', 'pc', '-m', '128', '-device', 'loader,file=random-64M.bin,addr=0x100000,force-raw=on'], files: [payload] }, ({ qmp }) => migrateToFile(qmp, image));
    const size = fs.statSync(image).size;
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    const rows = page.getByLabel('Hex view');
    await expect.poll(async () => Number(await rows.getAttribute('data-total-rows')) * 20).toBeGreaterThan(2 ** 25 * 2);
    await rows.focus();
    await page.keyboard.press('Control+End');
    await expect.poll(() => page.getByTestId('cursor-offset').textContent()).toBe(`0x${(size - 1).toString(16).padStart(8, '0')}`);
    await expect.poll(async () => (await selectedRow(page)).label).toBe('JSON');
    await expect.poll(() => cursorByte(page)).toBe('7d'); // the vmdesc's closing "}"
    // The scaled scrollbar's thumb sits at the bottom of its track.
    const track = (await page.getByTestId('hex-scrollbar').boundingBox())!;
    await expect.poll(async () => {
      const thumb = (await page.getByTestId('hex-scrollbar').locator('.thumb').boundingBox())!;
      return Math.abs(Math.round(track.y + track.height - (thumb.y + thumb.height)));
    }).toBe(0);
    await screenshot(page, '05-end-of-a-tall-image');
  }, 180_000);
});
