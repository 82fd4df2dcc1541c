import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migwb, REPO } from '../helpers/cli';
import { tempDir, walk } from '../helpers/chunked';
import { corpusPath } from '../helpers/corpus';

/**
 * The container through migwb: pack and unpack (files and pipes), chunks like pngcheck -v,
 * every command opening the container like any other image, and the container edits.
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const t = tempDir('chunked-cli');
afterAll(() => t.remove());
const at = (name: string) => path.join(t.dir, name);

function run(args: string[], input?: Buffer): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), ...args], { input, maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('migwb pack, unpack and chunks', () => {
  it('pack reports what it wrote; unpack gives the stream back', async () => {
    const p = await migwb('pack', IMAGE, '-o', at('vm.migc'));
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/^.*vm\.migc: 423 KiB \(433,073 bytes\) of QEMU stream in .*: 1 MHDR, 1 QEVM, 1 CONF, 1 STRT, 1 PART, 1 ENDS, 33 FULL, 1 QEOF, 1 vDSC, 1 oRIg, 1 MEND\n/);
    expect(p.out).toContain('stream sha256 91b5eefb5561e5813c9be42ad01febd26fdd1e95ebe353f3ca2883e1641d32f1');
    expect((await migwb('pack', IMAGE, '-o', at('vm.migc'))).err).toMatch(/already exists; use --force/);
    const u = await migwb('unpack', at('vm.migc'), '-o', at('vm.mig'));
    expect(u.code).toBe(0);
    expect(fs.readFileSync(at('vm.mig')).equals(fs.readFileSync(IMAGE))).toBe(true);
    expect((await migwb('pack', IMAGE, '-o', IMAGE, '--force')).err).toMatch(/refusing to write .*evidence/);
  });

  it('both take "-": standard input to standard output, the report on stderr', () => {
    const original = fs.readFileSync(IMAGE);
    const packed = run(['pack', '-', '-o', '-', '--chunk-size', '65536'], original);
    expect(packed.code, packed.stderr).toBe(0);
    expect(packed.stderr).toMatch(/standard output: 423 KiB/);
    const { layer, diagnostics } = walk(packed.stdout);
    expect(diagnostics).toEqual([]);
    expect(layer.origin?.source_name).toBe('-');
    expect(layer.header?.fields.chunk_size).toBe(65536);
    const unpacked = run(['unpack', '-', '-o', '-'], packed.stdout);
    expect(unpacked.code, unpacked.stderr).toBe(0);
    expect(unpacked.stdout.equals(original)).toBe(true);
  });

  it('refuses what it cannot do, in one line', () => {
    expect(run(['pack', '-', '-o', at('x.migc')], Buffer.from('not a stream at all')).stderr).toBe('migwb: standard input is not a QEMU migration stream (it does not start with "QEVM")\n');
    const lib = run(['pack', '-', '-o', at('x.migc')], fs.readFileSync(corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav')));
    expect(lib.stderr).toMatch(/standard input holds a libvirt save image \(virsh save\); from standard input pack reads a bare QEMU stream only: give the file's path instead/);
    const notContainer = run(['unpack', IMAGE, '-o', at('y.mig')]);
    expect([notContainer.code, notContainer.stderr]).toEqual([2, `migwb: ${IMAGE} is not a migwb chunked container (it does not start with its signature); "migwb info" says what it is\n`]);
    expect(run(['pack', IMAGE, '-o', at('z.migc'), '--chunk-size', '100']).stderr).toMatch(/--chunk-size must be between 16384 and 16777216 bytes, not 100/);
  });

  it('chunks lists every chunk with offset, type, property bits, length and CRC; --json too', async () => {
    const c = await migwb('chunks', at('vm.migc'));
    expect(c.code).toBe(0);
    const lines = c.out.split('\n');
    expect(lines[1]).toMatch(/^ {2}OFFSET +TYPE +PROPERTIES +LENGTH +CRC +CHUNK$/);
    expect(lines[2]).toMatch(/^ {2}0x00000008 +MHDR +critical, public +\d+ +0x[0-9a-f]{8} ok +MHDR$/);
    expect(c.out).toMatch(/FULL +critical, public +1885 +0x[0-9a-f]{8} ok +FULL cpu:0 \(version 12, section id 5\)/);
    expect(c.out).toMatch(/vDSC +ancillary, public, unsafe to copy/);
    expect(c.out).toMatch(/oRIg +ancillary, public, safe to copy/);
    expect(lines.at(-2)).toBe(`No errors detected in ${at('vm.migc')} (43 chunks).`);
    const json = JSON.parse((await migwb('chunks', at('vm.migc'), '--json')).out);
    expect(json.chunks.length).toBe(43);
    expect(json.chunks[8]).toMatchObject({ type: 'FULL', key: 'FULL cpu:0', crc: 'ok', damaged: false, section: 'cpu:0', properties: { critical: true, public: true, reserved_clear: true, safe_to_copy: false } });
  });

  it('chunks of a plain stream: its elements as the chunks pack would make, without CRCs', async () => {
    const c = await migwb('chunks', IMAGE);
    expect(c.code).toBe(0);
    expect(c.out.split('\n')[0]).toBe(`${IMAGE}: qemu-migration-stream without chunks; its 40 elements as "migwb pack" would make them chunks (offsets in the stream, no CRCs)`);
    expect(c.out).toMatch(/0x0004d6de +FULL +critical, public +1873 +- +FULL cpu:0/);
  });
});

describe('every command opens the container like any other image', () => {
  const container = () => at('vm.migc');
  const cases: [string, string[], RegExp][] = [
    ['info', [], /chunked container, format 1\.0: 43 chunks/],
    ['validate', [], /no problems found/],
    ['dump', ['--section', 'cpu'], /env\.eip +uint64/],
    ['ram', [], /pc\.ram +16 MiB/],
    ['read', ['--gpa', '0xfffffff0', '--length', '16'], /0xfffffff0 +ea 5b e0 00 f0/],
    ['search', ['--hex', 'ea5be000f0'], /1 hit\n.*\n.*pc\.bios\+0x0003fff0 +page +file 0x[0-9a-f]{8}/],
  ];
  for (const [command, args, expected] of cases) {
    it(command, async () => {
      const r = await migwb(command, container(), ...args);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(expected);
    });
  }

  it('extract-ram, edit, apply, repair, seal --sidecar, index', async () => {
    const x = await migwb('extract-ram', container(), '--out', at('ram'));
    expect(x.code, x.err).toBe(0);
    expect(fs.statSync(path.join(t.dir, 'ram', 'ram-map.json')).isFile()).toBe(true);
    const e = await migwb('edit', container(), '--journal', at('j.json'), '--set', 'cpu.env.regs[0]=0x1122334455667788', '--move-section', 'hpet last');
    expect(e.code, e.err).toBe(0);
    const a = await migwb('apply', container(), at('j.json'), '-o', at('edited.migc'));
    expect(a.code, a.err).toBe(0);
    const dumped = await migwb('dump', at('edited.migc'), '--section', 'cpu');
    expect(dumped.out).toMatch(/env\.regs\[0\] +uint64 +0x1122334455667788/);
    const r = await migwb('repair', container(), '-o', at('repaired.migc'), '--dry-run');
    expect(r.out).toMatch(/nothing to repair/);
    const copy = at('sealed.migc');
    fs.copyFileSync(container(), copy);
    expect((await migwb('seal', copy, '--sidecar')).code).toBe(0);
    expect(JSON.parse((await migwb('info', copy, '--json')).out).container.kind).toBe('chunked-container');
    const i = await migwb('index', container(), '--db', at('lib.sqlite'));
    expect(i.out).toMatch(/indexed 1 images/);
    expect((await migwb('ls', '--db', at('lib.sqlite'))).out).toMatch(/chunked-container +indexed +pc-i440fx-7\.2/);
  });
});

describe('container edits: notes, tags, a recomputed CRC, a dropped chunk', () => {
  it('are journal entries, saved into the container; a CRC is recomputed only where it is wrong', async () => {
    const damaged = Buffer.from(fs.readFileSync(at('vm.migc')));
    const cpu = walk(damaged).layer.chunks.find((c) => c.key === 'FULL cpu:0')!;
    damaged[cpu.offset + 8 + 300] ^= 0x04;
    fs.writeFileSync(at('damaged.migc'), damaged);
    const j = at('notes.json');
    const e = await migwb('edit', at('damaged.migc'), '--journal', j, '--note', 'FULL cpu:0=bit 2 of byte 300 flipped; checked', '--note', '=case 4711', '--tags', 'case-4711, flipped', '--recompute-crc', `0x${cpu.offset.toString(16)}`);
    expect(e.code, e.err).toBe(0);
    expect(e.out).toContain(`+ recomputed the CRC of the FULL chunk at 0x${cpu.offset.toString(16)}: its damage is no longer detectable`);
    const refused = await migwb('edit', at('damaged.migc'), '--journal', at('other.json'), '--recompute-crc', '0x8');
    expect(refused.err).toBe('migwb: the CRC of the MHDR chunk at 0x8 is right already\n');
    const stream = await migwb('edit', at('damaged.migc'), '--journal', at('other.json'), '--drop-chunk', `0x${cpu.offset.toString(16)}`);
    expect(stream.err).toMatch(/holds stream bytes \(FULL cpu:0\); delete the section it holds instead/);
    const plain = await migwb('edit', IMAGE, '--journal', at('plain.json'), '--recompute-crc', '0x8');
    expect(plain.err).toMatch(/has no chunks to recompute the CRC of; only a chunked container \(migwb pack\) has them/);

    // Saving a damaged container without the recompute is refused: the result would have its CRC error.
    const keep = await migwb('edit', at('damaged.migc'), '--journal', at('keep.json'), '--note', 'FULL apic:0=fine');
    expect(keep.code).toBe(0);
    expect((await migwb('apply', at('damaged.migc'), at('keep.json'), '-o', at('kept.migc'))).err).toMatch(/not saved: the result would have 1 error/);

    const a = await migwb('apply', at('damaged.migc'), j, '-o', at('annotated.migc'));
    expect(a.code, a.err).toBe(0);
    const { layer, diagnostics } = walk(fs.readFileSync(at('annotated.migc')));
    expect(diagnostics).toEqual([]);
    expect(layer.notes.map((n) => [n.about, n.text])).toEqual([
      ['FULL cpu:0', 'bit 2 of byte 300 flipped; checked'],
      ['', 'case 4711'],
    ]);
    expect(layer.tags).toEqual(['case-4711', 'flipped']);
    expect(layer.journals).toHaveLength(1);
    const chunks = await migwb('chunks', at('annotated.migc'));
    expect(chunks.out).toMatch(/FULL cpu:0 \(version 12, section id 5\) · note: "bit 2 of byte 300 flipped; checked"/);
    // The note can be dropped again, by its chunk's offset.
    const note = layer.chunks.find((c) => c.type === 'nOTe')!;
    await migwb('edit', at('annotated.migc'), '--journal', at('drop.json'), '--drop-chunk', String(note.offset));
    expect((await migwb('apply', at('annotated.migc'), at('drop.json'), '-o', at('dropped.migc'))).code).toBe(0);
    expect(walk(fs.readFileSync(at('dropped.migc'))).layer.notes.map((n) => n.about)).toEqual(['']);
  });

  it('a plain stream keeps notes in the journal, and says so when saved', async () => {
    await migwb('edit', IMAGE, '--journal', at('pn.json'), '--note', 'FULL cpu:0=looked at');
    const a = await migwb('apply', IMAGE, at('pn.json'), '-o', at('pn.mig'));
    expect(a.out).toContain('1 note and tag edit is kept in the journal only: this file has no place for them');
    expect(fs.readFileSync(at('pn.mig')).equals(fs.readFileSync(IMAGE))).toBe(true);
  });
});

