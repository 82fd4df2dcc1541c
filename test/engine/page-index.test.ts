import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageIndex, PageKind } from '../../shared/formats/qemu-stream/page-index';
import { assertProperty } from '../helpers/property';

describe('PageIndex', () => {
  it('merges consecutive records into runs at a constant stride', () => {
    const idx = new PageIndex();
    for (let p = 0; p < 1000; p++) idx.add(0, p, PageKind.PAGE, 100 + p * 4104, 4096, 0, 1);
    for (let p = 1000; p < 3000; p++) idx.add(0, p, PageKind.ZERO, 5_000_000 + p * 9, 1, 0, 1);
    expect(idx.runCount).toBe(2);
    expect(idx.run(0)).toMatchObject({ firstPage: 0, count: 1000, stride: 4104, dataOffset: 100 });
    expect(idx.dataOffsetIn(1, 2999)).toBe(5_000_000 + 2999 * 9);
  });

  it('finds the last record of every page like a brute-force replay, and counts present pages', () => {
    const record = fc.record({ block: fc.integer({ min: 0, max: 2 }), page: fc.integer({ min: 0, max: 60 }), len: fc.integer({ min: 1, max: 12 }) });
    assertProperty(
      fc.property(fc.array(record, { maxLength: 40 }), (sends) => {
        const idx = new PageIndex();
        const truth = new Map<string, number>();
        let offset = 0;
        sends.forEach((s, element) => {
          for (let p = s.page; p < s.page + s.len; p++) {
            idx.add(s.block, p, PageKind.PAGE, (offset += 4104), 4096, 0, element);
            truth.set(`${s.block}:${p}`, element);
          }
        });
        for (let block = 0; block < 3; block++) {
          let present = 0;
          for (let p = 0; p < 80; p++) {
            const run = idx.latestRun(block, p);
            const want = truth.get(`${block}:${p}`);
            if (want === undefined) expect(run).toBe(-1);
            else {
              present++;
              expect(idx.run(run).element).toBe(want);
            }
          }
          expect(idx.presentPages(block, 80)).toBe(present);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not allocate by block size: a damaged block length of 2^50 pages costs nothing', () => {
    const idx = new PageIndex();
    idx.add(0, 2 ** 50, PageKind.ZERO, 10, 1, 0, 0);
    expect(idx.latestRun(0, 2 ** 50)).toBe(0);
    expect(idx.presentPages(0, 2 ** 52)).toBe(1);
  });
});
