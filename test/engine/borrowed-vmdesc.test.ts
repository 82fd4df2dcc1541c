import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import type { DumpOutput } from '../helpers/wire';

// The same QEMU 7.2 command line, once with suppress-vmdesc=on and once without.
const NO_VMDESC = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig');
const SIBLING = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
// Another machine type: some devices agree to the byte, others do not.
const OTHER_MACHINE = corpusPath('qemu', 'x86_64-q35-minimal-running-32M.mig');

async function dumpJson(...args: string[]): Promise<DumpOutput> {
  const r = await migwb('dump', ...args, '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
}

describe('decoding a stream without a vmdesc with the vmdesc of a sibling image', () => {
  it('without one, device sections are raw and the note says how to decode them', async () => {
    const r = await migwb('validate', NO_VMDESC, '--json');
    const note = (JSON.parse(r.out) as DumpOutput).diagnostics.find((d) => d.code === 'no-vmdesc')!;
    expect(note.hint).toMatch(/--vmdesc-from SIBLING/);
    const plain = await dumpJson(NO_VMDESC);
    expect(plain.sections.filter((s) => s.type === 'FULL').every((s) => s.described_by === 'raw')).toBe(true);
  });

  it('every section decodes, and the state equals what analyze-migration.py printed for the sibling', async () => {
    // Both VMs were paused at CPU reset with the same devices, so their device state is the
    // same; a decode that is off by a byte anywhere would differ from QEMU's own reading.
    const r = await migwb('dump', NO_VMDESC, '--analyze-compat', '--vmdesc-from', SIBLING);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/describes 33 of 33 device sections\n$/);
    expect(JSON.parse(r.out)).toEqual(readJson(sidecar(SIBLING, 'analyze')).state.output);

    const decoded = await dumpJson(NO_VMDESC, '--vmdesc-from', SIBLING);
    const full = decoded.sections.filter((s) => s.type === 'FULL');
    expect(full.every((s) => s.described_by === 'borrowed-vmdesc' && !s.problem)).toBe(true);
    expect(decoded.borrowed_vmdesc).toEqual({ from: SIBLING, described: 33, undescribed: 0 });
    // The "no vmdesc: raw bytes" note now says what decodes them.
    const note = decoded.diagnostics.find((d) => d.code === 'no-vmdesc')!;
    expect(note.message).toBe(`The stream has no vmdesc; 33 of 33 device sections are decoded with the vmdesc of ${SIBLING}`);
    expect(JSON.stringify(decoded.diagnostics)).not.toMatch(/shown as raw bytes/);
    // Offsets are this image's own: the cpu section's first register sits right after its header.
    const cpu = full.find((s) => s.idstr === 'cpu')!;
    expect(cpu.fields[0].offset).toBe(cpu.payload_offset);
  });

  it('a vmdesc JSON file saved with dump --analyze-compat --desc works the same', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-vmdesc-')), 'sibling.vmdesc.json');
    // As an editor may save it: with a byte order mark and a blank line first.
    fs.writeFileSync(file, '\uFEFF\n' + (await migwb('dump', SIBLING, '--analyze-compat', '--desc')).out);
    const fromFile = await migwb('dump', NO_VMDESC, '--analyze-compat', '--vmdesc-from', file);
    expect(JSON.parse(fromFile.out)).toEqual(readJson(sidecar(SIBLING, 'analyze')).state.output);
  });

  it('a vmdesc from another machine type describes only the sections it fits to the byte; the rest stay raw', async () => {
    const r = await migwb('dump', NO_VMDESC, '--json', '--vmdesc-from', OTHER_MACHINE);
    const out: Required<DumpOutput> = JSON.parse(r.out);
    const full = out.sections.filter((s) => s.type === 'FULL');
    const raw = full.filter((s) => s.described_by === 'raw');
    expect(raw.length).toBe(out.borrowed_vmdesc.undescribed);
    expect(raw.length).toBeGreaterThan(0);
    expect(full.length - raw.length).toBe(out.borrowed_vmdesc.described);
    for (const s of raw) expect(r.err).toContain(`${s.idstr} (instance ${s.instance_id}`);
    // The q35 machine's host bridge is not the pc's: no decode is forced onto it.
    expect(raw.map((s) => s.idstr)).toContain('0000:00:00.0/I440FX');
    for (const s of full.filter((s) => s.described_by === 'borrowed-vmdesc')) expect(s.problem).toBeUndefined();
  });

  it('refuses a source with nothing to borrow, and ignores the option for an image with its own vmdesc', async () => {
    const none = await migwb('dump', NO_VMDESC, '--vmdesc-from', NO_VMDESC);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/has no vmdesc to borrow/);
    const own = await migwb('dump', SIBLING, '--analyze-compat', '--vmdesc-from', OTHER_MACHINE);
    expect(own.err).toMatch(/has its own vmdesc; --vmdesc-from is ignored/);
    expect(JSON.parse(own.out)).toEqual(readJson(sidecar(SIBLING, 'analyze')).state.output);
  });
});
