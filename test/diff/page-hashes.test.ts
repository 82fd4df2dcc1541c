import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PageHashes, type PageHasher } from '../../shared/diff/page-hashes';
import { blockExtents, pageDataOffset } from '../../shared/memory/guest-memory';
import { diffOpenedImages } from '../../electron/services/diff-images';
import { openImage, type OpenedImage } from '../../electron/services/open-image';
import { pageHasher } from '../../electron/services/page-hasher';
import { sealImage } from '../../electron/services/seal-image';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');

/** Opens an image with its plain pages hashed as `migwb diff` does: during the scan, the rest by reading. */
function openHashed(file: string, hash: PageHasher): { image: OpenedImage; hashes: PageHashes } {
  const hashes = new PageHashes();
  const image = openImage(file, { onPageData: hashes.scanHook(hash) });
  hashes.complete(image.source, image.model, hash);
  return { image, hashes };
}

function hashedPages(h: PageHashes, image: OpenedImage): number {
  return image.model.ramBlocks.reduce((n, b) => n + (h.of(b.id)?.present.reduce((m, x) => m + x, 0) ?? 0), 0);
}

/**
 * The RAM diff by page hash (migwb diff) against the same diff reading every page of both
 * sides: the same output, for a copy with bytes changed in three pages, scanned and sealed.
 */
describe('RAM diff by page hashes', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-page-hashes-');
  let hash: PageHasher;
  let changed = '';
  let sealed = '';
  /** Block offsets of the pages changed in the copy. */
  const changedPages: number[] = [];
  /** The byte of each changed page that changed. */
  const changedAt: number[] = [];

  beforeAll(async () => {
    hash = pageHasher();
    const original = openImage(MINIMAL);
    const bytes = fs.readFileSync(MINIMAL);
    try {
      const ram = original.model.ramBlocks.findIndex((b) => b.id === 'pc.ram');
      const plain = blockExtents(original.model, ram).filter((e) => e.kind === 'page');
      // Four pages not next to each other: four runs. Three get a byte changed at 100, the
      // last one bit of its last byte (the end of the page, where a hash that skipped a
      // tail would miss it).
      const pages = plain.flatMap((e) => [0, 1, 2, 3].map((i) => ({ e, page: e.firstPage + 2 * i })).filter((p) => p.page < e.firstPage + e.pages)).slice(0, 4);
      pages.forEach(({ e, page }, i) => {
        const at = i < 3 ? 100 : original.model.pageSize - 1;
        bytes[pageDataOffset(original.model, e, page)! + at] ^= i < 3 ? 0x5a : 0x01;
        changedPages.push(page * original.model.pageSize);
        changedAt.push(at);
      });
    } finally {
      original.close();
    }
    expect(changedPages).toHaveLength(4);
    changed = path.join(tmp(), 'changed.mig');
    fs.writeFileSync(changed, bytes);
    sealed = path.join(tmp(), 'changed-sealed.mig');
    sealImage(changed, { kind: 'copy', output: sealed });
  });

  for (const which of ['scanned', 'sealed'] as const) {
    it(`the original against its changed copy (${which}): the same diff as reading every page`, () => {
      const a = openHashed(MINIMAL, hash);
      const b = openHashed(which === 'scanned' ? changed : sealed, hash);
      try {
        expect(b.image.via).toBe(which === 'scanned' ? 'scan' : 'directory');
        // Every plain page has a hash on both sides, taken by the scan or (sealed) by one read.
        expect(hashedPages(a.hashes, a.image)).toBeGreaterThan(100);
        expect(hashedPages(b.hashes, b.image)).toBe(hashedPages(a.hashes, a.image));
        const options = { pageBytes: true };
        const byHash = diffOpenedImages(a.image, b.image, options, { a: a.hashes, b: b.hashes });
        const byReading = diffOpenedImages(a.image, b.image, options);
        expect(byHash.ram!.runs.map((r) => r.blockOffset)).toEqual(changedPages);
        expect(byHash.ram!.runs.map((r) => r.bytes?.[0]?.offset)).toEqual(changedAt);
        expect(byHash).toEqual(byReading);
      } finally {
        a.image.close();
        b.image.close();
      }
    });
  }

  it('pages equal by hash are not read: a changed hash alone makes the page differ', () => {
    const a = openHashed(MINIMAL, hash);
    const b = openHashed(MINIMAL, hash);
    try {
      expect(diffOpenedImages(a.image, b.image, {}, { a: a.hashes, b: b.hashes }).equalInContent).toBe(true);
      const block = b.image.model.ramBlocks.find((x) => x.id === 'pc.ram')!;
      const hashes = b.hashes.of('pc.ram')!;
      const page = hashes.present.indexOf(1);
      hashes.hashes[2 * page + 1] ^= 1;
      const diff = diffOpenedImages(a.image, b.image, {}, { a: a.hashes, b: b.hashes });
      expect(diff.ram!.runs).toEqual([expect.objectContaining({ block: block.id, blockOffset: page * b.image.model.pageSize, pages: 1, recordA: 'page', recordB: 'page' })]);
    } finally {
      a.image.close();
      b.image.close();
    }
  });
});
