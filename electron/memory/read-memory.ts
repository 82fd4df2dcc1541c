import { describeMappedRegions, resolveGuestAddress, type MachineLayout } from '../../shared/memory/layout';
import { readGuestPage } from '../../shared/formats/qemu-stream/ram-reader';
import type { OpenedImage } from '../services/open-image';
import { UserError } from '../services/user-error';
import { hexAddress } from './addresses';

/** Reads larger than this belong to extract-ram. */
export const MAX_READ = 64 << 20;

/** Where the bytes of one guest page (or part of it) came from. */
export interface PageOrigin {
  gpa?: number;
  block: string;
  blockOffset: number;
  length: number;
  /** Kind of the record giving the final content, or never-sent. */
  kind: string;
  /** Offset of the record data in the stream, and in the file when the file holds it. */
  streamOffset?: number;
  fileOffset?: number;
  /** Records that sent this page. */
  sends: number;
  problem?: string;
}

export interface GuestRead {
  bytes: Uint8Array;
  origins: PageOrigin[];
}

export type GuestAddress = { gpa: number } | { block: string; offset: number };

/** Reads guest memory by guest-physical address (through the machine layout) or by block and offset. */
export function readGuestMemory(img: OpenedImage, where: GuestAddress, length: number, layout: MachineLayout | undefined): GuestRead {
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
      block = img.model.ramBlocks.findIndex((b) => b.id === where.block);
      if (block < 0) throw new UserError(`no RAM block named ${where.block} (blocks: ${img.model.ramBlocks.map((b) => b.id).join(', ')})`);
      offset = where.offset + done;
      limit = img.model.ramBlocks[block].usedLength - offset;
      if (limit <= 0) throw new UserError(`offset ${hexAddress(offset)} is past the end of ${where.block} (${img.model.ramBlocks[block].usedLength} bytes)`);
    }
    const ps = img.model.pageSize;
    const page = Math.floor(offset / ps);
    const inPage = offset - page * ps;
    const n = Math.min(ps - inPage, limit, length - done);
    const { bytes: content, provenance } = readGuestPage(img.source, img.model, block, page);
    bytes.set(content.subarray(inPage, inPage + n), done);
    const streamOffset = provenance.dataOffset !== undefined && (provenance.kind === 'page' || provenance.kind === 'mapped') ? provenance.dataOffset + inPage : provenance.dataOffset;
    origins.push({
      gpa,
      block: img.model.ramBlocks[block].id,
      blockOffset: offset,
      length: n,
      kind: provenance.kind,
      streamOffset,
      fileOffset: streamOffset === undefined ? undefined : img.fileOffsetOf(streamOffset),
      sends: provenance.sends,
      problem: provenance.problem,
    });
    done += n;
  }
  return { bytes, origins };
}

