import { readBytes, type ByteSource } from '../../io/byte-source';

/**
 * Bytes read from a Xen stream with the stream's byte order: the libxc image header and the
 * libxl header are always big-endian, everything else follows their endianness bit (and
 * legacy streams are in the saving host's order, little-endian on x86).
 */
export class XenBytes {
  private readonly view: DataView;

  constructor(readonly data: Uint8Array, readonly littleEndian: boolean) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  static at(source: ByteSource, offset: number, length: number, littleEndian: boolean): XenBytes {
    return new XenBytes(readBytes(source, offset, length), littleEndian);
  }

  get length(): number {
    return this.data.length;
  }

  u8(at: number): number {
    return this.data[at];
  }

  u16(at: number): number {
    return this.view.getUint16(at, this.littleEndian);
  }

  u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }

  i32(at: number): number {
    return this.view.getInt32(at, this.littleEndian);
  }

  /** As a number: exact below 2^53 (every pfn and length a real stream holds). */
  u64(at: number): number {
    const lo = this.view.getUint32(at + (this.littleEndian ? 0 : 4), this.littleEndian);
    const hi = this.view.getUint32(at + (this.littleEndian ? 4 : 0), this.littleEndian);
    return hi * 0x1_0000_0000 + lo;
  }

  u64big(at: number): bigint {
    return this.view.getBigUint64(at, this.littleEndian);
  }

  /** An unsigned long of the legacy toolstack: 4 or 8 bytes. */
  ulong(at: number, width: 4 | 8): number {
    return width === 8 ? this.u64(at) : this.u32(at);
  }

  sub(at: number, length: number): Uint8Array {
    return this.data.subarray(at, at + length);
  }
}

/** Little- or big-endian encoder for the writers. */
export class XenWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(readonly littleEndian = true, capacity = 64) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.view = new DataView(this.buf.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // Each method reserves before touching buf: reserve() may replace it.
  u8(v: number): this {
    const at = this.reserve(1);
    this.buf[at] = v;
    return this;
  }

  u16(v: number, littleEndian = this.littleEndian): this {
    const at = this.reserve(2);
    this.view.setUint16(at, v, littleEndian);
    return this;
  }

  u32(v: number, littleEndian = this.littleEndian): this {
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0, littleEndian);
    return this;
  }

  i32(v: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, v, this.littleEndian);
    return this;
  }

  u64(v: number | bigint, littleEndian = this.littleEndian): this {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), littleEndian);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }

  zeros(n: number): this {
    const at = this.reserve(n);
    this.buf.fill(0, at, this.length);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Padding that brings a body of `length` bytes to the 8-byte record alignment. */
export function paddingOf(length: number): number {
  return (8 - (length % 8)) % 8;
}

export function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** Thrown by SeqReader when a read needs bytes past the end of the file. */
export class EndOfStream extends Error {
  constructor(readonly offset: number, readonly needed: number) {
    super(`needed ${needed} bytes at offset ${offset}, past the end of the file`);
  }
}

/** A forward reader of small fields in one byte order (the legacy format has no framing to index by). */
export class SeqReader {
  constructor(private readonly source: ByteSource, public pos: number, private readonly le: boolean) {}

  get size(): number {
    return this.source.size;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  take(n: number): XenBytes {
    if (n > this.remaining) throw new EndOfStream(this.pos, n);
    const b = XenBytes.at(this.source, this.pos, n, this.le);
    this.pos += n;
    return b;
  }

  skip(n: number): void {
    if (n > this.remaining) throw new EndOfStream(this.pos, n);
    this.pos += n;
  }

  u32(): number {
    return this.take(4).u32(0);
  }

  i32(): number {
    return this.take(4).i32(0);
  }

  u64(): number {
    return this.take(8).u64(0);
  }

  ulong(width: 4 | 8): number {
    return this.take(width).ulong(0, width);
  }
}
