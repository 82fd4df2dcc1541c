import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGuestMemory } from '../../electron/memory/read-memory';
import { layoutOf } from '../../electron/memory/guest-view';
import { searchImages } from '../../electron/memory/search';
import { openImage, openImageAsync } from '../../electron/services/open-image';
import { extractRam } from '../../electron/memory/extract';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf, qemuCorpusImages } from '../helpers/corpus';
import { toolRuns } from '../helpers/tools';
import type { RamBlockReport, SearchResult } from '../helpers/wire';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-memory-'));
process.env.MIGWB_CACHE_DIR = path.join(work, 'cache');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const XBZRLE = corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig');
const MARKER = 'MIGIMG-FORENSIC-MARKER';
const payloadImages = qemuCorpusImages().filter((f) => metaOf(f).planted_payload?.marker_guest_phys_addrs);

describe('planted payloads are found where meta.json says', () => {
  for (const image of payloadImages) {
    const p = metaOf(image).planted_payload!;
    it(path.relative(corpusPath(), image), async () => {
      const [result] = await searchImages([image], { string: MARKER });
      expect(result.hits.map((h) => h.gpa)).toEqual(p.marker_guest_phys_addrs.map(Number));
      expect(result.hits.map((h) => h.blockOffset)).toEqual(p.marker_offsets_in_payload.map((o: string) => Number(p.ramblock_offset) + Number(o)));
      expect(new Set(result.hits.map((h) => h.block))).toEqual(new Set([p.ramblock]));
      // The payload reads back whole at its guest-physical address.
      const img = openImage(image);
      const { bytes, origins } = readGuestMemory(img, { gpa: Number(p.guest_phys_addr) }, p.size, layoutOf(img));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
      // Its zero pages read as zeros, and say which record gave them (zero records unless
      // zero-page detection was off or pages were compressed).
      const [from, to] = p.zero_pages_in_payload.map(Number);
      expect(bytes.subarray(from, to).every((b) => b === 0)).toBe(true);
      const kinds = new Set(origins.filter((o) => o.gpa! >= Number(p.guest_phys_addr) + from && o.gpa! < Number(p.guest_phys_addr) + to).map((o) => o.kind));
      expect([...kinds].every((k) => ['zero', 'page', 'compress', 'mapped', 'never-sent'].includes(k))).toBe(true);
      img.close();
    });
  }
});

describe('migwb search', () => {
  it('reports gpa, block offset, record kind and the file offset that holds the bytes', async () => {
    const r = JSON.parse((await migwb('search', E1000, '--string', MARKER, '--json')).out);
    const file = fs.readFileSync(E1000);
    for (const hit of r.results[0].hits) {
      expect(hit.kind).toBe('page');
      expect(hit.offset_space).toBe('file');
      // The first matched byte is in the file at file_offset (the rest may be in the next page record).
      expect(file[hit.file_offset]).toBe(MARKER.charCodeAt(0));
    }
    const crossing = (r.results as SearchResult[])[0].hits.find((h) => h.gpa === 0x11fff5)!;
    expect(file.subarray(crossing.file_offset, crossing.file_offset + 11).toString()).toBe(MARKER.slice(0, 11));
  });

  it('--hex, --regex and --gpa-range', async () => {
    const hex = JSON.parse((await migwb('search', E1000, '--hex', Buffer.from(MARKER).toString('hex'), '--json')).out);
    expect(hex.results[0].hits).toHaveLength(5);
    const re = JSON.parse((await migwb('search', E1000, '--regex', 'MIGIMG-[A-Z]+-MARKER', '--gpa-range', '0x101000-0x17ffff', '--json')).out);
    expect((re.results as SearchResult[])[0].hits.map((h) => h.gpa)).toEqual([0x101234, 0x11fff5]);
    const none = await migwb('search', E1000, '--string', 'not in this guest at all');
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/0 hits/);
  });

  it('a pattern of zero bytes is found in zero and never-sent pages too', async () => {
    const r = JSON.parse((await migwb('search', E1000, '--hex', '00000000', '--gpa-range', '0x140000-0x140fff', '--max-hits', '3', '--json')).out);
    expect(r.results[0].hits).toHaveLength(3);
    expect(r.results[0].truncated).toBe(true);
    expect(r.results[0].hits[0]).toMatchObject({ gpa: 0x140000, kind: 'zero' });
  });

  it('across several images, containers included (libvirt gzip, qcow2)', async () => {
    const images = [corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav'), corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'), E1000];
    const r = JSON.parse((await migwb('search', ...images, '--string', MARKER, '--json')).out);
    expect(r.results.map((x: SearchResult) => x.hits.length)).toEqual([0, 5, 5]);
    const qcow2Hit = r.results[1].hits[0];
    expect(qcow2Hit).toMatchObject({ gpa: 0x100000, offset_space: 'vmstate' });
    const file = fs.readFileSync(images[1]);
    expect(file.subarray(qcow2Hit.file_offset, qcow2Hit.file_offset + MARKER.length).toString()).toBe(MARKER);
  });

  it('across every indexed image of a library (--db); a vanished image is reported, the rest searched', async () => {
    const db = path.join(work, 'search-library.sqlite');
    const gone = path.join(work, 'vanishes.mig');
    fs.copyFileSync(E1000, gone);
    const indexed = await migwb('index', E1000, corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'), gone, '--db', db, '--json');
    expect(indexed.code).toBe(0);
    fs.rmSync(gone);
    const r = await migwb('search', '--db', db, '--string', MARKER, '--json');
    expect(r.code).toBe(0);
    const byImage = Object.fromEntries(JSON.parse(r.out).results.map((x: SearchResult) => [x.image, x]));
    expect(Object.keys(byImage).sort()).toEqual([E1000, corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'), gone].sort());
    expect(byImage[E1000].hits).toHaveLength(5);
    expect(byImage[gone].error).toMatch(/does not exist/);
    const none = await migwb('search', '--db', path.join(work, 'no-such.sqlite'), '--string', MARKER);
    expect(none.code).not.toBe(0);
    expect(none.err).toMatch(/no-such\.sqlite/);
  });
});

describe('migwb read', () => {
  it('prints a hex dump with where each page came from', async () => {
    const r = await migwb('read', E1000, '--gpa', '0x11fff5', '--length', '22');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/# gpa 0x0011fff5 = pc\.ram\+0x0011fff5 \(11 bytes\): page, file offset 0x[0-9a-f]{8}/);
    expect(r.out).toMatch(/0x0011fff5 {2}4d 49 47 49 4d 47 2d 46 4f 52 45 4e 53 49 43 2d {2}MIGIMG-FORENSIC-/);
    const j = JSON.parse((await migwb('read', E1000, '--block', 'pc.bios', '--offset', '0x3fff0', '--length', '16', '--json')).out);
    expect(j.origins[0]).toMatchObject({ block: 'pc.bios', block_offset: 0x3fff0, kind: 'page' });
  });

  it('one-line errors for unmapped addresses and bad arguments', async () => {
    expect((await migwb('read', E1000, '--gpa', '0xa0000', '--length', '16')).err).toMatch(/nothing is mapped at guest-physical 0x000a0000/);
    expect((await migwb('read', E1000, '--length', '16')).err).toMatch(/give either --gpa ADDRESS or --block NAME/);
    expect((await migwb('read', E1000, '--gpa', 'zz', '--length', '16')).err).toMatch(/--gpa "zz" is not an address/);
    expect((await migwb('read', E1000, '--block', 'nope', '--length', '1')).err).toMatch(/no RAM block named nope/);
  });
});

describe('migwb ram and extract-ram', () => {
  it('ram: placement and final page facts per block', async () => {
    const r = JSON.parse((await migwb('ram', XBZRLE, '--json')).out);
    const ram = (r.blocks as RamBlockReport[]).find((b) => b.id === 'pc.ram')!;
    expect(ram.gpa_ranges.map((g) => [g.gpa, g.size])).toEqual([
      [0, 0xa0000],
      [0xc0000, 0x28000],
      [0xe8000, 0x8000],
      [0xf0000, 0x10000],
      [0x100000, 0x1f00000],
    ]);
    expect(ram.final_pages.xbzrle).toBeGreaterThan(0);
    expect(ram.records.xbzrle).toBeGreaterThanOrEqual(ram.final_pages.xbzrle);
    expect(Object.values(ram.final_pages).reduce((a, b) => a + b, 0)).toBe(ram.pages);
    expect((r.blocks as RamBlockReport[]).find((b) => b.id === '/rom@etc/acpi/tables')!.unmapped_reason).toMatch(/fw_cfg/);
  });

  it('extract-ram writes sparse block files and a page map', async () => {
    const out = path.join(work, 'blocks');
    const r = await migwb('extract-ram', E1000, '--out', out);
    expect(r.code).toBe(0);
    const ram = fs.statSync(path.join(out, 'pc.ram.raw'));
    expect(ram.size).toBe(32 << 20);
    expect(ram.blocks * 512).toBeLessThan(4 << 20); // zero pages are holes, not written
    const map = JSON.parse(fs.readFileSync(path.join(out, 'ram-map.json'), 'utf8'));
    const block = (map.blocks as RamBlockReport[]).find((b) => b.id === 'pc.ram')!;
    expect(block.pages).toMatchObject({ page: 252, zero: 7940, 'never-sent': 0 });
    // The payload's zero pages [0x40000, 0x44000) are zero records; its 0xaa page right after is data.
    expect(block.extents.find((e) => e.gpa === 0x140000)).toMatchObject({ kind: 'zero', pages: 4 });
    expect(block.extents.find((e) => e.gpa === 0x144000)).toMatchObject({ kind: 'page' });
    const p = metaOf(E1000).planted_payload!;
    const bytes = fs.readFileSync(path.join(out, 'pc.ram.raw')).subarray(0x100000, 0x200000);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
    expect((await migwb('extract-ram', E1000, '--out', out)).err).toMatch(/already exists; choose another --out folder or pass --force/);
  });

  it.skipIf(!toolRuns('readelf'))('--format elf: an ELF core readelf accepts, PT_LOADs at guest-physical addresses (skipped without binutils)', async () => {
    const out = path.join(work, 'elf');
    expect((await migwb('extract-ram', E1000, '--out', out, '--layout', 'physical', '--format', 'elf')).code).toBe(0);
    const text = execFileSync('readelf', ['-h', '-l', '-W', path.join(out, 'memory.elf')], { encoding: 'utf8' });
    expect(text).toMatch(/Type:\s+CORE/);
    // QEMU's choice for a vCPU not in long mode (never booted): i386, in an ELF64 file as memory reaches 4 GiB.
    expect(text).toMatch(/Class:\s+ELF64/);
    expect(text).toMatch(/Machine:\s+Intel 80386/);
    expect(text).toMatch(/^\s+NOTE\s+0x[0-9a-f]+ 0x0+ 0x0+ 0x0*270 0x0*270/m);
    const loads = [...text.matchAll(/^\s+LOAD\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm)].map((m) => ({ offset: Number(m[1]), paddr: Number(m[3]), size: Number(m[4]) }));
    expect(loads.map((l) => l.paddr)).toEqual([0, 0xc0000, 0xe0000, 0x100000, 0xfffc0000]);
    expect(loads.every((l) => l.offset % 4096 === 0)).toBe(true);
  });

  it('--layout physical refuses machine types without a known layout, and elf needs physical', async () => {
    expect((await migwb('extract-ram', E1000, '--out', path.join(work, 'x'), '--format', 'elf')).err).toMatch(/--format elf writes the guest-physical memory; it needs --layout physical/);
  });
});

describe('long work reports progress and can be cancelled', () => {
  it('extract-ram: an aborted signal stops it, and no output or temporary file is left', () => {
    const img = openImage(E1000);
    const out = path.join(work, 'cancelled');
    const controller = new AbortController();
    const seen: number[] = [];
    expect(() =>
      extractRam(img, {
        outDir: out,
        signal: controller.signal,
        onProgress: (done) => {
          seen.push(done);
          controller.abort();
        },
      }),
    ).toThrow(/extraction cancelled/);
    img.close();
    expect(seen.length).toBeGreaterThan(0);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('decompression into the cache: cancelled half way, nothing is cached', async () => {
    const cache = path.join(work, 'cancel-cache');
    const controller = new AbortController();
    const gzip = corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav');
    await expect(openImageAsync(gzip, { cache: { cacheDir: cache, signal: controller.signal, onProgress: () => controller.abort() } })).rejects.toThrow(/cancelled|aborted/);
    expect(fs.readdirSync(cache).filter((f) => !f.startsWith('by-file'))).toEqual([]);
  });
});
