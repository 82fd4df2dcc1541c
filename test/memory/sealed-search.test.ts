import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGuestMemory } from '../../electron/memory/read-memory';
import { openImage } from '../../electron/services/open-image';
import { migwbProcess } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';

/**
 * Issue #12 §7: `npm run bench startup` times migwb search on an image and on its sealed
 * copy. The two take different paths (the unsealed one is searched within its scan, the
 * sealed one from the seal's page runs, without a scan): through the real launcher, both
 * must say exactly the same, hits, offsets, the truncation at --max-hits, and matches that
 * cross a page boundary. (A 32 MiB image is searched by one thread; the split across worker
 * threads that large sealed images get is checked in parallel-search.test.ts.)
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-sealed-search-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The JSON report without the image path (the one thing that differs between the copies). */
function search(image: string, ...args: string[]): { results: { hits: { block_offset: number }[] }[] } {
  const r = migwbProcess('search', image, '--json', ...args);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out.split(image).join('IMAGE'));
}

const hitCount = (report: ReturnType<typeof search>) => report.results.reduce((n, r) => n + r.hits.length, 0);

describe('migwb search on an image and on its sealed copy', () => {
  const sealed = path.join(dir, 'sealed.mig');
  const seal = migwbProcess('seal', IMAGE, '-o', sealed);

  it('the same hits for a frequent needle, and the same truncation at --max-hits', () => {
    expect(seal.code, seal.err).toBe(0);
    const all = search(IMAGE, '--hex', '01 00', '--max-hits', '100000');
    expect(hitCount(all)).toBeGreaterThan(7);
    expect(search(sealed, '--hex', '01 00', '--max-hits', '100000')).toEqual(all);
    expect(search(sealed, '--hex', '01 00', '--max-hits', '7')).toEqual(search(IMAGE, '--hex', '01 00', '--max-hits', '7'));
  });

  it('the same hit for a needle that crosses a page boundary', () => {
    const img = openImage(IMAGE);
    let needle: string;
    try {
      // The first page boundary of pc.ram with data on both sides: 4 bytes before it, 4 after.
      const page = img.model.pageSize;
      const end = img.model.ramBlocks[0].usedLength;
      let found: Uint8Array | undefined;
      for (let at = page; at < end && !found; at += page) {
        const { bytes } = readGuestMemory(img, { block: 'pc.ram', offset: at - 4 }, 8, undefined);
        if (bytes.subarray(0, 4).some((b) => b !== 0) && bytes.subarray(4).some((b) => b !== 0)) found = bytes;
      }
      expect(found, 'a page boundary with data on both sides').toBeDefined();
      needle = Buffer.from(found!).toString('hex');
    } finally {
      img.close();
    }
    const unsealedHits = search(IMAGE, '--hex', needle);
    expect(hitCount(unsealedHits)).toBeGreaterThan(0);
    expect(unsealedHits.results[0].hits.some((h) => (h.block_offset + 4) % 4096 === 0)).toBe(true);
    expect(search(sealed, '--hex', needle)).toEqual(unsealedHits);
  });
});
