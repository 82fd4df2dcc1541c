import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { searchImage, searchImages, type SearchPattern } from '../../electron/memory/search';
import { openImage } from '../../electron/services/open-image';
import { FileSource } from '../../electron/io/file-source';
import { corpusPath, qemuCorpusImages } from '../helpers/corpus';

/**
 * Issue 12, §7: a literal search of an image that is not sealed is made during its scan, so
 * the file is read once. What it finds must be exactly what searching the model's final
 * content by reading finds: pages sent twice (only the last copy counts), matches across
 * page boundaries, compressed and XBZRLE pages (read after the scan), and the fallback
 * when a needle is nearly everywhere.
 */
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const XBZRLE = corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig');

/** The search as it was: the model by a scan without the tap, then every page read. */
async function searchByReading(image: string, pattern: SearchPattern, maxHits: number) {
  const img = openImage(image, { directory: 'ignore' });
  try {
    return await searchImage(img, pattern, { maxHits });
  } finally {
    img.close();
  }
}

const hitsOf = (r: { hits: { blockOffset: number; block: string; fileOffset?: number }[] }) => r.hits.map((h) => `${h.block}+${h.blockOffset}@${h.fileOffset}`);

afterEach(() => vi.restoreAllMocks());

describe('literal search within the scan', () => {
  // Needles: the planted marker (within pages and across a page boundary at 0x11fff5), a
  // common short one (many hits, several pages sent twice in the running guest), bytes that
  // start with zeros (found at the end of zero pages), and one that is nearly everywhere.
  const needles: SearchPattern[] = [{ string: 'MIGIMG-FORENSIC-MARKER' }, { string: 'PCI' }, { hex: '0000000055aa' }, { hex: 'ffff' }];
  const images = [...new Set([E1000, XBZRLE, ...qemuCorpusImages().filter((f) => /compress|multifd|mapped|xbzrle/.test(path.basename(f)))])];

  for (const image of images) {
    it(`finds what reading finds: ${path.basename(image)}`, { timeout: 240_000 }, async () => {
      for (const pattern of needles) {
        const maxHits = 3000;
        const [within] = await searchImages([image], pattern, { maxHits, directory: 'ignore' });
        const byReading = await searchByReading(image, pattern, maxHits);
        expect(within.error, JSON.stringify(pattern)).toBeUndefined();
        expect(hitsOf(within), JSON.stringify(pattern)).toEqual(hitsOf(byReading));
        expect(within.truncated).toBe(byReading.truncated);
      }
    });
  }

  it('the running guest sends pages again, and the marker crosses a page boundary: both seen as the final content has them', async () => {
    const [crossing] = await searchImages([E1000], { string: 'MIGIMG-FORENSIC-MARKER' }, { directory: 'ignore' });
    expect(crossing.hits.map((h) => h.gpa)).toContain(0x11fff5);
    const img = openImage(XBZRLE, { directory: 'ignore' });
    const records = img.model.elements.reduce((n, e) => n + (e.pages ? e.pages.page + e.pages.zero + e.pages.xbzrle + e.pages.compress : 0), 0);
    const resent = records - img.model.ramBlocks.reduce((n, b) => n + b.usedLength / img.model.pageSize, 0);
    img.close();
    // More page records than pages: some page was sent more than once, which the comparison above covered.
    expect(resent).toBeGreaterThan(0);
  });

  it('reads the file once: no stored page is read again after the scan', async () => {
    const size = fs.statSync(E1000).size;
    // How many times each byte of the file is read.
    let times = new Uint8Array(size);
    const readInto = FileSource.prototype.readInto;
    vi.spyOn(FileSource.prototype, 'readInto').mockImplementation(function (this: FileSource, target, targetOffset, length, position) {
      const got = readInto.call(this, target, targetOffset, length, position);
      for (let i = position; i < position + got; i++) times[i] = Math.min(255, times[i] + 1);
      return got;
    });
    const readAgain = () => {
      const again = times.reduce((n, t) => n + (t > 1 ? 1 : 0), 0);
      times = new Uint8Array(size);
      return again;
    };
    const [within] = await searchImages([E1000], { string: 'MIGIMG-FORENSIC-MARKER' }, { directory: 'ignore' });
    expect(within.hits).toHaveLength(5);
    const againWithin = readAgain();
    await searchByReading(E1000, { string: 'MIGIMG-FORENSIC-MARKER' }, 1000);
    const againAfter = readAgain();
    const img = openImage(E1000, { directory: 'ignore' });
    const storedPages = img.model.elements.reduce((n, e) => n + (e.pages?.page ?? 0), 0) * img.model.pageSize;
    img.close();
    expect(storedPages).toBeGreaterThan(size / 2);
    // The search as it was read every stored page a second time; within the scan, what is
    // read twice is what the scan reads twice anyway (the tail, to find the vmdesc), the
    // device sections the machine layout decodes, a read window that restarts at a page,
    // and the pages of the five previews.
    expect(againAfter - againWithin).toBeGreaterThan(0.9 * storedPages);
    expect(againWithin).toBeLessThan(0.3 * storedPages);
  });
});
