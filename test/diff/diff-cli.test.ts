import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';

/** `migwb diff --json` as the tests read it (snake_case, as every --json output). */
interface WireOffset {
  stream: number;
  file?: number;
}
interface WireField {
  path: string;
  change: string;
  value_a?: string;
  value_b?: string;
  offset_a?: WireOffset;
  offset_b?: WireOffset;
}
interface WireRun {
  block: string;
  block_offset: number;
  pages: number;
  gpa?: number;
  record_a: string;
  record_b: string;
  offset_a?: WireOffset;
  offset_b?: WireOffset;
  bytes?: { offset: number; a: string; b: string }[];
}
interface WireDiff {
  header: { what: string; a: string; b: string }[];
  sections_added: { name: string }[];
  sections_removed: { name: string }[];
  sections_changed: { name: string; fields: WireField[] }[];
  vmdesc: unknown[];
  ram: { blocks: { block: string; pages_differing: number; pages_only_a: number; pages_only_b: number }[]; runs: WireRun[]; runs_omitted: number };
  framing: { what: string; a: string; b: string }[];
  equal_in_content: boolean;
}

async function diffJson(...args: string[]): Promise<{ code: number; diff: WireDiff }> {
  const r = await migwb('diff', ...args, '--json');
  expect(r.code, r.err).toBeLessThan(2);
  return { code: r.code, diff: JSON.parse(r.out) as WireDiff };
}

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const QCOW2 = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2');
const QCOW2_VMSTATE = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.vmstate.mig');
const LIBVIRT_RAW = corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav');

describe('migwb diff: an image against its edited copy', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-diff-edit-');

  it('reports exactly the journal changes: the field with both values and offsets, and the RAM page at its GPA', async () => {
    const journal = path.join(tmp(), 'j.json');
    const edited = path.join(tmp(), 'edited.mig');
    expect((await migwb('edit', MINIMAL, '--journal', journal, '--set', 'cpu.env.eip=0x1234', '--ram', '0x100000=deadbeef', '--ram', '0x1ff8=0102')).code).toBe(0);
    expect((await migwb('apply', MINIMAL, journal, '-o', edited)).code).toBe(0);
    // The expectation comes from the journal, not from the diff.
    const doc = JSON.parse(fs.readFileSync(journal, 'utf8')) as { edits: { intent: Record<string, unknown> }[] };
    const setField = doc.edits.map((e) => e.intent).find((i) => i.op === 'set-field')!;
    const ramWrites = doc.edits.map((e) => e.intent).filter((i) => i.op === 'ram-write');
    expect(ramWrites).toHaveLength(2);

    const { code, diff } = await diffJson(MINIMAL, edited, '--bytes');
    expect(code).toBe(1);
    expect(diff.equal_in_content).toBe(false);
    expect(diff.header).toEqual([]);
    expect(diff.sections_added).toEqual([]);
    expect(diff.sections_removed).toEqual([]);
    expect(diff.sections_changed.map((s) => s.name)).toEqual([setField.section]);
    const [field] = diff.sections_changed[0].fields;
    expect(diff.sections_changed[0].fields).toHaveLength(1);
    expect(field).toMatchObject({ path: setField.path, change: 'changed', value_a: setField.old, value_b: setField.new });
    // A field rewritten in place keeps its offset; RAM edits before it moved it by the inserted bytes.
    expect(field.offset_a).toEqual({ stream: setField.offset, file: setField.offset });
    expect(field.offset_b!.file).toBeGreaterThan(setField.offset as number);

    // RAM: one page per write, at the GPA the journal resolved, zero record before, page record after.
    const pageOf = (gpa: number) => gpa - (gpa % 4096);
    const expectedRuns = ramWrites.map((w) => pageOf(w.gpa as number)).sort((x, y) => x - y);
    expect(diff.ram.runs.map((r) => r.gpa)).toEqual(expectedRuns);
    for (const r of diff.ram.runs) expect(r).toMatchObject({ block: 'pc.ram', pages: 1, record_b: 'page' });
    const at100000 = diff.ram.runs.find((r) => r.gpa === 0x100000)!;
    expect(at100000.bytes).toEqual([{ offset: 0, a: '00000000', b: 'deadbeef' }]);
    const at1000 = diff.ram.runs.find((r) => r.gpa === 0x1000)!;
    expect(at1000.bytes).toEqual([{ offset: 0xff8, a: at1000.bytes![0].a, b: '0102' }]);
    expect(diff.ram.blocks.find((b) => b.block === 'pc.ram')!.pages_differing).toBe(2);
    expect(diff.ram.blocks.filter((b) => b.block !== 'pc.ram').every((b) => b.pages_differing === 0)).toBe(true);
  });

  it('an image against itself is equal in content, exit 0, with nothing listed', async () => {
    const { code, diff } = await diffJson(MINIMAL, MINIMAL);
    expect(code).toBe(0);
    expect(diff).toMatchObject({ header: [], sections_added: [], sections_removed: [], sections_changed: [], vmdesc: [], framing: [], equal_in_content: true });
    expect(diff.ram.runs).toEqual([]);
  });
});

describe('migwb diff: corpus pairs', () => {
  const tmp = tempFolder('migwb-diff-corpus-');

  it('a qcow2 snapshot against its extracted vmstate: equal in content, the container listed as framing', async () => {
    const { code, diff } = await diffJson(QCOW2, QCOW2_VMSTATE);
    expect(code).toBe(0);
    expect(diff.equal_in_content).toBe(true);
    expect(diff.framing.find((f) => f.what === 'container')).toEqual({ what: 'container', a: 'qcow2', b: 'qemu-migration-stream' });
    expect(diff.ram.runs).toEqual([]);
  });

  it('a libvirt save against its own stream (migwb stream): equal in content', async () => {
    const stream = path.join(tmp(), 'stream.mig');
    expect((await migwb('stream', LIBVIRT_RAW, '-o', stream)).code).toBe(0);
    const { code, diff } = await diffJson(LIBVIRT_RAW, stream);
    expect(code).toBe(0);
    expect(diff.framing.map((f) => f.what)).toContain('container');
    expect(diff.sections_changed).toEqual([]);
  });

  it('two configurations: sections added and removed, and RAM block sizes, as NAME.sections.json lists them', async () => {
    const sectionsOf = (image: string) => {
      const s = readJson(sidecar(image, 'sections'));
      return {
        names: new Set(s.elements.filter((e) => (e.type === 'FULL' || e.type === 'START') && e.idstr !== undefined).map((e) => `${e.idstr}:${e.instance_id ?? 0}`)),
        blocks: new Map(s.elements.flatMap((e) => (e as { ram_blocks?: { id: string; used_length: number }[] }).ram_blocks ?? []).map((b) => [b.id, b.used_length])),
      };
    };
    const a = sectionsOf(MINIMAL);
    const b = sectionsOf(E1000);
    const { code, diff } = await diffJson(MINIMAL, E1000);
    expect(code).toBe(1);
    expect(diff.sections_added.map((s) => s.name).sort()).toEqual([...b.names].filter((n) => !a.names.has(n)).sort());
    expect(diff.sections_removed.map((s) => s.name).sort()).toEqual([...a.names].filter((n) => !b.names.has(n)).sort());
    const sizeDiffs = [...new Set([...a.blocks.keys(), ...b.blocks.keys()])]
      .filter((id) => a.blocks.get(id) !== b.blocks.get(id))
      .map((id) => ({ what: `RAM block ${id} size`, a: String(a.blocks.get(id) ?? '(none)'), b: String(b.blocks.get(id) ?? '(none)') }));
    expect(diff.header.filter((h) => h.what.startsWith('RAM block')).map(({ what, a: x, b: y }) => ({ what, a: x, b: y }))).toEqual(sizeDiffs);
    // The pages past the end of the smaller pc.ram are listed as only in B.
    const pcRam = diff.ram.blocks.find((x) => x.block === 'pc.ram')!;
    expect(pcRam.pages_only_b).toBe((b.blocks.get('pc.ram')! - a.blocks.get('pc.ram')!) / 4096);
  });

  it('--section limits the sections compared; the text output names fields with both offsets', async () => {
    const r = await migwb('diff', MINIMAL, E1000, '--fields', '--section', 'mc146818rtc');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/~ mc146818rtc:0: 1 fields differ/);
    expect(r.out).not.toMatch(/I440FX/);
    expect(r.out).not.toMatch(/^RAM:/m);
  });

  it('exit 2 when the diff cannot run', async () => {
    const notAnImage = path.join(tmp(), 'text.txt');
    fs.writeFileSync(notAnImage, 'hello, not a migration image\n');
    const r = await migwb('diff', MINIMAL, notAnImage);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/migwb: /);
    expect((await migwb('diff', MINIMAL, path.join(tmp(), 'missing.mig'))).code).toBe(2);
    // Side A is opened in the CLI's own thread, side B in a worker: either failing ends the diff with exit 2 and names the file.
    const first = await migwb('diff', notAnImage, MINIMAL);
    expect(first.code).toBe(2);
    expect(first.err).toMatch(/migwb: .*text\.txt/);
    expect((await migwb('diff', path.join(tmp(), 'missing.mig'), MINIMAL)).code).toBe(2);
    expect(r.err).toMatch(/text\.txt/);
  });
});
