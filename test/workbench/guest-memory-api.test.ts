import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { PAGE_STATE_CODES, type TreeNode, type WorkbenchApi, type WorkbenchEvent } from '../../shared/api/contract';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf } from '../helpers/corpus';
import { corpusAndTemp } from '../helpers/grants';
import type { SearchResult } from '../helpers/wire';

const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const COMPRESS = corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig');
const XBZRLE = corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig');
const MARKER = 'MIGIMG-FORENSIC-MARKER';

/** The guest-memory channels of the app over the real handlers (the functions behind IPC and the bridge). */
describe('guest memory in the app: map, window reads, search in a worker', () => {
  let library: Library;
  let api: WorkbenchApi;
  const events: WorkbenchEvent[] = [];
  beforeAll(() => {
    library = Library.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-guest-api-')), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', (e) => events.push(e));
  });
  afterAll(() => library.close());

  it('the map lists regions, holes and unmapped blocks, with every page of a block counted once', async () => {
    const { handle } = await api.openImage(E1000);
    const map = await api.memoryMap(handle);
    expect(map.hasLayout).toBe(true);
    const ram = map.rows.filter((r) => r.block === 'pc.ram');
    expect(ram[0]).toMatchObject({ kind: 'region', gpa: 0, size: 0xa0000 });
    expect(map.rows.find((r) => r.kind === 'hole' && r.gpa === 0xa0000)).toMatchObject({ size: 0x20000, why: /VGA/ });
    expect(map.rows.find((r) => r.block === 'pc.bios' && r.kind === 'region' && r.gpa! > 0xfff00000)).toBeDefined();
    expect(map.rows.find((r) => r.block === '/rom@etc/acpi/tables')).toMatchObject({ kind: 'unmapped-block', gpa: null, why: /fw_cfg/ });
    // The payload's zero pages and its data are in the counts: 252 data pages, 7940 zero (extract-ram's map agrees).
    const pages = ram.reduce((n, r) => n + r.pages!.present, 0);
    expect(pages).toBeLessThanOrEqual(252);
    expect(ram.every((r) => r.cells!.length > 0 && [...r.cells!].every((c) => Object.values(PAGE_STATE_CODES).includes(c)))).toBe(true);
    const above1M = ram.find((r) => r.gpa === 0x100000)!;
    expect(above1M.cells).toContain(PAGE_STATE_CODES.present);
    expect(above1M.cells).toContain(PAGE_STATE_CODES.zero);
  });

  it('a window reads guest memory as the guest sees it, across pages, with holes as spans', async () => {
    const { handle } = await api.openImage(COMPRESS);
    const p = metaOf(COMPRESS).planted_payload!;
    const gpa = Number(p.guest_phys_addr);
    const window = await api.readGuestMemory(handle, null, gpa, 1 << 20);
    const bytes = Buffer.from(window.bytes, 'base64');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
    // Compressed pages are inflated: their spans name the record kind and where its data is.
    const first = window.spans[0];
    expect(first).toMatchObject({ at: 0, length: 4096, kind: 'compress', block: 'pc.ram', blockOffset: gpa, gpa });
    expect(first.streamOffset).toBeGreaterThan(0);
    // The VGA window is a hole, and a read across its edge has both.
    const edge = await api.readGuestMemory(handle, null, 0x9f000, 0x2000);
    expect(edge.spans.map((s) => [s.at, s.length, s.hole ?? false])).toEqual([[0, 0x1000, false], [0x1000, 0x1000, true]]);
    // By block: the same bytes at the block offset.
    const byBlock = await api.readGuestMemory(handle, 'pc.ram', gpa, 64);
    expect(Buffer.from(byBlock.bytes, 'base64')).toEqual(bytes.subarray(0, 64));
    await expect(api.readGuestMemory(handle, 'no-such-block', 0, 16)).rejects.toThrow(/no RAM block named no-such-block/);
  });

  it('XBZRLE pages read as replayed, as `migwb read` reads them', async () => {
    const { handle } = await api.openImage(XBZRLE);
    const map = await api.memoryMap(handle);
    const row = map.rows.find((r) => r.kind === 'region' && r.cells!.includes(PAGE_STATE_CODES.xbzrle))!;
    const cell = row.cells!.indexOf(PAGE_STATE_CODES.xbzrle);
    const cellSize = Math.ceil(row.size / row.cells!.length / 4096) * 4096;
    // Find an XBZRLE page in that cell and compare its bytes with the CLI's read.
    let found: { gpa: number; bytes: Buffer } | undefined;
    for (let at = row.gpa! + cell * cellSize; at < row.gpa! + (cell + 1) * cellSize && !found; at += 4096) {
      const w = await api.readGuestMemory(handle, null, at, 4096);
      if (w.spans[0].kind === 'xbzrle') found = { gpa: at, bytes: Buffer.from(w.bytes, 'base64') };
    }
    expect(found).toBeDefined();
    const cli = JSON.parse((await migwb('read', XBZRLE, '--gpa', `0x${found!.gpa.toString(16)}`, '--length', '4096', '--json')).out);
    expect(found!.bytes.toString('hex')).toBe(cli.hex);
  });

  it('search covers compressed pages: all five markers, with block, record kind and file offset, as `migwb search` finds them', async () => {
    const { handle } = await api.openImage(COMPRESS);
    events.length = 0;
    const r = await api.memorySearch(handle, { kind: 'string', pattern: MARKER });
    expect(r.cancelled).toBe(false);
    expect(r.hits.map((h) => h.gpa)).toEqual(metaOf(COMPRESS).planted_payload!.marker_guest_phys_addrs.map(Number));
    expect(new Set(r.hits.map((h) => h.kind))).toEqual(new Set(['compress']));
    const cli = JSON.parse((await migwb('search', COMPRESS, '--string', MARKER, '--json')).out).results[0] as SearchResult;
    expect(r.hits.map((h) => [h.gpa, h.block, h.blockOffset, h.kind, h.fileOffset])).toEqual(cli.hits.map((h) => [h.gpa, h.block, h.block_offset, h.kind, h.file_offset]));
    expect(events.some((e) => e.type === 'memory-search-progress' && e.handle === handle)).toBe(true);
    // Hex and regex too; a bad regex is one line that says what is wrong.
    expect((await api.memorySearch(handle, { kind: 'hex', pattern: Buffer.from(MARKER).toString('hex') })).hits).toHaveLength(5);
    expect((await api.memorySearch(handle, { kind: 'regex', pattern: 'MIGIMG-[A-Z]+-MARKER' })).hits).toHaveLength(5);
    await expect(api.memorySearch(handle, { kind: 'regex', pattern: '([' })).rejects.toThrow(/not a valid regular expression/);
  });

  it('a search can be cancelled, and says so', async () => {
    const { handle } = await api.openImage(E1000);
    // Zeros match everywhere: a long search, stopped at once.
    const running = api.memorySearch(handle, { kind: 'hex', pattern: '00', maxHits: 100_000 });
    await api.memorySearchCancel(handle);
    const r = await running;
    expect(r.cancelled).toBe(true);
    expect(r.hits).toEqual([]);
  });

  it('page record nodes name their RAM block and guest-physical address', async () => {
    const { handle } = await api.openImage(E1000);
    const payloadRecord = Buffer.from(fs.readFileSync(E1000)).indexOf(MARKER);
    const ids = await api.nodePathAt(handle, payloadRecord, 'stream');
    const parent = ids[ids.length - 2];
    const node = (await api.treeChildren(handle, parent)).find((n: TreeNode) => n.id === ids[ids.length - 1])!;
    expect(node.kind).toBe('page');
    expect(node.detail).toBe('page · pc.ram · GPA 0x100000');
    expect(node.guestPage).toEqual({ block: 'pc.ram', blockOffset: 0x100000, gpa: 0x100000, dataOffset: payloadRecord, dataLength: 4096, literal: true });
  });
});
