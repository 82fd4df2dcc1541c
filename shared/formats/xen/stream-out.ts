import { IMAGE_SOURCE, bytesPiece, rangePiece, type Piece } from '../../edit/pieces';
import { RECORD_HEADER_BYTES } from './constants';
import { paddingOf, XenWriter } from './wire';

/** A part of a record body: new bytes, or a range of the source stream copied as is. */
export type BodyPart = Uint8Array | { offset: number; length: number; source?: string };

/**
 * Builds an output stream as pieces: new bytes for headers and small records, ranges of the
 * source for page data and blobs, so converting an 8 GiB stream holds no page in memory.
 */
export class StreamOut {
  readonly pieces: Piece[] = [];
  size = 0;

  bytes(b: Uint8Array): this {
    if (b.length) {
      this.pieces.push(bytesPiece(b));
      this.size += b.length;
    }
    return this;
  }

  part(p: BodyPart): this {
    if (p instanceof Uint8Array) return this.bytes(p);
    if (p.length > 0) {
      this.pieces.push(rangePiece(p.source ?? IMAGE_SOURCE, p.offset, p.length));
      this.size += p.length;
    }
    return this;
  }

  /** A record: u32 type, u32 body length (little-endian), the body, zero padding to 8 bytes. */
  record(type: number, ...parts: BodyPart[]): this {
    const length = parts.reduce((n, p) => n + p.length, 0);
    this.bytes(new XenWriter(true, RECORD_HEADER_BYTES).u32(type).u32(length).finish());
    for (const p of parts) this.part(p);
    return this.bytes(new Uint8Array(paddingOf(length)));
  }
}
