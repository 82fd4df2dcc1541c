import type { GuestBytesPlace } from '../../shared/api/contract';
import { describeMappedRegions, resolveGuestAddress, type MachineLayout } from '../../shared/memory/layout';
import { readGuestPage } from '../../shared/formats/qemu-stream/ram-reader';
import type { OpenedImage } from '../services/open-image';
import { UserError } from '../services/user-error';
import { hexAddress } from './addresses';

/** Reads larger than this belong to extract-ram. */
export const MAX_READ = 64 << 20;

/** Where the bytes of one guest page (or part of it) came from. */
export interface PageOrigin extends GuestBytesPlace {
  /** Records that sent this page. */
  sends: number;
  problem?: string;
}

export interface GuestRead {
  bytes: Uint8Array;
  origins: PageOrigin[];
}

export type GuestAddress = { gpa: number } | { block: string; offset: number };

/** What guest memory reads need of an opened image (an edited view has them too). */
export type GuestSource = Pick<OpenedImage, 'source' | 'model' | 'fileOffsetOf'>;

/** Reads guest memory by guest-physical address (through the machine layout) or by block and offset. */
export function readGuestMemory(img: GuestSource, where: GuestAddress, length: number, layout: MachineLayout | undefined): GuestRead {
  if (length <= 0 || length > MAX_READ) throw new UserError(`--length must be between 1 and ${MAX_READ} bytes; use extract-ram for more`);
  const bytes = new Uint8Array(length);
  const origins: PageOrigin[] = [];
  let done = 0;
  while (done < length) {
    let block: number;
    let offset: number;
    let limit: number;
    let gpa: number | undefined;
    if ('gpa' in where) {
      if (!layout) throw new UserError(`the guest-physical layout of machine type ${img.model.machineType ?? '(unknown)'} is not known; read by --block and --offset`);
      gpa = where.gpa + done;
      const hit = resolveGuestAddress(layout, gpa);
      if (!hit) throw new UserError(`nothing is mapped at guest-physical ${hexAddress(gpa)} (${describeMappedRegions(layout)})`);
      ({ block, offset } = hit);
      limit = hit.region.gpa + hit.region.size - gpa;
    } else {
      block = blockIndex(img, where.block);
      offset = where.offset + done;
      limit = img.model.ramBlocks[block].usedLength - offset;
      if (limit <= 0) throw new UserError(`offset ${hexAddress(offset)} is past the end of ${where.block} (${img.model.ramBlocks[block].usedLength} bytes)`);
    }
    const origin = readPagePiece(img, block, offset, Math.min(limit, length - done), bytes.subarray(done));
    origins.push({ ...origin, gpa });
    done += origin.length;
  }
  return { bytes, origins };
}

/** A stretch of a memory window: a piece of a page, or addresses where nothing is mapped. */
export type WindowSpan = { at: number; length: number } & ({ hole: true } | { hole?: false; origin: PageOrigin });

/**
 * A window of guest memory for the app's memory view, which may start and end anywhere:
 * guest-physical addresses where nothing is mapped are holes (zero bytes in `bytes`), not
 * errors, so the view can scroll across the whole address space. `space` is guest-physical
 * (through the layout) or one block's own offsets.
 */
export function readGuestWindow(img: GuestSource, layout: MachineLayout | undefined, space: { gpa: true } | { block: string }, offset: number, length: number): { bytes: Uint8Array; spans: WindowSpan[] } {
  const bytes = new Uint8Array(length);
  const spans: WindowSpan[] = [];
  const block = 'block' in space ? blockIndex(img, space.block) : -1;
  if ('gpa' in space && !layout) throw new UserError(`the guest-physical layout of machine type ${img.model.machineType ?? '(unknown)'} is not known; view memory by block`);
  for (let done = 0; done < length; ) {
    const at = offset + done;
    let target: { block: number; offset: number; limit: number } | { gap: number };
    if (layout && 'gpa' in space) {
      const hit = resolveGuestAddress(layout, at);
      const next = layout.regions.find((r) => r.gpa > at);
      target = hit ? { block: hit.block, offset: hit.offset, limit: hit.region.gpa + hit.region.size - at } : { gap: (next?.gpa ?? Infinity) - at };
    } else {
      const size = img.model.ramBlocks[block].usedLength;
      target = at < size ? { block, offset: at, limit: size - at } : { gap: Infinity };
    }
    if ('gap' in target) {
      const n = Math.min(target.gap, length - done);
      spans.push({ at: done, length: n, hole: true });
      done += n;
      continue;
    }
    const origin = readPagePiece(img, target.block, target.offset, Math.min(target.limit, length - done), bytes.subarray(done));
    spans.push({ at: done, length: origin.length, origin: { ...origin, gpa: 'gpa' in space ? at : undefined } });
    done += origin.length;
  }
  return { bytes, spans };
}

/**
 * Copies up to `max` bytes of block `block` from `offset`, within one page, into `into`,
 * and says where they came from (the record giving the page its final content).
 */
function readPagePiece(img: GuestSource, block: number, offset: number, max: number, into: Uint8Array): PageOrigin {
  const ps = img.model.pageSize;
  const page = Math.floor(offset / ps);
  const inPage = offset - page * ps;
  const n = Math.min(ps - inPage, max);
  const { bytes: content, provenance } = readGuestPage(img.source, img.model, block, page);
  into.set(content.subarray(inPage, inPage + n));
  // For stored pages the byte itself is in the stream; for decoded ones, the record's data.
  const streamOffset = provenance.dataOffset !== undefined && (provenance.kind === 'page' || provenance.kind === 'mapped') ? provenance.dataOffset + inPage : provenance.dataOffset;
  return {
    block: img.model.ramBlocks[block].id,
    blockOffset: offset,
    length: n,
    kind: provenance.kind,
    streamOffset,
    fileOffset: streamOffset === undefined ? undefined : img.fileOffsetOf(streamOffset),
    sends: provenance.sends,
    problem: provenance.problem,
  };
}

function blockIndex(img: GuestSource, id: string): number {
  const block = img.model.ramBlocks.findIndex((b) => b.id === id);
  if (block < 0) throw new UserError(`no RAM block named ${id} (blocks: ${img.model.ramBlocks.map((b) => b.id).join(', ')})`);
  return block;
}
