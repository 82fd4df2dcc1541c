import { describe, expect, it } from 'vitest';
import { blockExtents } from '../../shared/memory/guest-memory';
import { findLiteral } from '../../electron/memory/literal-search';
import { findLiteralInParallel, splitPoints } from '../../electron/memory/parallel-literal-search';
import { readGuestMemory } from '../../electron/memory/read-memory';
import { openImage } from '../../electron/services/open-image';
import { corpusPath } from '../helpers/corpus';

const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');

function singleThreaded(img: ReturnType<typeof openImage>, needle: Buffer): number[] {
  const extents = blockExtents(img.model, 0);
  const found: number[] = [];
  findLiteral(img, 0, extents, 0, img.model.ramBlocks[0].usedLength, needle, false, (o) => found.push(o) > 0, () => undefined);
  return found;
}

describe('literal search split across worker threads', () => {
  it('splits the stored pages into shares on page boundaries', () => {
    const img = openImage(E1000);
    try {
      const extents = blockExtents(img.model, 0);
      const end = img.model.ramBlocks[0].usedLength;
      const splits = splitPoints(extents, 0, end, img.model.pageSize, 3);
      expect(splits).toHaveLength(4);
      expect(splits[0]).toBe(0);
      expect(splits[3]).toBe(end);
      for (const s of splits) expect(s % img.model.pageSize).toBe(0);
      expect([...splits].sort((a, b) => a - b)).toEqual(splits);
    } finally {
      img.close();
    }
  });

  it('finds exactly what one thread finds, including matches across the splits', async () => {
    const img = openImage(E1000);
    try {
      const extents = blockExtents(img.model, 0);
      const end = img.model.ramBlocks[0].usedLength;
      const threads = 3;
      const splits = splitPoints(extents, 0, end, img.model.pageSize, threads);
      // A needle made of the bytes around each split, so a match straddles it.
      for (const cut of splits.slice(1, -1)) {
        const { bytes } = readGuestMemory(img, { block: 'pc.ram', offset: cut - 3 }, 6, undefined);
        const needle = Buffer.from(bytes);
        const expected = singleThreaded(img, needle);
        expect(expected).toContain(cut - 3);
        const found = await findLiteralInParallel(img, 0, extents, { start: 0, end }, needle, false, threads, { limit: 100_000, onBytes: () => undefined });
        expect(found).toEqual(expected);
      }
      // A frequent needle: many hits, in order, and the limit respected.
      const common = Buffer.from([0x01]);
      const all = singleThreaded(img, common);
      expect(all.length).toBeGreaterThan(10);
      await expect(findLiteralInParallel(img, 0, extents, { start: 0, end }, common, false, threads, { limit: 100_000, onBytes: () => undefined })).resolves.toEqual(all);
      await expect(findLiteralInParallel(img, 0, extents, { start: 0, end }, common, false, threads, { limit: 5, onBytes: () => undefined })).resolves.toEqual(all.slice(0, 5));
    } finally {
      img.close();
    }
  });

  it('stops every worker when cancelled', async () => {
    const img = openImage(E1000);
    try {
      const extents = blockExtents(img.model, 0);
      const abort = new AbortController();
      abort.abort();
      const search = findLiteralInParallel(img, 0, extents, { start: 0, end: img.model.ramBlocks[0].usedLength }, Buffer.from('MIGIMG'), false, 3, { limit: 10, onBytes: () => undefined, signal: abort.signal });
      await expect(search).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      img.close();
    }
  });
});
