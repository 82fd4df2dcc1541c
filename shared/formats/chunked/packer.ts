import { be32 } from '../../io/bytes';
import { CHUNKED_SIGNATURE, DEFAULT_CHUNK_SIZE } from './chunk-types';
import { chunkCrc, chunkHeader, encodeChunk } from './codec';
import { encodeHeader, type ContainerHeaderFields } from './header';
import { ElementSplitter, type SplitNote, type StreamFacts } from './splitter';

/** Receives the container's bytes in order; the arrays are not reused, so they may be kept until written. */
export type ContainerSink = (parts: Uint8Array[]) => void;

export interface PackSummary {
  streamSize: number;
  /** Chunks written by type, MHDR and MEND included. */
  chunks: Record<string, number>;
  facts: StreamFacts;
  notes: SplitNote[];
}

/** Joined in front of a new block when a unit straddles blocks (a header, a record); grows if needed. */
const JOIN_BYTES = 64 << 10;

/**
 * Packs a QEMU stream into a chunked container as the stream arrives: push() its bytes in
 * any block sizes, finish() at its end. Memory is bounded by one chunk and one input block:
 * a chunk is written as soon as the splitter has found where the next one begins, from the
 * very input blocks it arrived in (no copy), with its CRC computed over them.
 */
export class ChunkedPacker {
  private readonly splitter: ElementSplitter;
  /** Received stream bytes not yet written, from stream offset `heldFrom`. */
  private held: Uint8Array[] = [];
  private heldFrom = 0;
  private received = 0;
  /** Bytes from the splitter's resume offset to `received`, fed again in front of the next block. */
  private carry = new Uint8Array(0);
  private carryFrom = 0;
  private open?: { offset: number; type: string };
  private ready: { offset: number; type: string }[] = [];
  private headerWritten = false;
  private readonly counts: Record<string, number> = {};

  constructor(
    private readonly header: ContainerHeaderFields,
    private readonly sink: ContainerSink,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {
    this.splitter = new ElementSplitter(chunkSize);
  }

  get streamSize(): number {
    return this.received;
  }

  push(block: Uint8Array): void {
    if (block.length === 0) return;
    const blockFrom = this.received;
    this.held.push(block);
    this.received += block.length;
    let from = 0;
    if (this.carry.length > 0) {
      // Small join: the unit that straddled the blocks, and enough of this block to finish it.
      for (let take = Math.min(block.length, Math.max(JOIN_BYTES, 2 * this.carry.length)); ; take = Math.min(block.length, take * 2)) {
        const joined = new Uint8Array(this.carry.length + take);
        joined.set(this.carry);
        joined.set(block.subarray(0, take), this.carry.length);
        const resume = this.splitter.feed(joined, this.carryFrom, false);
        if (resume >= blockFrom || take === block.length) {
          from = resume - blockFrom;
          if (from < 0) {
            this.keepCarry(joined, this.carryFrom, resume);
            this.drain();
            return;
          }
          break;
        }
      }
    }
    const resume = this.splitter.feed(block.subarray(from), blockFrom + from, false);
    this.keepCarry(block, blockFrom, resume);
    this.drain();
  }

  /** The stream has ended: writes the last chunks, then `about` (encoded ancillary chunks, e.g. oRIg), then MEND. */
  finish(about: Uint8Array[] = []): PackSummary {
    this.splitter.feed(this.carry, this.carryFrom, true);
    this.carry = new Uint8Array(0);
    this.drain();
    if (this.open && this.received > this.open.offset) this.ready.push({ offset: this.received, type: '' });
    this.writeReady();
    for (const chunk of about) this.writeWhole(chunk);
    this.writeWhole(encodeChunk('MEND', new Uint8Array(0)));
    return { streamSize: this.received, chunks: { ...this.counts }, facts: this.splitter.facts, notes: this.splitter.notes };
  }

  private keepCarry(bytes: Uint8Array, bytesFrom: number, resume: number): void {
    this.carry = bytes.slice(resume - bytesFrom);
    this.carryFrom = resume;
  }

  /** Moves the splitter's cuts into chunks that are complete (the next chunk's start is known). */
  private drain(): void {
    for (const cut of this.splitter.cuts.splice(0)) {
      if (this.open) this.ready.push(cut);
      else this.open = cut;
    }
    if (this.splitter.factsKnown) this.writeReady();
  }

  /** Writes every chunk whose end is known (the signature and MHDR first). */
  private writeReady(): void {
    if (!this.headerWritten) {
      this.headerWritten = true;
      const facts = this.splitter.facts;
      this.sink([CHUNKED_SIGNATURE]);
      this.writeWhole(
        encodeChunkFromHeader({
          ...this.header,
          file_version: facts.fileVersion,
          ...(facts.machineType === undefined ? {} : { machine_type: facts.machineType }),
          page_size: facts.pageSize,
          page_size_from: facts.pageSizeFrom,
          chunk_size: this.chunkSize,
        }),
      );
    }
    for (const next of this.ready.splice(0)) {
      const open = this.open!;
      this.writeStreamChunk(open.type, open.offset, next.offset);
      this.open = next.type ? next : undefined;
    }
  }

  private writeStreamChunk(type: string, from: number, to: number): void {
    if (to === from) return;
    const parts = this.take(from, to);
    this.sink([chunkHeader(type, to - from), ...parts, be32(chunkCrc(type, parts))]);
    this.counts[type] = (this.counts[type] ?? 0) + 1;
  }

  private writeWhole(chunk: Uint8Array): void {
    this.sink([chunk]);
    const type = String.fromCharCode(...chunk.subarray(4, 8));
    this.counts[type] = (this.counts[type] ?? 0) + 1;
  }

  /** The held bytes [from, to) as slices of the blocks they arrived in; everything before `to` is released. */
  private take(from: number, to: number): Uint8Array[] {
    if (from !== this.heldFrom) throw new Error(`internal: chunk at ${from} but the held bytes start at ${this.heldFrom}`);
    const parts: Uint8Array[] = [];
    let at = from;
    while (at < to) {
      const block = this.held[0];
      const n = Math.min(block.length, to - at);
      parts.push(block.subarray(0, n));
      if (n === block.length) this.held.shift();
      else this.held[0] = block.subarray(n);
      at += n;
    }
    this.heldFrom = to;
    return parts;
  }
}

function encodeChunkFromHeader(fields: ContainerHeaderFields): Uint8Array {
  return encodeChunk('MHDR', encodeHeader(fields));
}
