import { hex } from '../../diagnostics';
import { StattrFlag } from './constants';
import { DesyncError, type ParseContext } from './parse-context';

/**
 * s390 storage attributes (hw/s390x/s390-stattrib.c, version 0): be64 (gfn << 12 | flags)
 * records; MORE carries be64 count + count bytes; DONE may end the data without an EOS.
 * Mirrors analyze-migration.py 10.0.
 */
export function readStorageAttributes(ctx: ParseContext): void {
  const cur = ctx.cur;
  let afterDone = -1;
  for (;;) {
    const recordOffset = cur.pos;
    const word = cur.be64();
    const flags = word % 0x1000;
    if (flags & StattrFlag.DONE) {
      afterDone = cur.pos;
      continue;
    }
    if (flags & StattrFlag.EOS) return;
    if (!(flags & StattrFlag.MORE)) {
      if (afterDone >= 0) {
        cur.pos = afterDone; // data ended after DONE; these bytes belong to the next element
        return;
      }
      throw new DesyncError(recordOffset, 'stattr-flags', 'a storage-attribute record (MORE, DONE or EOS)', `flags ${hex(flags)}`);
    }
    if (flags & StattrFlag.ERROR) {
      throw new DesyncError(recordOffset, 'stattr-error', 'no error flag', 'the source reported an error (STATTR_FLAG_ERROR)');
    }
    const count = cur.be64();
    cur.skip(count);
  }
}

/** spapr hash page table section (hw/ppc/spapr.c, version 1), as analyze-migration.py reads it. */
export function readHashPageTable(ctx: ParseContext): void {
  const cur = ctx.cur;
  const header = cur.be32();
  if (header === 0xffffffff || header > 0) return; // "no HPT", or the first section's hash shift
  for (;;) {
    const index = cur.be32();
    const valid = cur.be16();
    const invalid = cur.be16();
    if (index === 0 && valid === 0 && invalid === 0) return;
    cur.skip(valid * 16);
  }
}
