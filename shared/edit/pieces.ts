import type { ByteSource } from '../io/byte-source';
import { lastAtOrBefore } from '../util/sorted';

/** The id of the untouched original in every journal; donors get ids of their own. */
export const IMAGE_SOURCE = 'image';

/**
 * A stretch of the edited image: either a range of one of the journal's read-only sources
 * (the original, a donor image) or bytes the user or a fixup wrote. An edited 8 GiB image
 * is a short list of these, never a copy of the data.
 */
export type Piece = { kind: 'range'; source: string; offset: number; length: number } | { kind: 'bytes'; bytes: Uint8Array };

export function pieceLength(p: Piece): number {
  return p.kind === 'range' ? p.length : p.bytes.length;
}

export function bytesPiece(bytes: Uint8Array): Piece {
  return { kind: 'bytes', bytes };
}

export function rangePiece(source: string, offset: number, length: number): Piece {
  return { kind: 'range', source, offset, length };
}

export function totalLength(pieces: readonly Piece[]): number {
  return pieces.reduce((n, p) => n + pieceLength(p), 0);
}

/** The part [from, from + length) of a piece. */
function subPiece(p: Piece, from: number, length: number): Piece {
  return p.kind === 'range' ? { kind: 'range', source: p.source, offset: p.offset + from, length } : { kind: 'bytes', bytes: p.bytes.subarray(from, from + length) };
}

/**
 * The edit timeline over the untouched sources (VS Code hex editor's Read/Insert ranges):
 * an ordered list of pieces with their start offsets in the edited image. `splice` is the
 * only mutation; it returns what it removed, so every change can be undone exactly.
 */
export class PieceTable {
  private pieces: Piece[];
  private starts: number[];
  private length: number;

  constructor(private readonly sources: ReadonlyMap<string, ByteSource>, initial: Piece[]) {
    this.pieces = initial.filter((p) => pieceLength(p) > 0);
    this.starts = [];
    this.length = 0;
    this.reindex(0);
  }

  get size(): number {
    return this.length;
  }

  /** Replaces [at, at + deleteLength) with `insert`; returns the pieces that were there. */
  splice(at: number, deleteLength: number, insert: readonly Piece[]): Piece[] {
    if (!Number.isInteger(at) || !Number.isInteger(deleteLength) || at < 0 || deleteLength < 0 || at + deleteLength > this.length) {
      throw new RangeError(`splice [${at}, ${at + deleteLength}) is outside the edited image of ${this.length} bytes`);
    }
    for (const p of insert) if (p.kind === 'range' && !this.sources.has(p.source)) throw new RangeError(`unknown source "${p.source}"`);
    const first = this.splitAt(at);
    const last = this.splitAt(at + deleteLength);
    const removed = this.pieces.slice(first, last);
    this.pieces.splice(first, last - first, ...insert.filter((p) => pieceLength(p) > 0));
    this.reindex(first);
    return removed;
  }

  /** An immutable view of the current state: later splices do not change it. */
  snapshot(): JournalSource {
    return new JournalSource(this.sources, this.pieces.slice(), this.starts.slice(), this.length);
  }

  /** Makes a piece boundary at `offset` and returns the index of the piece starting there. */
  private splitAt(offset: number): number {
    if (offset === this.length) return this.pieces.length;
    const i = findPiece(this.starts, offset);
    const start = this.starts[i];
    if (start === offset) return i;
    const p = this.pieces[i];
    const head = offset - start;
    this.pieces.splice(i, 1, subPiece(p, 0, head), subPiece(p, head, pieceLength(p) - head));
    this.starts.splice(i + 1, 0, offset);
    return i + 1;
  }

  private reindex(from: number): void {
    this.starts.length = this.pieces.length;
    let at = from === 0 ? 0 : this.starts[from - 1] + pieceLength(this.pieces[from - 1]);
    for (let i = from; i < this.pieces.length; i++) {
      this.starts[i] = at;
      at += pieceLength(this.pieces[i]);
    }
    this.length = at;
  }
}

/** Index of the piece holding `offset` (binary search over start offsets). */
function findPiece(starts: readonly number[], offset: number): number {
  return lastAtOrBefore(starts, offset, (start) => start);
}

/**
 * The edited image as a ByteSource, read through the edit timeline without writing
 * anything: the stream parser, the section decoder and the RAM reader run on it unchanged.
 */
export class JournalSource implements ByteSource {
  constructor(
    private readonly sources: ReadonlyMap<string, ByteSource>,
    private readonly pieces: readonly Piece[],
    private readonly starts: readonly number[],
    readonly size: number,
  ) {}

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (position >= this.size || length <= 0) return 0;
    const end = Math.min(this.size, position + length);
    let done = 0;
    for (let i = findPiece(this.starts, position); i < this.pieces.length && position + done < end; i++) {
      const p = this.pieces[i];
      const from = position + done - this.starts[i];
      const n = Math.min(pieceLength(p) - from, end - position - done);
      if (p.kind === 'bytes') {
        target.set(p.bytes.subarray(from, from + n), targetOffset + done);
      } else {
        const got = readFully(this.sources.get(p.source)!, target, targetOffset + done, n, p.offset + from);
        if (got < n) return done + got;
      }
      done += n;
    }
    return done;
  }

  /** The pieces that make up [offset, offset + length) of this view (to move or copy it). */
  slice(offset: number, length: number): Piece[] {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new RangeError(`[${offset}, ${offset + length}) is outside the ${this.size} bytes of the view`);
    const out: Piece[] = [];
    let at = offset;
    const end = offset + length;
    for (let i = length > 0 ? findPiece(this.starts, offset) : this.pieces.length; i < this.pieces.length && at < end; i++) {
      const from = at - this.starts[i];
      const n = Math.min(pieceLength(this.pieces[i]) - from, end - at);
      out.push(subPiece(this.pieces[i], from, n));
      at += n;
    }
    return out;
  }

  /** The timeline itself: what is read from where (for reports and the hex view's colouring). */
  timeline(): { offset: number; piece: Piece }[] {
    return this.pieces.map((piece, i) => ({ offset: this.starts[i], piece }));
  }
}

function readFully(source: ByteSource, target: Uint8Array, targetOffset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const got = source.readInto(target, targetOffset + done, length - done, position + done);
    if (got <= 0) break;
    done += got;
  }
  return done;
}
