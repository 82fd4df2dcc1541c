import type { ByteSource } from './byte-source';
import { lastAtOrBefore } from '../util/sorted';

/** Bytes [stream, stream + length) of the assembled source are bytes [file, file + length) of the underlying one. */
export interface SourcePiece {
  stream: number;
  file: number;
  length: number;
}

/**
 * A source assembled from pieces of another: a stream stored in several places of a file
 * (a chunked container's chunks, records of a Xen stream, clusters). The pieces must tile
 * [0, size) in order without gaps or overlaps, which the constructor checks; reads cross
 * piece boundaries transparently.
 */
export class PiecewiseSource implements ByteSource {
  readonly size: number;
  private readonly pieces: readonly SourcePiece[];

  constructor(
    private readonly inner: ByteSource,
    pieces: readonly SourcePiece[],
  ) {
    let at = 0;
    for (const p of pieces) {
      if (p.stream !== at || !Number.isSafeInteger(p.length) || p.length < 0 || p.file < 0) {
        throw new RangeError(`pieces must tile the source in order: a piece at ${p.stream} (length ${p.length}) where ${at} was expected`);
      }
      at += p.length;
    }
    this.pieces = pieces.filter((p) => p.length > 0);
    this.size = at;
  }

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (position >= this.size || length <= 0) return 0;
    const end = Math.min(this.size, position + length);
    let done = 0;
    for (let i = lastAtOrBefore(this.pieces, position, (p) => p.stream); i < this.pieces.length && position + done < end; i++) {
      const p = this.pieces[i];
      const from = position + done - p.stream;
      const n = Math.min(p.length - from, end - position - done);
      let got = 0;
      while (got < n) {
        const r = this.inner.readInto(target, targetOffset + done + got, n - got, p.file + from + got);
        if (r <= 0) return done + got;
        got += r;
      }
      done += n;
    }
    return done;
  }
}
