import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hex, type Diagnostic } from '../../shared/diagnostics';
import { MemorySource } from '../../shared/io/byte-source';
import { SECTION_TYPE_NAMES } from '../../shared/formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../../shared/formats/qemu-stream/model';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { tempFolder } from '../helpers/evidence';

/**
 * Damage made here, in copies of corpus images, at the places the corpus samples do not
 * cover: every type byte QEMU does not know (and the known ones that do not fit), section
 * footers missing, wrong and moved, section ids that name the wrong section. Each case
 * expects the exact diagnostics: code and offset, and what was expected and found.
 */
const WITH_VMDESC = fs.readFileSync(corpusPath('qemu', 'x86_64-q35-minimal-running-32M.mig')); // vmdesc, footers
const NO_VMDESC = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig')); // footers only
const NO_FOOTERS = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.mig')); // vmdesc only
const QEMU10 = fs.readFileSync(corpusPath('qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig')); // has a COMMAND element

const parse = (bytes: Uint8Array): QemuStreamModel => parseQemuStream(new MemorySource(bytes));
/** Errors and warnings as "code@offset": what a user sees, without the notes. */
const problems = (m: QemuStreamModel) => m.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.code}@${hex(d.offset)}`);
const only = (m: QemuStreamModel, code: string): Diagnostic => {
  const found = m.diagnostics.filter((d) => d.code === code);
  expect(found, code).toHaveLength(1);
  return found[0];
};
const layout = (m: QemuStreamModel) => m.elements.map((e) => `${e.offset}:${e.type}:${e.length}`);
const extents = (m: QemuStreamModel) => m.elements.map((e) => `${e.offset}:${e.length}`);

function element(bytes: Uint8Array, type: string, idstr?: string): StreamElement {
  return parse(bytes).elements.find((e) => e.type === type && (idstr === undefined || e.idstr === idstr))!;
}

function withByte(bytes: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = value;
  return copy;
}

function withBe32(bytes: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt32BE(value >>> 0, at);
  return copy;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

describe('every type byte in place of a FULL section header, a QEMU_VM_EOF and a QEMU_VM_COMMAND', () => {
  /**
   * What the parser must say when the type byte of `e` (true type t) reads b: a byte one or
   * two bits from t is a damaged type byte (the element is then read as t); END, the one valid
   * type further away, is read as END and its section id is refused; any other byte is unknown.
   */
  function expected(b: number, e: StreamElement, size: number): string[] {
    const t = e.typeCode;
    if (popcount(b ^ t) <= 2) return [`damaged-section-type@${hex(e.offset)}`];
    if (b === 0x03) return [`unknown-section-id@${hex(e.offset + 1)}`];
    // After QEMU_VM_EOF only the vmdesc follows: nothing to resume at, and no end marker.
    if (e.type === 'EOF') return [`unknown-section-type@${hex(e.offset)}`, `no-resync@${hex(e.offset)}`, `missing-eof@${hex(size - 1)}`];
    return [`unknown-section-type@${hex(e.offset)}`];
  }

  const cases: [string, Buffer, string, string?][] = [
    ['FULL timer (vmdesc and footers)', WITH_VMDESC, 'FULL', 'timer'],
    ['FULL timer (no vmdesc: only the footers delimit)', NO_VMDESC, 'FULL', 'timer'],
    ['FULL timer (no footers: only the vmdesc delimits)', NO_FOOTERS, 'FULL', 'timer'],
    ['QEMU_VM_EOF before the vmdesc', WITH_VMDESC, 'EOF'],
    ['QEMU_VM_COMMAND SWITCHOVER_START (QEMU 10)', QEMU10, 'COMMAND'],
  ];
  for (const [name, bytes, type, idstr] of cases) {
    it(`${name}: 0x00-0xff`, () => {
      const e = element(bytes, type, idstr);
      const intact = parse(bytes);
      expect(problems(intact)).toEqual([]);
      const got: string[] = [];
      const want: string[] = [];
      for (let b = 0; b < 256; b++) {
        if (b === e.typeCode) continue;
        // Without a vmdesc nothing says the section is a device's: 0x01 is a valid START (QEMU loads a
        // START like a FULL), and bytes nearer START than FULL read as a damaged START.
        const guessable = idstr !== undefined && bytes === NO_VMDESC;
        const start = guessable && popcount(b ^ 0x04) > 2 && popcount(b ^ 0x01) <= 2;
        const m = parse(withByte(bytes, e.offset, b));
        got.push(`${hex(b, 2)}: ${problems(m).join(' ')}`);
        want.push(`${hex(b, 2)}: ${guessable && b === 0x01 ? '' : start ? `damaged-section-type@${hex(e.offset)}` : expected(b, e, bytes.length).join(' ')}`);
        const damaged = m.diagnostics.find((d) => d.code === 'damaged-section-type');
        if (damaged) {
          // Read as the type it was: every element where it is in the intact image.
          const as = start ? 0x01 : e.typeCode;
          expect([damaged.expected, damaged.found]).toEqual([`section type ${hex(as, 2)} (${SECTION_TYPE_NAMES[as]})`, hex(b, 2)]);
          expect(start ? extents(m) : layout(m)).toEqual(start ? extents(intact) : layout(intact));
          // The element keeps the byte it was read from, so repair can see it is damaged.
          expect(m.elements.find((x) => x.offset === e.offset)!.typeCode).toBe(b);
        }
        const unknown = m.diagnostics.find((d) => d.code === 'unknown-section-type');
        if (unknown) expect([unknown.expected, unknown.found]).toEqual(['a section type (0x00-0x04, 0x08)', `byte ${hex(b, 2)}`]);
      }
      expect(got).toEqual(want);
    });
  }

  it('QEMU_VM_VMDESCRIPTION (0x06) in place of a FULL header is damage, not the vmdesc: the section is read as FULL', () => {
    // The case behind issue 20: read as something else, 31 of the 38 elements went missing.
    const e = element(WITH_VMDESC, 'FULL', 'timer');
    const m = parse(withByte(WITH_VMDESC, e.offset, 0x06));
    expect(only(m, 'damaged-section-type')).toMatchObject({ severity: 'error', offset: e.offset, expected: 'section type 0x04 (FULL)', found: '0x06' });
    expect(m.elements).toHaveLength(parse(WITH_VMDESC).elements.length);
  });
});

describe('section footers missing, wrong and moved', () => {
  // cpu: section id 5, a footer after 1873-1904 bytes of state.
  for (const [name, bytes, delimited] of [
    ['with a vmdesc', WITH_VMDESC, 'vmdesc'],
    ['without a vmdesc', NO_VMDESC, 'footer-scan'],
  ] as const) {
    describe(name, () => {
      const cpu = element(bytes, 'FULL', 'cpu');
      const f = cpu.footerOffset!;
      const intact = parse(bytes);

      it('the footer marker byte damaged (the section id intact): footer-missing at the marker, the section still ends there', () => {
        expect(cpu.sectionId).toBe(5);
        for (const marker of [0x00, 0x7f, 0xfe, 0x3e]) {
          const m = parse(withByte(bytes, f, marker));
          expect(problems(m), hex(marker)).toEqual([`footer-missing@${hex(f)}`]);
          expect(only(m, 'footer-missing')).toMatchObject({ expected: 'section footer 7e 0x00000005', found: `${hex(marker, 2)} 0x00000005: the section id after a damaged marker byte` });
          expect(layout(m)).toEqual(layout(intact));
          expect(m.elements.find((e) => e.idstr === 'cpu')).toMatchObject({ footerOffset: f, delimitedBy: delimited, damaged: true });
        }
      });

      it('the footer carries another section id, lower or higher: footer-mismatch at its id', () => {
        for (const id of [4, 6, 0, 0x80000005, 0xffffffff]) {
          const m = parse(withBe32(bytes, f + 1, id));
          expect(problems(m), hex(id)).toEqual([`footer-mismatch@${hex(f + 1)}`]);
          expect(only(m, 'footer-mismatch')).toMatchObject({ expected: 'section id 5', found: `section id ${id}` });
          expect(layout(m)).toEqual(layout(intact));
        }
      });

      it('the footer removed: footer-missing where the next section now starts', () => {
        const m = parse(Buffer.concat([bytes.subarray(0, f), bytes.subarray(f + 5)]));
        const expectedProblems = name === 'with a vmdesc' ? [`footer-missing@${hex(f)}`] : [`section-delimited-heuristically@${hex(cpu.payloadOffset!)}`, `footer-missing@${hex(f)}`];
        expect(problems(m)).toEqual(expectedProblems);
        expect(only(m, 'footer-missing')).toMatchObject({ expected: 'section footer 7e 0x00000005', found: 'byte 0x04' });
        expect(m.elements.find((e) => e.idstr === 'cpu')).toMatchObject({ offset: cpu.offset, length: cpu.length - 5 });
        expect(layout(m).length).toBe(layout(intact).length);
      });
    });
  }

  it("the stream's first footer (START ram's) damaged: the stream still has footers, and only that footer is reported", () => {
    // The first footer decides whether the stream has footers at all.
    for (const bytes of [WITH_VMDESC, NO_VMDESC]) {
      const ram = element(bytes, 'START', 'ram');
      const f = ram.footerOffset!;
      const intact = parse(bytes);
      expect(f).toBe(ram.offset + ram.length - 5);
      const marker = parse(withByte(bytes, f, 0x7f));
      expect(problems(marker)).toEqual([`footer-missing@${hex(f)}`]);
      expect(marker.sectionFooters).toBe(true);
      expect(layout(marker)).toEqual(layout(intact));
      const wrongId = parse(withBe32(bytes, f + 1, ram.sectionId! + 1000));
      expect(problems(wrongId)).toEqual([`footer-mismatch@${hex(f + 1)}`]);
      expect(wrongId.sectionFooters).toBe(true);
      expect(layout(wrongId)).toEqual(layout(intact));
    }
  });

  describe('moved away from where the vmdesc puts it', () => {
    const cpu = element(WITH_VMDESC, 'FULL', 'cpu');
    const f = cpu.footerOffset!;

    it('later, behind inserted bytes (even ones that look like another footer): the vmdesc does not match, the footer scan finds it', () => {
      for (const inserted of [Buffer.of(0xaa), Buffer.of(0x7e, 0, 0, 0, 4), Buffer.of(0x7e, 0, 0, 0)]) {
        const m = parse(Buffer.concat([WITH_VMDESC.subarray(0, f), inserted, WITH_VMDESC.subarray(f)]));
        expect(problems(m), inserted.toString('hex')).toEqual([`vmdesc-size-mismatch@${hex(cpu.payloadOffset!)}`]);
        expect(only(m, 'vmdesc-size-mismatch').found).toBe(`the ${f - cpu.payloadOffset!} bytes the vmdesc describes are not followed by the section footer`);
        expect(m.elements.find((e) => e.idstr === 'cpu')).toMatchObject({ footerOffset: f + inserted.length, delimitedBy: 'footer-scan', length: cpu.length + inserted.length });
      }
    });

    it('earlier, before the last byte of the section: five wrong bytes where the vmdesc puts the footer', () => {
      const moved = Buffer.concat([WITH_VMDESC.subarray(0, f - 1), WITH_VMDESC.subarray(f, f + 5), WITH_VMDESC.subarray(f - 1, f), WITH_VMDESC.subarray(f + 5)]);
      const m = parse(moved);
      expect(problems(m)).toEqual([`footer-missing@${hex(f)}`]);
      expect(only(m, 'footer-missing').found).toBe(`${[...moved.subarray(f, f + 5)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}, then the next element`);
      expect(layout(m)).toEqual(layout(parse(WITH_VMDESC)));
    });
  });

  it('migwb repair gives back the original byte for byte: marker restored, id restored, a missing footer written where the vmdesc ends the section', async () => {
    const folder = tempFolder('migwb-made-damage-repair-')();
    const cases: [string, Buffer, (bytes: Buffer, f: number) => Buffer][] = [
      ['marker', WITH_VMDESC, (bytes, f) => withByte(bytes, f, 0x7f)],
      ['id', WITH_VMDESC, (bytes, f) => withBe32(bytes, f + 1, 4)],
      ['removed', WITH_VMDESC, (bytes, f) => Buffer.concat([bytes.subarray(0, f), bytes.subarray(f + 5)])],
      ['marker-no-vmdesc', NO_VMDESC, (bytes, f) => withByte(bytes, f, 0x00)],
      ['id-no-vmdesc', NO_VMDESC, (bytes, f) => withBe32(bytes, f + 1, 0x80000005)],
    ];
    for (const [name, bytes, damage] of cases) {
      const damaged = path.join(folder, `${name}.mig`);
      fs.writeFileSync(damaged, damage(bytes, element(bytes, 'FULL', 'cpu').footerOffset!));
      const r = await migwb('repair', damaged, '-o', `${damaged}.repaired`);
      expect(r.code, `${name}: ${r.err}`).toBe(0);
      expect(r.out).toMatch(/(restored the footer|wrote the missing footer) .*cpu/);
      expect(fs.readFileSync(`${damaged}.repaired`).equals(bytes), name).toBe(true);
    }
  });

  it('migwb validate on a copy with a wrong footer id: exit 1, the error at the footer', async () => {
    const cpu = element(WITH_VMDESC, 'FULL', 'cpu');
    const copy = path.join(tempFolder('migwb-made-damage-')(), 'wrong-footer.mig');
    fs.writeFileSync(copy, withBe32(WITH_VMDESC, cpu.footerOffset! + 1, 4));
    const r = await migwb('validate', copy, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).diagnostics).toEqual([expect.objectContaining({ severity: 'error', code: 'footer-mismatch', offset: cpu.footerOffset! + 1, expected: 'section id 5', found: 'section id 4' })]);
  });
});

describe('section ids that name the wrong section', () => {
  it("a device section's header id changed to the next section's: the footer no longer matches (QEMU: Mismatched section id in footer)", () => {
    for (const bytes of [WITH_VMDESC, NO_VMDESC]) {
      const cpu = element(bytes, 'FULL', 'cpu');
      const m = parse(withBe32(bytes, cpu.offset + 1, 6));
      expect(problems(m)).toEqual([`footer-mismatch@${hex(cpu.footerOffset! + 1)}`]);
      expect(only(m, 'footer-mismatch')).toMatchObject({ expected: 'section id 6', found: 'section id 5' });
      // The next section (id 6 too) is still read on its own, not swallowed by the search for a footer with id 6.
      expect(layout(m)).toEqual(layout(parse(bytes)));
    }
  });

  it('END ram with the id of a device section or of no section: unknown-section-id at its id', () => {
    const end = element(WITH_VMDESC, 'END');
    for (const id of [0, 5, 7, 0xffff]) {
      const m = parse(withBe32(WITH_VMDESC, end.offset + 1, id));
      expect(problems(m), `${id}`).toEqual([`unknown-section-id@${hex(end.offset + 1)}`]);
      expect(only(m, 'unknown-section-id')).toMatchObject({ expected: 'the id of a section opened by START (2)', found: `section id ${id}` });
    }
  });

  it('PART ram with the id of a device section: unknown-section-id at its id first', () => {
    const part = element(WITH_VMDESC, 'PART');
    const m = parse(withBe32(WITH_VMDESC, part.offset + 1, 0));
    expect(problems(m)[0]).toBe(`unknown-section-id@${hex(part.offset + 1)}`);
  });

  it('two device sections swapped, so their ids are out of order and unlike the vmdesc order: valid, as QEMU finds sections by name', () => {
    const m0 = parse(WITH_VMDESC);
    const [a, b] = m0.elements.filter((e) => e.type === 'FULL').slice(3, 5);
    const swapped = Buffer.concat([WITH_VMDESC.subarray(0, a.offset), WITH_VMDESC.subarray(b.offset, b.offset + b.length), WITH_VMDESC.subarray(a.offset, a.offset + a.length), WITH_VMDESC.subarray(b.offset + b.length)]);
    const m = parse(swapped);
    expect(problems(m)).toEqual([]);
    const fulls = m.elements.filter((e) => e.type === 'FULL');
    expect(fulls.slice(3, 5).map((e) => [e.idstr, e.sectionId])).toEqual([
      [b.idstr, b.sectionId],
      [a.idstr, a.sectionId],
    ]);
    // Each is still described by its own vmdesc entry.
    for (const e of fulls) expect([e.delimitedBy, m.vmdesc!.devices[e.deviceIndex!].name]).toEqual(['vmdesc', e.idstr]);
  });
});
