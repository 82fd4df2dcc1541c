import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

interface Offset {
  stream: number;
  file?: number;
}
interface DiffJson {
  header: unknown[];
  sections_added: unknown[];
  sections_removed: unknown[];
  sections_moved: unknown[];
  sections_changed: { name: string; b: { offset: Offset }; fields: { path: string; change: string; offset_a: Offset; offset_b: Offset; value_b: string }[] }[];
  vmdesc: unknown[];
  ram: { blocks: { pages_differing: number; pages_reframed: number }[]; runs: unknown[] };
  framing: { what: string; a: string; b: string }[];
  equal_in_content: boolean;
}

async function diffJson(a: string, b: string): Promise<{ code: number; diff: DiffJson }> {
  const r = await migwb('diff', a, b, '--json');
  expect(r.code, r.err).not.toBe(2);
  return { code: r.code, diff: JSON.parse(r.out) as DiffJson };
}

/** The framing facts a chunked container adds around the same stream, by name. */
const containerFraming = (packed: string) => [
  { what: 'container', a: 'qemu-migration-stream', b: 'chunked-container' },
  { what: 'wrappers', a: '(none)', b: 'chunked-container' },
  { what: 'offset space', a: 'file', b: 'unpacked' },
  { what: 'file size', a: `${fs.statSync(MINIMAL).size.toLocaleString('en-US')} bytes`, b: `${fs.statSync(packed).size.toLocaleString('en-US')} bytes` },
];

/**
 * The chunked container in the diff (`migwb pack`): a packed image is equal in content to its
 * source, with the container's framing listed apart from the content; an edit inside a packed
 * copy is found at its own file offset inside its chunk.
 */
describe('migwb diff: a chunked container against its source', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-diff-chunked-');
  let packed = '';
  beforeAll(async () => {
    packed = path.join(tmp(), 'minimal.migc');
    const r = await migwb('pack', MINIMAL, '-o', packed);
    expect(r.code, r.err).toBe(0);
  });

  it('a packed image diffs equal in content, and the container is framing only', async () => {
    const { code, diff } = await diffJson(MINIMAL, packed);
    expect(code).toBe(0);
    expect(diff).toMatchObject({ header: [], sections_added: [], sections_removed: [], sections_moved: [], sections_changed: [], vmdesc: [], equal_in_content: true });
    expect(diff.ram.runs).toEqual([]);
    expect(diff.ram.blocks.every((b) => b.pages_differing === 0 && b.pages_reframed === 0)).toBe(true);
    expect(diff.framing).toEqual(containerFraming(packed));
    // Either way round, the same facts with the sides swapped.
    const back = await diffJson(packed, MINIMAL);
    expect(back.code).toBe(0);
    expect(back.diff.framing).toEqual(containerFraming(packed).map((f) => ({ what: f.what, a: f.b, b: f.a })));
  });

  it('two packings of the same stream: no framing difference either', async () => {
    const again = path.join(tmp(), 'again.migc');
    expect((await migwb('pack', MINIMAL, '-o', again)).code).toBe(0);
    const { code, diff } = await diffJson(packed, again);
    expect(code).toBe(0);
    expect(diff.framing).toEqual([]);
  });

  it('an edit inside a packed copy: the field by path, at its file offset inside its chunk, the container still framing', async () => {
    const journal = path.join(tmp(), 'eip.json');
    const edited = path.join(tmp(), 'edited.mig');
    const editedPacked = path.join(tmp(), 'edited.migc');
    expect((await migwb('edit', MINIMAL, '--journal', journal, '--set', 'cpu.env.eip=0xfff4')).code).toBe(0);
    expect((await migwb('apply', MINIMAL, journal, '-o', edited)).code).toBe(0);
    expect((await migwb('pack', edited, '-o', editedPacked)).code).toBe(0);

    const { code, diff } = await diffJson(MINIMAL, editedPacked);
    expect(code).toBe(1);
    expect(diff.equal_in_content).toBe(false);
    expect(diff.sections_changed.map((s) => s.name)).toEqual(['cpu:0']);
    const [field] = diff.sections_changed[0].fields;
    expect(field).toMatchObject({ path: 'env.eip', change: 'changed', value_b: '0x000000000000fff4 (65524)' });
    // The same stream offset on both sides; in the container the byte is further on, past chunk headers, and it holds the new value.
    expect(field.offset_b.stream).toBe(field.offset_a.stream);
    expect(field.offset_b.file).toBeGreaterThan(field.offset_a.file!);
    const chunks = JSON.parse((await migwb('chunks', editedPacked, '--json')).out) as { chunks: { key: string; file_offset: number; length: number }[] };
    const cpu = chunks.chunks.find((c) => c.key === 'FULL cpu:0')!;
    expect(field.offset_b.file).toBeGreaterThan(cpu.file_offset);
    expect(field.offset_b.file).toBeLessThan(cpu.file_offset + cpu.length);
    expect(fs.readFileSync(editedPacked).subarray(field.offset_b.file!, field.offset_b.file! + 8).toString('hex')).toBe('000000000000fff4');
    expect(diff.framing.map((f) => f.what)).toEqual(['container', 'wrappers', 'offset space', 'file size']);
  });
});
