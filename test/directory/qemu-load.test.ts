import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { corpusPath, metaOf } from '../helpers/corpus';
import { haveQemu, loadInQemu, type QemuVersion } from '../helpers/qemu';
import { sealedCopy, tempDir } from './sealed';

/**
 * QEMU stops reading after QEMU_VM_EOF and the vmdesc, so a sealed copy must load exactly
 * like the original: real QEMU 7.2 and 10.0, -incoming "exec:cat SEALED".
 */
const CASES: [QemuVersion, string, string][] = [
  ['7.2', 'qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'],
  // Without a vmdesc the directory follows EOF directly; a suppress-vmdesc destination reads nothing after EOF.
  ['7.2', 'qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'],
  ['10.0', 'qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig'],
];
const dir = tempDir('qemu-sealed');
const missing = (v: QemuVersion) => (haveQemu(v) ? '' : ` (skipped: QEMU ${v} is not installed)`);

for (const [version, folder, name] of CASES) {
  describe.skipIf(!haveQemu(version))(`real QEMU ${version} loads a sealed copy${missing(version)}`, () => {
    it(name, async () => {
      const image = corpusPath(folder, name);
      const sealed = sealedCopy(image, dir, `${version}-${name}`);
      expect(fs.statSync(sealed).size).toBeGreaterThan(fs.statSync(image).size);
      const meta = metaOf(image);
      const files = ['payload-1M.bin', 'tiny-disk-64K.raw'].map((f) => corpusPath(folder, f)).filter((f) => fs.existsSync(f));
      const r = await loadInQemu({ version, image: sealed, args: meta.qemu_argv.slice(1), files, capabilities: meta.migration_capabilities });
      try {
        expect(r.stderr).toEqual([]);
        expect(r.loaded).toBe(true);
        expect(r.runstate).toBe('prelaunch');
        if (name.includes('payload')) expect(await r.qmp!.hmp('xp /1bx 0x100000')).toMatch(/0x4d/); // the planted "MIGIMG…" marker
      } finally {
        await r.quit();
      }
    });
  });
}

describe.skipIf(!haveQemu('7.2'))(`a destination that expects a vmdesc meets the directory instead${missing('7.2')}`, () => {
  it("QEMU 7.2 only warns (the directory's first byte is 0xc0, not 0x06) and the state loads", async () => {
    const image = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig');
    const sealed = sealedCopy(image, dir, 'mismatched-destination.mig');
    const args = metaOf(image).qemu_argv.slice(1).map((a: string) => a.replace(',suppress-vmdesc=on', ''));
    const r = await loadInQemu({ version: '7.2', image: sealed, args });
    try {
      expect(r.loaded).toBe(true);
      expect(r.stderr.join('\n')).toMatch(/Expected vmdescription section, but got 192/);
    } finally {
      await r.quit();
    }
  });
});
