import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeChunk } from '../../shared/formats/chunked/codec';
import { crcOk, type ChunkRecord } from '../../shared/formats/chunked/layer';
import { describeFile } from '../../shared/formats/registry';
import { MemorySource, readBytes } from '../../shared/io/byte-source';
import { EditSession } from '../../electron/edit/edit-session';
import { openImage } from '../../electron/services/open-image';
import { unpackImage } from '../../electron/services/unpack-image';
import { migwb } from '../helpers/cli';
import { packBytes, tempDir, walk } from '../helpers/chunked';
import { corpusPath } from '../helpers/corpus';

/**
 * Damaged containers made here from a packed corpus image, each with the exact diagnostic
 * the reader must give, and every other chunk still read: a flipped bit in one section's
 * chunk, a cut file, an unknown critical chunk, unknown ancillary chunks around an edit
 * (PNG's copy rules), a reserved bit, a damaged length, data after the end, a mangled
 * signature.
 */
const ORIGINAL = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
const PACKED = packBytes(ORIGINAL, { chunkSize: 64 << 10 });
const GOOD = walk(PACKED).layer.chunks;
const work = tempDir('damaged');
afterAll(() => work.remove());

function chunk(key: string): ChunkRecord {
  const c = GOOD.find((x) => x.key === key);
  if (!c) throw new Error(`no chunk ${key}`);
  return c;
}

function save(name: string, bytes: Uint8Array): string {
  const file = path.join(work.dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** The container with `extra` inserted before the chunk `before`. */
function withChunkBefore(before: string, extra: Uint8Array): Buffer {
  const at = chunk(before).offset;
  return Buffer.concat([PACKED.subarray(0, at), extra, PACKED.subarray(at)]);
}

/** Every chunk but those named still reads with the right CRC, in the same order. */
function othersIntact(chunks: ChunkRecord[], except: string[]): void {
  const keys = chunks.filter((c) => !except.includes(c.key)).map((c) => c.key);
  expect(keys).toEqual(GOOD.filter((c) => !except.includes(c.key)).map((c) => c.key).slice(0, keys.length));
  expect(chunks.filter((c) => !except.includes(c.key) && !crcOk(c) && c.storedCrc !== undefined)).toEqual([]);
}

describe('damaged chunked containers', () => {
  it('the reference container reads clean', () => {
    expect(walk(PACKED).diagnostics).toEqual([]);
    expect(GOOD.filter((c) => c.type === 'MORE').length).toBeGreaterThan(2);
  });

  it('a flipped bit in one section: its CRC error names the section and both CRCs, and every other chunk still decodes', async () => {
    const cpu = chunk('FULL cpu:0');
    const damaged = Buffer.from(PACKED);
    damaged[cpu.offset + 8 + 200] ^= 0x10;
    const { layer, diagnostics } = walk(damaged);
    const bad = layer.chunks.find((c) => c.key === 'FULL cpu:0')!;
    expect(diagnostics).toEqual([
      {
        severity: 'error',
        code: 'chunked-crc',
        offset: cpu.offset + 8 + cpu.present,
        length: 4,
        section: 'FULL cpu:0',
        expected: `CRC-32 0x${bad.computedCrc!.toString(16).padStart(8, '0')} (computed over the chunk's type and data)`,
        found: `0x${cpu.storedCrc!.toString(16).padStart(8, '0')} stored`,
        message: `FULL chunk at 0x${cpu.offset.toString(16)} (stream bytes 0x${cpu.stream!.toString(16)}–0x${(cpu.stream! + cpu.present).toString(16)}) is damaged: its CRC does not match`,
        hint: expect.stringContaining('every other chunk is unaffected'),
      },
    ]);
    othersIntact(layer.chunks, ['FULL cpu:0']);
    // The stream still reads whole: every section, the flipped byte inside cpu.
    const file = save('flip.migc', damaged);
    const img = openImage(file);
    try {
      expect(img.model.elements.filter((e) => e.type === 'FULL').length).toBe(33);
      expect(img.source.size).toBe(ORIGINAL.length);
      const stream = Buffer.from(readBytes(img.source, 0, img.source.size));
      expect(stream.compare(ORIGINAL)).not.toBe(0);
      expect(stream[cpu.stream! + 200] ^ ORIGINAL[cpu.stream! + 200]).toBe(0x10);
    } finally {
      img.close();
    }
    const v = await migwb('validate', file);
    expect(v.code).toBe(1);
    expect(v.out).toContain(`FULL chunk at 0x${cpu.offset.toString(16)}`);
    // unpack refuses: nothing is written; --force writes the damaged stream as it is.
    const out = path.join(work.dir, 'flip.mig');
    const refused = await unpackImage(file, out);
    expect(refused.stoppedBy?.code).toBe('chunked-crc');
    expect(refused.written).toBe(false);
    expect(fs.existsSync(out)).toBe(false);
    const forced = await unpackImage(file, out, { force: true });
    expect(forced.written).toBe(true);
    expect(fs.readFileSync(out).length).toBe(ORIGINAL.length);
    const chunks = await migwb('chunks', file);
    expect(chunks.code).toBe(1);
    expect(chunks.out).toMatch(/FULL .* WRONG \(computed 0x[0-9a-f]{8}\)\s+FULL cpu:0/);
  });

  it('a cut file: the chunk the cut runs through and the missing end are reported; everything before reads', () => {
    const ram = GOOD.find((c) => c.key === 'PART ram 0 +2')!;
    const cutAt = ram.offset + 8 + 1000;
    const { layer, diagnostics } = walk(PACKED.subarray(0, cutAt));
    expect(diagnostics.map((d) => [d.severity, d.code, d.offset])).toEqual([
      ['error', 'chunked-cut-chunk', ram.offset],
      ['error', 'chunked-end-missing', cutAt - 1],
    ]);
    expect(diagnostics[0].message).toBe(`The file is cut inside MORE chunk at 0x${ram.offset.toString(16)}: its length runs past the end`);
    expect(diagnostics[0].found).toBe(`the file ends at 0x${cutAt.toString(16)}, 1000 bytes into the data`);
    const last = layer.chunks[layer.chunks.length - 1];
    expect([last.key, last.present, last.storedCrc]).toEqual(['PART ram 0 +2', 1000, undefined]);
    othersIntact(layer.chunks.slice(0, -1), []);
    // The stream is the original up to the cut; the QEMU reader says where it ends.
    const img = openImage(save('cut.migc', PACKED.subarray(0, cutAt)));
    try {
      expect(img.source.size).toBe(ram.stream! + 1000);
      expect(Buffer.from(readBytes(img.source, 0, img.source.size)).equals(ORIGINAL.subarray(0, ram.stream! + 1000))).toBe(true);
      expect(img.model.diagnostics.some((d) => d.code === 'truncated')).toBe(true);
    } finally {
      img.close();
    }
  });

  it('an unknown critical chunk: "cannot be loaded", never skipped; unpack refuses to write the stream', async () => {
    const conf = chunk('STRT ram');
    const damaged = withChunkBefore('STRT ram', encodeChunk('QXTR', Uint8Array.of(1, 2, 3)));
    const { layer, diagnostics } = walk(damaged);
    expect(diagnostics.map((d) => [d.severity, d.code, d.offset, d.message])).toEqual([['error', 'chunked-unknown-critical', conf.offset, `cannot be loaded: unknown critical chunk QXTR at 0x${conf.offset.toString(16)}`]]);
    expect(layer.chunks.find((c) => c.type === 'QXTR')?.stream).toBeUndefined();
    othersIntact(layer.chunks, [`QXTR @0x${conf.offset.toString(16)}`]);
    const file = save('critical.migc', damaged);
    // The workbench still opens it (to look at), with the stream the known chunks hold.
    const img = openImage(file);
    expect(Buffer.from(readBytes(img.source, 0, img.source.size)).equals(ORIGINAL)).toBe(true);
    img.close();
    const out = path.join(work.dir, 'critical.mig');
    const refused = await unpackImage(file, out);
    expect(refused.stoppedBy?.message).toBe(`cannot be loaded: unknown critical chunk QXTR at 0x${conf.offset.toString(16)}`);
    expect(fs.existsSync(out)).toBe(false);
    expect((await unpackImage(file, out, { force: true })).written).toBe(true);
    expect(fs.readFileSync(out).equals(ORIGINAL)).toBe(true);
  });

  it("unknown ancillary chunks around an edit: the unsafe-to-copy one is dropped when the stream changes (and the tool says so), the safe one kept", async () => {
    const unsafe = encodeChunk('xyZZ', Buffer.from('depends on the stream'));
    const safe = encodeChunk('xyZz', Buffer.from('stays true'));
    const file = save('ancillary.migc', withChunkBefore('FULL apic:0', Buffer.concat([unsafe, safe])));
    const { diagnostics } = walk(fs.readFileSync(file));
    expect(diagnostics.map((d) => [d.severity, d.code])).toEqual([
      ['info', 'chunked-private-chunk'],
      ['info', 'chunked-private-chunk'],
    ]);
    const at = chunk('FULL apic:0').offset;

    // An edit of notes only: the stream is unchanged, both are kept.
    const noteOnly = EditSession.open(file);
    try {
      noteOnly.apply({ op: 'set-note', about: 'FULL cpu:0', text: 'checked RIP by hand' });
      const saved = await noteOnly.save(path.join(work.dir, 'note-only.migc'));
      expect(saved.notes).toEqual([]);
      const types = walk(fs.readFileSync(saved.path)).layer.chunks.map((c) => c.type);
      expect(types).toContain('xyZZ');
      expect(types).toContain('xyZz');
    } finally {
      noteOnly.close();
    }

    // An edit of critical content: xyZZ is dropped, and the save says so.
    const edit = EditSession.open(file);
    try {
      edit.apply({ op: 'set-field', field: 'cpu.env.regs[0]', value: '0x1122334455667788' });
      const saved = await edit.save(path.join(work.dir, 'edited.migc'));
      expect(saved.notes).toContain(`the unknown ancillary chunk xyZZ at 0x${at.toString(16)} (21 bytes) was dropped: it is not safe to copy and the stream changed`);
      const { layer, diagnostics: after } = walk(fs.readFileSync(saved.path));
      expect(layer.chunks.map((c) => c.type)).not.toContain('xyZZ');
      expect(layer.chunks.find((c) => c.type === 'xyZz')).toBeDefined();
      expect(after.filter((d) => d.severity !== 'info')).toEqual([]);
      // Only the edited section's chunk is new: every other stream chunk is the original's, CRC and all.
      const before = new Map(GOOD.map((c) => [c.key, c.storedCrc]));
      const changed = layer.chunks.filter((c) => c.stream !== undefined && before.get(c.key) !== c.storedCrc).map((c) => c.key);
      expect(changed).toEqual(['FULL cpu:0']);
    } finally {
      edit.close();
    }
  });

  it('a reserved bit set, a damaged length (the walk resumes at the next intact chunk), data after the end', () => {
    const reserved = walk(withChunkBefore('QEOF', encodeChunk('xyzZ', Uint8Array.of(0))));
    expect(reserved.diagnostics.map((d) => [d.code, d.offset])).toEqual([
      ['chunked-reserved-bit', chunk('QEOF').offset + 6],
      ['chunked-private-chunk', chunk('QEOF').offset],
    ]);

    const apic = chunk('FULL apic:0');
    const lengthHit = Buffer.from(PACKED);
    lengthHit.writeUInt32BE(0x9000_0000, apic.offset);
    const resumed = walk(lengthHit);
    expect(resumed.diagnostics.map((d) => [d.severity, d.code, d.offset])).toEqual([['error', 'chunked-bad-length', apic.offset]]);
    expect(resumed.diagnostics[0].hint).toBe(`Reading resumed at the next intact chunk, at 0x${(apic.offset + 8 + apic.present + 4).toString(16)} (${8 + apic.present + 4} bytes later).`);
    othersIntact(resumed.layer.chunks, ['FULL apic:0']);
    expect(resumed.layer.chunks.length).toBe(GOOD.length - 1);

    const after = walk(Buffer.concat([PACKED, Buffer.from('junk')]));
    expect(after.diagnostics.map((d) => [d.severity, d.code, d.offset, d.length])).toEqual([['warning', 'chunked-after-end', PACKED.length, 4]]);
  });

  it('ordering rules: the header first, one header, no stream chunk past the stream\'s end, MORE only after a stream chunk', () => {
    const bytesOf = (c: ChunkRecord) => PACKED.subarray(c.offset, c.offset + 8 + c.present + 4);
    const header = GOOD[0];
    const afterHeader = header.offset + bytesOf(header).length;
    // The header moved behind the stream's first chunk.
    const qevm = chunk('QEVM');
    const swapped = Buffer.concat([PACKED.subarray(0, 8), bytesOf(qevm), bytesOf(header), PACKED.subarray(afterHeader + bytesOf(qevm).length)]);
    expect(walk(swapped).diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.offset])).toEqual([['chunked-header-not-first', 8]]);
    // A second header before the end.
    const twice = walk(withChunkBefore('MEND', bytesOf(header)));
    expect(twice.diagnostics.map((d) => [d.severity, d.code, d.offset])).toEqual([['error', 'chunked-duplicate', chunk('MEND').offset]]);
    // A device section's chunk again after the vmdesc, past the stream's end.
    const late = walk(withChunkBefore('MEND', bytesOf(chunk('FULL apic:0'))));
    expect(late.diagnostics.filter((d) => d.code === 'chunked-order').map((d) => [d.severity, d.offset])).toEqual([['error', chunk('MEND').offset]]);
    // A MORE chunk right after the header continues nothing.
    const orphan = walk(withChunkBefore('QEVM', encodeChunk('MORE', Uint8Array.of(0))));
    expect(orphan.diagnostics.map((d) => d.code)).toContain('chunked-orphan-continuation');
    othersIntact(twice.layer.chunks, ['MHDR']);
    othersIntact(late.layer.chunks, ['FULL apic:0']);
    // (The orphan has no element to be named after: its key is its continuation number alone.)
    othersIntact(orphan.layer.chunks, [orphan.layer.chunks[1].key]);
  });

  it('a signature mangled by a text-mode transfer is recognised and explained', () => {
    const crlfToLf = Buffer.concat([Buffer.from([0x8f, 0x4d, 0x49, 0x47, 0x0a, 0x1a, 0x0a]), PACKED.subarray(8)]);
    const described = describeFile(new MemorySource(crlfToLf));
    expect(described).toEqual({ refusal: expect.stringContaining('went through a text-mode transfer') });
  });
});
