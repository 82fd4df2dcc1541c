import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { XenGuestMemory } from '../../shared/formats/xen/guest-memory';
import { corpusPath, xenCorpusFiles } from '../helpers/corpus';
import { migwb } from '../helpers/cli';
import { sameBytes, tempDir, withXen } from '../helpers/xen';
import { legacyHvm, legacyPv, libxlWithEmulator, qemuDeviceState, xenPage } from '../helpers/xen-samples';
import { haveXenTools, runVerifier, XEN_TOOLS_MISSING } from '../helpers/xen-tools';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const skipReason = haveXenTools ? '' : ` — skipped: ${XEN_TOOLS_MISSING}`;
const X = (name: string) => corpusPath('xen', name);

const pv32 = tmp.file('pv32.bin', legacyPv({ width: 4, guestWidth: 4 }).bytes);
const deviceState = qemuDeviceState(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), true);
const emulator = tmp.file('emulator.libxl', libxlWithEmulator(deviceState));
const remus = tmp.file('remus.bin', legacyHvm({ width: 8, remus: true, qemuState: qemuDeviceState(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), false) }).bytes);

/** A migwb command's --json output (as JSON.parse gives it; the callbacks below say what they read). */
function json(out: string) {
  return JSON.parse(out);
}

describe('every page of every stream reads back as the page of its pfn', () => {
  const files = [...xenCorpusFiles(), pv32, emulator, remus];
  it.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    withXen(file, (src, model) => {
      const memory = new XenGuestMemory(src, model);
      const data = memory.ranges().filter((r) => r.state === 'data');
      let pages = 0;
      for (const r of data) {
        for (let pfn = r.firstPfn; pfn < r.firstPfn + r.count; pfn++) {
          const page = memory.read(pfn);
          // Remus checkpoint 2 rewrote pfns 1 and 3 (checked byte for byte in write-convert.test.ts).
          if (file === remus && (pfn === 1 || pfn === 3)) continue;
          expect(Buffer.from(page.subarray(0, 16)).toString('latin1'), `pfn 0x${pfn.toString(16)}`).toBe(`XENPFN${pfn.toString(16).padStart(10, '0')}`);
          expect(page[4095]).toBe(pfn & 0xff);
          pages++;
        }
      }
      if (!path.basename(file).startsWith('broken-v2')) expect(pages).toBeGreaterThan(0);
    });
  });
});

describe('migwb on Xen streams', () => {
  it('info: layers, guest and records of an xl file', async () => {
    const r = await migwb('info', X('hvm-v3.xl'), '--json');
    expect(r.code).toBe(0);
    const info = json(r.out);
    expect([info.format, info.kind, info.domain.type, info.images[0].version, info.xl.stream_v2]).toEqual(['xen', 'xl', 'hvm', 3, true]);
    expect(info.records.map((x: { name: string }) => x.name)).toContain('EMULATOR_CONTEXT');
    expect(info.pages.with_data).toBe(5);
  });

  it('info: a 32-bit PV legacy image says how its width and type were told', async () => {
    const r = await migwb('info', pv32);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/32-bit toolstack: octets 4-7 are 0xffffffff, the 32-bit extended-info marker/);
    expect(r.out).toMatch(/guest +PV, 32-bit, 3 page-table levels/);
  });

  it('validate: exit 1 with the offset and the verifier\'s words for a broken file; exit 0 and a note for a verifier quirk', async () => {
    const broken = await migwb('validate', X('broken-pfn-reserved-bits.libxc'));
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/error +0x00000040 +PAGE_DATA: Reserved bits set in pfn\[0\]/);
    expect(broken.out).toMatch(/verify-stream-v2 stops here: xen\.migration\.verify\.RecordError: Reserved bits set in pfn\[0\]: 0x0080000000000000/);
    const quirk = await migwb('validate', X('hvm-v3-xenstore.libxl'), '--json');
    expect(quirk.code).toBe(0);
    expect(json(quirk.out).verify_stream_v2).toEqual({ exit: 1, says: 'xen.migration.verify.RecordError: Data not NUL terminated' });
  });

  it('read --pfn and --gpa, search, ram', async () => {
    const read = await migwb('read', X('hvm-v3.libxl'), '--pfn', '0x10', '--length', '16', '--json');
    expect(Buffer.from(json(read.out).hex, 'hex').toString('latin1')).toBe('XENPFN0000000010');
    const gpa = await migwb('read', X('hvm-v3.libxl'), '--gpa', '0x11000', '--length', '16');
    expect(gpa.out).toMatch(/pfn 0x11 .*invalid \(XTAB/);
    // One search over Xen and QEMU images alike: the Xen hit names its pfn and where the page is stored.
    const search = await migwb('search', X('hvm-v3.xl'), X('pv-v3.libxc'), corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), '--string', 'XENPFN0000000031', '--json');
    expect(search.code).toBe(0);
    const results = json(search.out).results;
    expect(results.map((r: { hits: unknown[] }) => r.hits.length)).toEqual([0, 1, 0]);
    const hit = results[1].hits[0];
    expect([hit.block, hit.block_offset, hit.gpa]).toEqual(['pfn 0x31', 0, undefined]);
    expect(fs.readFileSync(X('pv-v3.libxc')).subarray(hit.file_offset, hit.file_offset + 16).toString('latin1')).toBe('XENPFN0000000031');
    const hvm = json((await migwb('search', X('hvm-v3.libxl'), '--hex', Buffer.from('XENPFN0000000012').toString('hex'), '--json')).out).results[0].hits[0];
    expect(hvm.gpa).toBe(0x12000);
    const ram = await migwb('ram', X('pv-v3.libxc'), '--json');
    expect(json(ram.out).p2m.frames).toEqual([0x20]);
  });

  it('extract-ram: a raw image with each page at pfn × 4096, and an ELF core readelf reads', async () => {
    const out = path.join(tmp.dir, 'extract');
    expect((await migwb('extract-ram', X('hvm-v3.xl'), '--out', out)).code).toBe(0);
    const raw = path.join(out, 'physical.raw');
    expect(fs.statSync(raw).size).toBe(0xfeffd * 4096);
    // A sparse file: only the pages with data take space.
    expect(fs.statSync(raw).blocks * 512).toBeLessThan(1 << 20);
    const pageAt = (pfn: number) => {
      const b = Buffer.alloc(4096);
      const fd = fs.openSync(raw, 'r');
      fs.readSync(fd, b, 0, 4096, pfn * 4096);
      fs.closeSync(fd);
      return b;
    };
    for (const pfn of [0, 1, 0x10, 0x12, 0xfeffc]) expect(sameBytes(pageAt(pfn), xenPage(pfn))).toBe(true);
    expect(pageAt(0x11).every((b) => b === 0)).toBe(true);
    expect((await migwb('extract-ram', X('hvm-v3.xl'), '--out', out, '--format', 'elf', '--force')).code).toBe(0);
    const headers = execFileSync('readelf', ['-l', path.join(out, 'memory.elf')]).toString();
    expect(headers.match(/LOAD/g)).toHaveLength(4);
  });

  it('dump and edit a QEMU field inside EMULATOR_CONTEXT (a real device state from a QEMU corpus image)', async () => {
    const dump = await migwb('dump', emulator, '--section', 'cpu', '--json');
    const fields = json(dump.out).emulator[0].fields;
    expect(fields.find((f: { name: string }) => f.name === 'env.eip').value.dec).toBe('65520');
    const journal = path.join(tmp.dir, 'emu.json');
    const out = path.join(tmp.dir, 'emu-edited.libxl');
    expect((await migwb('edit', emulator, '--journal', journal, '--set', 'EMULATOR_CONTEXT.cpu.env.eip=0x1234')).code).toBe(0);
    expect((await migwb('apply', emulator, journal, '-o', out)).code).toBe(0);
    const after = json((await migwb('dump', out, '--section', 'cpu', '--json')).out).emulator[0].fields;
    expect(after.find((f: { name: string }) => f.name === 'env.eip').value.hex).toBe('0x0000000000001234');
  });
});

describe(`what migwb writes passes verify-stream-v2${skipReason}`, () => {
  it.skipIf(!haveXenTools).each(['broken-bad-image-id.libxc', 'broken-nonzero-padding.libxl', 'broken-pagedata-short.libxc', 'broken-pfn-reserved-bits.libxc', 'broken-truncated.libxl', 'broken-v2-with-static-data-end.libxc'])(
    'repair %s',
    async (name) => {
      const out = path.join(tmp.dir, `repaired-${name}`);
      const r = await migwb('repair', X(name), '-o', out);
      expect(r.code, r.out + r.err).toBe(0);
      expect((await migwb('validate', out)).code).toBe(0);
      const v = runVerifier(out, name.endsWith('.libxc') ? 'libxc' : 'libxl');
      expect([v.exit, v.says]).toEqual([0, '']);
    },
  );

  it.skipIf(!haveXenTools)('edits: a field, a page in place and a page the stream never sent', async () => {
    const journal = path.join(tmp.dir, 'j.json');
    const out = path.join(tmp.dir, 'edited.libxl');
    const e = await migwb('edit', X('hvm-v3.libxl'), '--journal', journal, '--set', 'X86_TSC_INFO.khz=3000000', '--pfn', '0x12+16=cafebabe', '--ram', '0x50000=11223344');
    expect(e.code, e.err).toBe(0);
    expect((await migwb('apply', X('hvm-v3.libxl'), journal, '-o', out)).code).toBe(0);
    expect(runVerifier(out, 'libxl').exit).toBe(0);
    const tsc = json((await migwb('dump', out, '--record', 'X86_TSC_INFO', '--json')).out).records[0].fields;
    expect(tsc.find((f: { name: string }) => f.name === 'khz').value.dec).toBe('3000000');
    const page = json((await migwb('read', out, '--gpa', '0x50000', '--length', '4', '--json')).out);
    expect(page.hex).toBe('11223344');
    expect(json((await migwb('read', out, '--pfn', '0x12', '--offset', '16', '--length', '4', '--json')).out).hex).toBe('cafebabe');
  });

  it.skipIf(!haveXenTools).each([
    ['legacy-hvm64.bin', 'xen-v2', 'libxl'],
    ['legacy-hvm64-toolstack.bin', 'xen-v2', 'libxl'],
    ['hvm-v2.libxc', 'xen-v3', 'libxc'],
  ] as const)('transform %s --to %s', async (name, to, layer) => {
    const out = path.join(tmp.dir, `${name}.${to}`);
    const r = await migwb('transform', X(name), '--to', to, '-o', out, '--json');
    expect(r.code, r.err).toBe(0);
    const v = runVerifier(out, layer);
    // The toolstack sample carries xenstore data, which the Python 3 verifier always rejects.
    if (name === 'legacy-hvm64-toolstack.bin') expect(v.says).toBe(json(r.out).after.verify_stream_v2.says);
    else expect([v.exit, v.says]).toEqual([0, '']);
    if (to === 'xen-v2') expect(sameBytes(fs.readFileSync(out), fs.readFileSync(X(name.replace('.bin', '.converted.libxl'))))).toBe(true);
  });

  it.skipIf(!haveXenTools)('transform a 32-bit PV legacy image and a Remus stream (width and type detected, deltas rebuilt)', async () => {
    for (const [input, name] of [
      [pv32, 'pv32.libxl'],
      [remus, 'remus.libxl'],
    ]) {
      const out = path.join(tmp.dir, name);
      const r = await migwb('transform', input, '--to', 'xen-v2', '-o', out);
      expect(r.code, r.out + r.err).toBe(0);
      expect(runVerifier(out, 'libxl').exit).toBe(0);
    }
    const dry = await migwb('transform', pv32, '--to', 'xen-v2', '--dry-run');
    expect(dry.out).toMatch(/32-bit toolstack.*PV.*convert-legacy-stream -w 32 -g pv -f libxl/s);
    expect(dry.out).toMatch(/dry run: nothing was written/);
  });
});

describe('the library indexes Xen streams', () => {
  it('domain type, width, page count, records, and the QEMU devices of the emulator state', async () => {
    const db = path.join(tmp.dir, 'library.sqlite');
    const r = await migwb('index', corpusPath('xen'), emulator, pv32, '--db', db);
    expect(r.code, r.err).toBe(0);
    const rows = json((await migwb('query', '--db', db, 'SELECT i.path, i.format, x.domain_type, x.guest_width, x.legacy_width, x.page_count, x.record_count FROM images i JOIN xen_streams x ON x.image_id = i.id ORDER BY i.path', '--json')).out);
    const by = (name: string) => rows.find((x: { path: string }) => path.basename(x.path) === name);
    expect(rows).toHaveLength(xenCorpusFiles().length + 2);
    expect(by('pv-v3.libxc')).toMatchObject({ format: 'xen-libxc', domain_type: 'pv', guest_width: 8, page_count: 4 });
    expect(by('pv32.bin')).toMatchObject({ format: 'xen-legacy', domain_type: 'pv', guest_width: 4, legacy_width: 4 });
    expect(by('hvm-v3.xl')).toMatchObject({ format: 'xen-xl', domain_type: 'hvm', page_count: 5, record_count: 13 });
    const records = json((await migwb('query', '--db', db, "SELECT count(*) AS n FROM xen_records r JOIN images i ON i.id = r.image_id WHERE r.name = 'PAGE_DATA' AND i.path LIKE '%hvm-v3.libxc'", '--json')).out);
    expect(records[0].n).toBe(3);
    // The library view's wrapper and QEMU version hint columns: the layers, and the release hint of the emulator state's QEMU stream.
    const shown = json((await migwb('query', '--db', db, 'SELECT path, wrapper, qemu_version_hint FROM images ORDER BY path', '--json')).out);
    const row = (name: string) => shown.find((x: { path: string }) => path.basename(x.path) === name);
    expect(row('hvm-v3.xl').wrapper).toBe('Xen xl save file · libxc image v3');
    expect(row('pv32.bin').wrapper).toBe('Xen legacy (pre-4.6) save stream · 32-bit toolstack, PV');
    // QEMU's device state in a Xen stream (qemu_save_device_state) has no CONFIGURATION section, so no machine type bounds the release.
    expect(shown.filter((x: { qemu_version_hint: unknown }) => x.qemu_version_hint !== null)).toEqual([]);
    const found = await migwb('find', '--db', db, '--device', 'cpu');
    expect(found.out).toContain('emulator.libxl');
    // A library search reaches the Xen images' guest memory too.
    const searched = json((await migwb('search', '--db', db, '--string', 'XENPFN00000feffc', '--json')).out).results;
    expect(searched.filter((r: { hits: unknown[] }) => r.hits.length).map((r: { image: string }) => path.basename(r.image)).sort()).toEqual(['broken-bad-image-id.libxc', 'broken-nonzero-padding.libxl', 'broken-truncated.libxl', 'hvm-v2.libxc', 'hvm-v3-xenstore.libxl', 'hvm-v3.libxc', 'hvm-v3.libxl', 'hvm-v3.xl', 'spec-valid-optional-record.libxc']);
  });
});
