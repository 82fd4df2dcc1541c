import { hex } from '../../diagnostics';
import { readBytes } from '../../io/byte-source';
import { ENCODING_FLAG_XBZRLE, MAPPED_RAM_HEADER_SIZE, RamFlag } from './constants';
import type { MappedRamInfo, RamBlock, StreamElement } from './model';
import { describeSection } from './model';
import { PageKind } from './page-index';
import { DesyncError, type ParseContext } from './parse-context';

const PAGE_KINDS = RamFlag.ZERO | RamFlag.PAGE | RamFlag.XBZRLE | RamFlag.COMPRESS_PAGE;

/**
 * Reads the payload of a "ram" START/PART/END section up to and including its EOS record
 * (migration/ram.c ram_load_precopy), recording every page record in the page index.
 * Throws OutOfDataError on truncation and DesyncError when a record cannot be delimited.
 */
export function readRamRecords(ctx: ParseContext, element: StreamElement): void {
  const cur = ctx.cur;
  const pageSize = ctx.pageSize;
  const mask = pageSize - 1;
  const counts = element.pages!;
  const pages = ctx.pages;
  const elementIndex = element.index;
  const onPageData = ctx.onPageData;
  let progressAt = cur.pos + (32 << 20);

  for (;;) {
    const recordOffset = cur.pos;
    const i = cur.need(8);
    const w = cur.window;
    const hi = ((w[i] << 24) | (w[i + 1] << 16) | (w[i + 2] << 8) | w[i + 3]) >>> 0;
    const lo = ((w[i + 4] << 24) | (w[i + 5] << 16) | (w[i + 6] << 8) | w[i + 7]) >>> 0;
    cur.pos += 8;
    let flags = lo & mask;
    const addr = hi * 0x1_0000_0000 + (lo - flags);

    if (flags & RamFlag.MEM_SIZE) {
      readBlockList(ctx, element, addr);
      flags &= ~RamFlag.MEM_SIZE;
    }
    if (flags & RamFlag.MULTIFD_FLUSH) {
      counts.multifdFlush++;
      flags &= ~RamFlag.MULTIFD_FLUSH;
    }

    const kind = flags & PAGE_KINDS;
    if (kind !== 0) {
      if (kind & (kind - 1)) {
        throw new DesyncError(recordOffset, 'ram-flags-conflict', 'one page kind per RAM record', `flags ${hex(flags)}`);
      }
      let block = ctx.currentRamBlock;
      if (!(flags & RamFlag.CONTINUE)) {
        block = readBlockId(ctx, recordOffset, element);
        ctx.currentRamBlock = block;
      } else if (block < 0) {
        ctx.sink.error('ram-continue-without-block', recordOffset, {
          section: describeSection(element),
          expected: 'a RAM block named by an earlier record',
          found: 'RAM_SAVE_FLAG_CONTINUE before any block id',
          message: 'RAM page record continues a block that was never named',
          hint: 'The stream lost the record that named the block; the page cannot be placed.',
        });
      }
      const page = addr / pageSize;
      if (block >= 0 && addr >= ctx.ramBlocks[block].usedLength) {
        ctx.sink.error('ram-offset-beyond-block', recordOffset, {
          section: describeSection(element),
          expected: `an offset below ${hex(ctx.ramBlocks[block].usedLength)} in block ${ctx.ramBlocks[block].id}`,
          found: hex(addr),
          message: `RAM page record lies outside block ${ctx.ramBlocks[block].id}`,
          hint: 'QEMU rejects this stream ("Illegal RAM offset"); the block list or this record is damaged.',
        });
        block = -1;
      }
      switch (kind) {
        case RamFlag.ZERO: {
          const fill = cur.u8();
          if (block >= 0) pages.add(block, page, PageKind.ZERO, cur.pos - 1, 1, fill, elementIndex);
          counts.zero++;
          break;
        }
        case RamFlag.PAGE: {
          const dataOffset = cur.pos;
          if (onPageData && block >= 0) {
            const at = cur.need(pageSize);
            onPageData(ctx.ramBlocks[block], page, cur.window.subarray(at, at + pageSize));
          }
          cur.skip(pageSize);
          if (block >= 0) pages.add(block, page, PageKind.PAGE, dataOffset, pageSize, 0, elementIndex);
          counts.page++;
          break;
        }
        case RamFlag.XBZRLE: {
          const encoding = cur.u8();
          if (encoding !== ENCODING_FLAG_XBZRLE) {
            throw new DesyncError(cur.pos - 1, 'xbzrle-encoding', `XBZRLE encoding byte ${hex(ENCODING_FLAG_XBZRLE)}`, hex(encoding));
          }
          const len = cur.be16();
          const dataOffset = cur.pos;
          cur.skip(len);
          if (block >= 0) pages.add(block, page, PageKind.XBZRLE, dataOffset, len, 0, elementIndex);
          counts.xbzrle++;
          break;
        }
        default: {
          const len = cur.be32();
          if (len > pageSize * 2 + 64) {
            throw new DesyncError(cur.pos - 4, 'compress-length', `a compressed page of at most ${pageSize * 2 + 64} bytes`, `${len} bytes`);
          }
          const dataOffset = cur.pos;
          cur.skip(len);
          if (block >= 0) pages.add(block, page, PageKind.COMPRESS, dataOffset, len, 0, elementIndex);
          counts.compress++;
        }
      }
      flags &= ~(kind | RamFlag.CONTINUE);
    }

    if (flags & RamFlag.EOS) {
      flags &= ~RamFlag.EOS;
      if (flags === 0) return;
    }
    if (flags !== 0) {
      const hook = flags & RamFlag.HOOK;
      throw new DesyncError(
        recordOffset,
        'unknown-ram-flags',
        'a known combination of RAM record flags',
        `flags ${hex(flags)}${hook ? ' (RDMA hook, which has no meaning in a file)' : ''}`,
        'QEMU rejects this ("Unknown combination of migration flags"); the record header is damaged.',
      );
    }
    if (cur.pos >= progressAt) {
      ctx.reportProgress();
      progressAt = cur.pos + (32 << 20);
    }
  }
}

/** u8 length + idstr of a RAM block; returns its index or -1 for an unknown block. */
function readBlockId(ctx: ParseContext, recordOffset: number, element: StreamElement): number {
  const cur = ctx.cur;
  const at = cur.pos;
  const len = cur.u8();
  const name = cur.utf8(len);
  const block = ctx.ramBlockByName.get(name);
  if (block !== undefined) return block;
  ctx.sink.error('unknown-ramblock', at, {
    length: 1 + len,
    section: describeSection(element),
    expected: `one of the blocks in the MEM_SIZE list (${[...ctx.ramBlockByName.keys()].slice(0, 4).join(', ')}${ctx.ramBlocks.length > 4 ? ', …' : ''})`,
    found: JSON.stringify(name),
    message: `RAM page record at ${hex(recordOffset)} names an unknown block`,
    hint: 'QEMU rejects this ("Unknown ramblock"); the block id is damaged or the block list is incomplete.',
  });
  return -1;
}

/**
 * The MEM_SIZE record: total bytes, then per block u8 len + idstr + be64 used_length,
 * [be64 host page size (postcopy)], [be64 mr->addr (x-ignore-shared)], [mapped-ram header].
 */
function readBlockList(ctx: ParseContext, element: StreamElement, total: number): void {
  const cur = ctx.cur;
  const ignoreShared = ctx.capabilities.has('x-ignore-shared');
  const mappedRam = ctx.capabilities.has('mapped-ram');
  const listed: RamBlock[] = element.ramBlocks ?? (element.ramBlocks = []);
  let remaining = total;
  while (remaining > 0) {
    const recordOffset = cur.pos;
    const len = cur.u8();
    if (len === 0) {
      throw new DesyncError(recordOffset, 'ram-block-list', `a RAM block name (${remaining} bytes of blocks still to list)`, 'a zero-length name');
    }
    const id = cur.utf8(len);
    const usedLength = cur.be64();
    const block: RamBlock = { id, usedLength, recordOffset };
    remaining -= usedLength;
    // Postcopy adds the host page size of huge-page blocks. It is only recognisable when
    // another block follows: a be64 page size starts with 0x00, a block name never does.
    if (!ignoreShared && !mappedRam && remaining > 0 && cur.peekU8() === 0) block.hostPageSize = cur.be64();
    if (ignoreShared) block.mrAddr = cur.be64();
    if (mappedRam) block.mappedRam = readMappedRamHeader(ctx, block, element);
    if (usedLength === 0 || usedLength % ctx.pageSize !== 0) {
      ctx.sink.warning('ram-block-length', recordOffset, {
        section: describeSection(element),
        expected: `a non-zero multiple of the page size (${ctx.pageSize})`,
        found: `${usedLength} bytes for block ${id}`,
        message: `RAM block ${id} has an unusual length`,
      });
    }
    listed.push(block);
    const known = ctx.ramBlockByName.get(id);
    if (known === undefined) {
      ctx.ramBlockByName.set(id, ctx.ramBlocks.length);
      ctx.ramBlocks.push(block);
    } else {
      ctx.ramBlocks[known] = block;
    }
  }
  if (remaining < 0) {
    ctx.sink.error('ram-block-list-total', cur.pos, {
      section: describeSection(element),
      expected: `block lengths adding up to ${total}`,
      found: `${total - remaining}`,
      message: 'RAM block list does not add up to its declared total',
      hint: 'A block length or the MEM_SIZE total is damaged.',
    });
  }
}

/**
 * mapped-ram (QEMU 9.0+): a MappedRamHeader follows the block entry; the page bitmap and
 * the pages sit at fixed file offsets and the sequential stream resumes after them.
 */
function readMappedRamHeader(ctx: ParseContext, block: RamBlock, element: StreamElement): MappedRamInfo {
  const cur = ctx.cur;
  const headerOffset = cur.pos;
  const version = cur.be32();
  const pageSize = cur.be64();
  const bitmapOffset = cur.be64();
  const pagesOffset = cur.be64();
  const pageCount = Math.ceil(block.usedLength / ctx.pageSize);
  const bitmapLength = Math.ceil(pageCount / 64) * 8;
  const info: MappedRamInfo = { headerOffset, version, pageSize, bitmapOffset, bitmapLength, pagesOffset, pagesPresent: 0 };
  const end = pagesOffset + block.usedLength;
  if (version !== 1 || pageSize !== ctx.pageSize || bitmapOffset !== headerOffset + MAPPED_RAM_HEADER_SIZE || pagesOffset < bitmapOffset + bitmapLength || end > cur.size) {
    throw new DesyncError(
      headerOffset,
      'mapped-ram-header',
      `a mapped-ram header (version 1, page size ${ctx.pageSize}, bitmap at ${hex(headerOffset + MAPPED_RAM_HEADER_SIZE)}, pages inside the file)`,
      `version ${version}, page size ${pageSize}, bitmap at ${hex(bitmapOffset)}, pages at ${hex(pagesOffset)}..${hex(end)}`,
    );
  }
  const bitmap = readBytes(cur.source, bitmapOffset, bitmapLength);
  const blockIndex = ctx.ramBlockByName.get(block.id) ?? ctx.ramBlocks.length;
  let runStart = -1;
  for (let page = 0; page <= pageCount; page++) {
    const set = page < pageCount && (bitmap[page >> 3] >> (page & 7)) & 1;
    if (set) {
      info.pagesPresent++;
      if (runStart < 0) runStart = page;
    } else if (runStart >= 0) {
      ctx.pages.addRun({
        block: blockIndex,
        firstPage: runStart,
        count: page - runStart,
        kind: PageKind.MAPPED,
        dataOffset: pagesOffset + runStart * ctx.pageSize,
        stride: ctx.pageSize,
        dataLength: ctx.pageSize,
        fill: 0,
        element: element.index,
      });
      runStart = -1;
    }
  }
  cur.pos = end;
  return info;
}
