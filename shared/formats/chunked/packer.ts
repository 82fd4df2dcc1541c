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
const EMPTY = new Uint8Array(0);

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
  private heldHead = 0;
  private heldFrom = 0;
  private received = 0;
  /** Bytes from the splitter's resume offset to `received`, fed again in front of the next block. */
  private readonly carry = new CarryBuffer();
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

  /** The first stream offset whose bytes the packer still holds (slices of pushed blocks); the caller may reuse memory before it. */
  get keptFrom(): number {
    return this.heldFrom;
  }

  push(block: Uint8Array): void {
    if (block.length === 0) return;
    const blockFrom = this.received;
    this.held.push(block);
    this.received += block.length;
    if (this.carry.length > 0 && block.length < JOIN_BYTES) {
      // A small block after a unit that straddled: it joins the carried bytes.
      this.carry.append(block);
      this.carry.dropBefore(this.splitter.feed(this.carry.bytes(), this.carry.from, false));
      this.drain();
      return;
    }
    let from = 0;
    if (this.carry.length > 0) {
      // Joins the carried unit with as much of this block as it takes to finish it.
      for (let take = Math.min(block.length, Math.max(JOIN_BYTES, 2 * this.carry.length)); ; take = Math.min(block.length, take * 2)) {
        const joined = new Uint8Array(this.carry.length + take);
        joined.set(this.carry.bytes());
        joined.set(block.subarray(0, take), this.carry.length);
        const resume = this.splitter.feed(joined, this.carry.from, false);
        if (resume >= blockFrom || take === block.length) {
          from = resume - blockFrom;
          if (from < 0) {
            this.carry.reset(joined.subarray(resume - this.carry.from), resume);
            this.drain();
            return;
          }
          break;
        }
      }
    }
    const resume = this.splitter.feed(block.subarray(from), blockFrom + from, false);
    this.carry.reset(block.subarray(resume - blockFrom), resume);
    this.drain();
  }

  /** The stream has ended: writes the last chunks, then `about` (encoded ancillary chunks, e.g. oRIg), then MEND. */
  finish(about: Uint8Array[] = []): PackSummary {
    this.splitter.feed(this.carry.bytes(), this.carry.from, true);
    this.carry.reset(new Uint8Array(0), this.received);
    this.drain();
    if (this.open && this.received > this.open.offset) this.ready.push({ offset: this.received, type: '' });
    this.writeReady();
    for (const chunk of about) this.writeWhole(chunk);
    this.writeWhole(encodeChunk('MEND', new Uint8Array(0)));
    return { streamSize: this.received, chunks: { ...this.counts }, facts: this.splitter.facts, notes: this.splitter.notes };
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
    this.sink([chunkHeader(type, to - from)].concat(parts, [be32(chunkCrc(type, parts))]));
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
      const block = this.held[this.heldHead];
      const n = Math.min(block.length, to - at);
      parts.push(block.subarray(0, n));
      // A block written out is let go at once: the list must not keep it (and its memory) alive.
      if (n === block.length) this.held[this.heldHead++] = EMPTY;
      else this.held[this.heldHead] = block.subarray(n);
      at += n;
    }
    if (this.heldHead > 64 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    this.heldFrom = to;
    return parts;
  }
}

function encodeChunkFromHeader(fields: ContainerHeaderFields): Uint8Array {
  return encodeChunk('MHDR', encodeHeader(fields));
}

/** The stream bytes a unit straddling blocks needs again: a window that grows by doubling and drops its front without copying. */
class CarryBuffer {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;
  /** Stream offset of the first carried byte. */
  from = 0;

  get length(): number {
    return this.end - this.start;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** Carries a copy of `bytes`, which begin at stream offset `from`. */
  reset(bytes: Uint8Array, from: number): void {
    this.buf = bytes.slice();
    this.start = 0;
    this.end = bytes.length;
    this.from = from;
  }

  append(bytes: Uint8Array): void {
    if (this.end + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(2 * this.length + bytes.length, 4096));
      grown.set(this.bytes());
      this.buf = grown;
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Forgets the bytes before stream offset `offset`. */
  dropBefore(offset: number): void {
    this.start += offset - this.from;
    this.from = offset;
  }
}
