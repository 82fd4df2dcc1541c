import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { haveQemu, loadInQemu, type QemuVersion } from '../helpers/qemu';

/** The QEMU harness itself, against facts recorded when the corpus was made. */
const SAMPLES: Record<QemuVersion, string> = {
  '7.2': corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'),
  '10.0': corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig'),
};

for (const version of ['7.2', '10.0'] as QemuVersion[]) {
  describe.skipIf(!haveQemu(version))(`real QEMU ${version} loads corpus images and answers over QMP`, () => {
    const image = SAMPLES[version];
    const args: string[] = readJson(sidecar(image, 'meta')).qemu_argv.slice(1);
    const files = [path.join(path.dirname(image), 'payload-1M.bin')];

    it('an intact image loads, and its planted payload is in guest memory (HMP xp, QMP pmemsave)', async () => {
      const r = await loadInQemu({ version, image, args, files });
      try {
        expect(r.loaded).toBe(true);
        expect(r.runstate).toBe('prelaunch');
        expect(await r.qmp!.hmp('xp /1bx 0x100000')).toMatch(/0x4d/); // "M"
        const dump = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-pmem-')), 'payload.bin');
        await r.qmp!.execute('pmemsave', { val: 0x100000, size: 22, filename: dump });
        expect(fs.readFileSync(dump, 'latin1')).toBe('MIGIMG-FORENSIC-MARKER');
      } finally {
        await r.quit();
      }
    });

    it("a damaged copy fails to load with QEMU's own error", async () => {
      // Flip the first idstr byte of the "cpu" section, as corrupt/*.flip-hdr.mig does.
      const bytes = fs.readFileSync(image);
      const cpu = readJson(sidecar(image, 'sections')).elements.find((e) => e.idstr === 'cpu')!;
      bytes[cpu.offset + 6] ^= 0x01;
      const damaged = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-damaged-')), 'bpu.mig');
      fs.writeFileSync(damaged, bytes);
      const r = await loadInQemu({ version, image: damaged, args, files });
      expect(r.loaded).toBe(false);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.join('\n')).toMatch(/Unknown savevm section or instance 'bpu' 0/);
    });
  });
}
