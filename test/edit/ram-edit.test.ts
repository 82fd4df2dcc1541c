import { describe, expect, it } from 'vitest';
import { EditSession } from '../../electron/edit/edit-session';
import { PageKind } from '../../shared/formats/qemu-stream/page-index';
import { readGuestPage } from '../../shared/formats/qemu-stream/ram-reader';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged } from '../helpers/evidence';

/** Every byte of guest RAM that differs between the original and the edited image, as "block+offset". */
function changedBytes(s: EditSession): string[] {
  const a = s.image.source;
  const ma = s.image.model;
  const v = s.view;
  const mv = s.model();
  const out: string[] = [];
  ma.ramBlocks.forEach((block, i) => {
    for (let p = 0; p < block.usedLength / ma.pageSize; p++) {
      const x = readGuestPage(a, ma, i, p).bytes;
      const y = readGuestPage(v, mv, i, p).bytes;
      for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) out.push(`${block.id}+${(p * ma.pageSize + k).toString(16)}`);
    }
  });
  return out;
}

function expectedBytes(block: string, offset: number, data: Buffer, original: (k: number) => number): string[] {
  return [...data].flatMap((b, k) => (b !== original(k) ? [`${block}+${(offset + k).toString(16)}`] : []));
}

/** Writes `data` and checks that exactly those bytes of guest RAM changed, with a clean parse. */
function writeAndCheck(image: string, where: { gpa: number } | { block: string; offset: number }, data: Buffer): { summary: string; fixups: string[]; kinds: Record<string, number> } {
  const s = EditSession.open(image);
  try {
    const model = s.image.model;
    const e = 'gpa' in where ? s.apply({ op: 'ram-write', gpa: where.gpa, hex: data.toString('hex') }) : s.apply({ op: 'ram-block-write', ...where, hex: data.toString('hex') });
    const block = model.ramBlocks.findIndex((b) => b.id === e.intent.block);
    const offset = e.intent.offset as number;
    const originalByte = (k: number) => {
      const at = offset + k;
      return readGuestPage(s.image.source, model, block, Math.floor(at / model.pageSize)).bytes[at % model.pageSize];
    };
    expect(s.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(changedBytes(s)).toEqual(expectedBytes(model.ramBlocks[block].id, offset, data, originalByte));
    s.undo();
    expect(s.view.size).toBe(s.image.source.size);
    return { summary: e.summary, fixups: e.fixups, kinds: e.intent.pages as Record<string, number> };
  } finally {
    s.close();
  }
}

const TEXT = Buffer.from('MIGWB-RAM-EDIT-TEST', 'latin1');
const IMAGES = {
  e1000: corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'),
  compress: corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig'),
  xbzrle: corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig'),
  arm: corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig'),
  riscv: corpusPath('qemu', 'riscv64-virt-payload-paused-32M.mig'),
  ignoreShared: corpusPath('qemu', 'x86_64-pc-ignore-shared-paused-16M.mig'),
  mappedRam: corpusPath('qemu10', 'x86_64-pc-mapped-ram-payload-paused-4M.mig'),
  minimal: corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'),
};

describe('guest RAM edits change the record that holds each page, and nothing else', () => {
  expectOriginalsUnchanged(Object.values(IMAGES));

  it('a PAGE record is changed in place; a write across a page boundary touches both pages', () => {
    expect(writeAndCheck(IMAGES.e1000, { gpa: 0x100000 }, TEXT)).toMatchObject({ kinds: { page: 1 }, fixups: [] });
    expect(writeAndCheck(IMAGES.e1000, { gpa: 0x11fff5 }, TEXT)).toMatchObject({ kinds: { page: 2 } });
  });

  it('a ZERO record becomes a full page record framed like it (block id or CONTINUE)', () => {
    const r = writeAndCheck(IMAGES.e1000, { gpa: 0x140000 }, TEXT);
    expect(r.kinds).toEqual({ zero: 1 });
    expect(r.fixups).toEqual(['1 zero record became a full page record, framed as before (block id or CONTINUE), so the records after it are unaffected']);
    // The first record of a block names it; rewriting it keeps the name (the next record continues it).
    expect(writeAndCheck(IMAGES.e1000, { block: '0000:00:02.0/vga.vram', offset: 0 }, TEXT).kinds).toEqual({ zero: 1 });
  });

  it('a compressed page and an XBZRLE-patched page become full pages holding their final content', () => {
    expect(writeAndCheck(IMAGES.compress, { gpa: 0x100000 }, TEXT).kinds).toEqual({ compress: 1 });
    const s = EditSession.open(IMAGES.xbzrle);
    const run = [...s.image.model.pages.runs()].find((r) => r.kind === PageKind.XBZRLE)!;
    s.close();
    const offset = run.firstPage * 4096 + 100;
    expect(writeAndCheck(IMAGES.xbzrle, { block: 'pc.ram', offset }, TEXT).kinds).toEqual({ xbzrle: 1 });
  });

  it('maps guest-physical addresses for pc, arm virt, riscv virt and x-ignore-shared streams; mapped-ram pages change in place', () => {
    expect(writeAndCheck(IMAGES.arm, { gpa: 0x40100000 }, TEXT).summary).toMatch(/at mach-virt.ram\+0x100000 \(GPA 0x40100000\)/);
    expect(writeAndCheck(IMAGES.riscv, { gpa: 0x80140000 }, TEXT).summary).toMatch(/at riscv_virt_board.ram\+0x140000 \(GPA 0x80140000\)/);
    expect(writeAndCheck(IMAGES.ignoreShared, { gpa: 0x5000 }, TEXT).summary).toMatch(/pc.ram\+0x5000/);
    expect(writeAndCheck(IMAGES.mappedRam, { gpa: 0x100000 }, TEXT).kinds).toEqual({ mapped: 1 });
  });

  it('a page the stream never sent gets a new page record before the end of the last RAM section', () => {
    const s = EditSession.open(IMAGES.minimal);
    try {
      // Drop the record of pc.ram page 5 (a 9-byte ZERO record that continues its block), so the page is never sent.
      const model = s.model();
      const run = model.pages.latestRun(0, 5);
      const data = model.pages.dataOffsetIn(run, 5);
      s.apply({ op: 'delete-bytes', offset: data - 8, length: 9 });
      expect(s.model().pages.latestRun(0, 5)).toBe(-1);
      const e = s.apply({ op: 'ram-block-write', block: 'pc.ram', offset: 5 * 4096 + 7, hex: TEXT.toString('hex') });
      expect(e.intent.pages).toEqual({ 'never-sent': 1 });
      expect(e.fixups[0]).toMatch(/^1 page the source never sent got new page records before the end of END ram at 0x/);
      expect(s.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      const page = readGuestPage(s.view, s.model(), 0, 5);
      expect(page.provenance.kind).toBe('page');
      expect(Buffer.from(page.bytes.subarray(7, 7 + TEXT.length)).equals(TEXT)).toBe(true);
      expect(page.bytes.filter((b, k) => b !== 0 && (k < 7 || k >= 7 + TEXT.length))).toHaveLength(0);
    } finally {
      s.close();
    }
  });

  it('refuses addresses it cannot place exactly, and writes past a block', () => {
    const s = EditSession.open(IMAGES.e1000);
    try {
      // The legacy VGA window is MMIO, and a 32 MiB guest has nothing at 1 GiB.
      expect(() => s.apply({ op: 'ram-write', gpa: 0xb8000, hex: '00' })).toThrow(/nothing is mapped at guest-physical 0x000b8000 .*--ram-block BLOCK:OFFSET=HEX \(blocks: pc.ram, /);
      expect(() => s.apply({ op: 'ram-write', gpa: 0x4000_0000, hex: '00' })).toThrow(/nothing is mapped at guest-physical 0x40000000 .*mapped: 0x00000000-0x0009ffff pc.ram/);
      expect(() => s.apply({ op: 'ram-write', gpa: 0x9ffff, hex: '0000' })).toThrow(/crosses the end of pc.ram's mapping at guest-physical 0x000a0000; split it there/);
      expect(() => s.apply({ op: 'ram-block-write', block: 'pc.ram', offset: 0x1fffffe, hex: '000000' })).toThrow(/past the end of RAM block pc.ram \(0x2000000 bytes\)/);
      expect(() => s.apply({ op: 'ram-block-write', block: 'nope', offset: 0, hex: '00' })).toThrow(/no RAM block "nope" in this image \(blocks: pc.ram/);
      expect(() => s.apply({ op: 'ram-write', gpa: 0x1000, hex: 'xyz' })).toThrow(/must be hex bytes/);
      expect(s.entries).toHaveLength(0);
    } finally {
      s.close();
    }
  });
});
