import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EditSession } from '../../electron/edit/edit-session';
import { runRepairs } from '../../electron/edit/repair-service';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { MemorySource, readBytes } from '../../shared/io/byte-source';
import { migwb } from '../helpers/cli';
import { tempFolder } from '../helpers/evidence';
import { haveQemu, loadInQemu, saveInQemu } from '../helpers/qemu';

/**
 * Machine types up to 2.3 write no section footers, so only the vmdesc sizes delimit a
 * device section. A damaged header after a section must not be swallowed by a scan for the
 * next plausible header: it is reported where it is and repaired as in a 7.2 stream.
 * The image is a real pc-i440fx-2.3 save of a running guest with the compress capability,
 * made here with QEMU 7.2; every device section's type byte and name are damaged in turn.
 */
const ARGS = ['-M', 'pc-i440fx-2.3', '-m', '32M', '-nic', 'none', '-serial', 'null', '-monitor', 'none', '-display', 'none'];

describe.skipIf(!haveQemu('7.2'))('a footer-less pc-i440fx-2.3 stream (running guest, compress): damaged headers are found and repaired', () => {
  const tmp = tempFolder('migwb-footerless-');
  let original: Buffer;
  let image: string;
  beforeAll(async () => {
    image = path.join(tmp(), 'pc-i440fx-2.3-running-compress.mig');
    await saveInQemu({ version: '7.2', args: ARGS, runMs: 1500, image, capabilities: ['compress'] });
    original = fs.readFileSync(image);
  }, 120_000);

  const fulls = () => parseQemuStream(new MemorySource(original)).elements.filter((e) => e.type === 'FULL');

  it('is what the case needs: no footers, a vmdesc, compressed pages, every section delimited by the vmdesc', () => {
    const model = parseQemuStream(new MemorySource(original));
    expect(model.sectionFooters).toBe(false);
    expect(model.vmdesc).toBeDefined();
    expect(model.elements.some((e) => (e.pages?.compress ?? 0) > 0)).toBe(true);
    expect(model.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(fulls().every((e) => e.delimitedBy === 'vmdesc')).toBe(true);
  });

  /** Damages one byte, checks the one diagnostic, repairs, and returns the repaired bytes. */
  function damageAndRepair(offset: number, xor: number, code: string): Buffer {
    const damaged = Buffer.from(original);
    damaged[offset] ^= xor;
    const file = path.join(tmp(), `damaged-${offset.toString(16)}-${xor}.mig`);
    fs.writeFileSync(file, damaged);
    const session = EditSession.open(file);
    try {
      const errors = session.diagnostics.filter((d) => d.severity === 'error');
      expect(errors.map((d) => d.code)).toContain(code);
      expect(session.diagnostics.some((d) => d.code === 'section-delimited-heuristically' || d.code === 'vmdesc-size-mismatch')).toBe(false);
      const outcome = runRepairs(session);
      expect(outcome.after.filter((d) => d.severity === 'error')).toEqual([]);
      return Buffer.from(readBytes(session.view, 0, session.view.size));
    } finally {
      session.close();
    }
  }

  it("every section's flipped type byte is reported at the header and restored: the repair is the original byte for byte", () => {
    // The first device section follows RAM, which delimits itself; every later one follows a section only the vmdesc delimits.
    for (const e of fulls()) expect(damageAndRepair(e.offset, 0x10, 'damaged-section-type').equals(original), `${e.idstr} at 0x${e.offset.toString(16)}`).toBe(true);
  });

  it("every section's damaged name (a printable or an unprintable byte) is reported and restored from the vmdesc", () => {
    fulls().forEach((e, i) => {
      const at = e.offset + 6 + (i % e.idstr!.length);
      expect(damageAndRepair(at, i % 2 ? 0x80 : 0x01, 'section-name-mismatch').equals(original), `${e.idstr} byte ${at - e.offset - 6}`).toBe(true);
    });
  });

  it('QEMU 7.2 rejects a damaged copy and loads the repaired one', async () => {
    const apic = fulls().find((e) => e.idstr === 'apic')!;
    for (const [offset, xor, what] of [[apic.offset, 0x10, 'type byte'], [apic.offset + 7, 0x01, 'name']] as const) {
      const damaged = Buffer.from(original);
      damaged[offset] ^= xor;
      const file = path.join(tmp(), `apic-${what.replace(' ', '-')}.mig`);
      fs.writeFileSync(file, damaged);
      const before = await loadInQemu({ version: '7.2', image: file, args: ARGS, capabilities: ['compress'] });
      await before.quit();
      console.log(`pc-i440fx-2.3, ${apic.idstr} ${what} damaged: QEMU 7.2 says ${before.stderr.join(' | ')}`);
      expect(before.loaded).toBe(false);
      const out = `${file}.repaired`;
      const r = await migwb('repair', file, '-o', out);
      expect(r.code, r.out + r.err).toBe(0);
      expect(fs.readFileSync(out).equals(original)).toBe(true);
      const after = await loadInQemu({ version: '7.2', image: out, args: ARGS, capabilities: ['compress'] });
      await after.quit();
      expect(after.loaded, after.stderr.join(' | ')).toBe(true);
    }
  }, 120_000);
});
