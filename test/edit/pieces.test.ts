import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesPiece, IMAGE_SOURCE, PieceTable, rangePiece, totalLength, type Piece } from '../../shared/edit/pieces';
import { MemorySource, readBytes, type ByteSource } from '../../shared/io/byte-source';
import { assertProperty } from '../helpers/property';

/**
 * The piece table under the edit journal: the edited image as ranges of untouched sources
 * and written bytes, read through a snapshot as a ByteSource.
 */
const ORIGINAL = Uint8Array.from({ length: 64 }, (_, i) => i);
const DONOR = Uint8Array.from({ length: 32 }, (_, i) => 200 + i);

function table(sources: Record<string, ByteSource> = { [IMAGE_SOURCE]: new MemorySource(ORIGINAL), donor: new MemorySource(DONOR) }): PieceTable {
  return new PieceTable(new Map(Object.entries(sources)), [rangePiece(IMAGE_SOURCE, 0, sources[IMAGE_SOURCE].size)]);
}

/** A source that hands out at most three bytes per read, as a slow device may. */
class Trickle implements ByteSource {
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    return this.inner.readInto(target, targetOffset, Math.min(3, length), position);
  }
}

describe('the piece table', () => {
  it('refuses a splice outside the image, of a fractional or negative size, or from an unknown source, and is unchanged after', () => {
    const t = table();
    const before = readBytes(t.snapshot(), 0, 64);
    expect(() => t.splice(60, 5, [])).toThrow(/splice \[60, 65\) is outside the edited image of 64 bytes/);
    expect(() => t.splice(-1, 0, [])).toThrow(RangeError);
    expect(() => t.splice(0, -1, [])).toThrow(RangeError);
    expect(() => t.splice(1.5, 0, [])).toThrow(RangeError);
    expect(() => t.splice(0, 0.5, [])).toThrow(RangeError);
    expect(() => t.splice(0, 0, [rangePiece('nobody', 0, 1)])).toThrow(/unknown source "nobody"/);
    expect(t.size).toBe(64);
    expect(readBytes(t.snapshot(), 0, 64)).toEqual(before);
    // The edges themselves are inside: an insertion at the very end, a deletion of everything.
    expect(t.splice(64, 0, [bytesPiece(Uint8Array.of(1))])).toEqual([]);
    expect(totalLength(t.splice(0, 65, []))).toBe(65);
    expect(t.size).toBe(0);
  });

  it('returns exactly what a splice removed, so putting it back restores the bytes; empty pieces are dropped', () => {
    const t = table();
    const removed = t.splice(10, 20, [bytesPiece(Uint8Array.of(9, 9)), bytesPiece(new Uint8Array(0)), rangePiece('donor', 4, 3)]);
    expect(removed).toEqual([rangePiece(IMAGE_SOURCE, 10, 20)]);
    expect(t.size).toBe(64 - 20 + 5);
    expect(t.snapshot().timeline()).toEqual([
      { offset: 0, piece: rangePiece(IMAGE_SOURCE, 0, 10) },
      { offset: 10, piece: bytesPiece(Uint8Array.of(9, 9)) },
      { offset: 12, piece: rangePiece('donor', 4, 3) },
      { offset: 15, piece: rangePiece(IMAGE_SOURCE, 30, 34) },
    ]);
    expect(Array.from(readBytes(t.snapshot(), 8, 10))).toEqual([8, 9, 9, 9, 204, 205, 206, 30, 31, 32]);
    t.splice(10, 5, removed);
    expect(readBytes(t.snapshot(), 0, 64)).toEqual(ORIGINAL);
  });

  it('a snapshot keeps what it showed when later splices change the table', () => {
    const t = table();
    const first = t.snapshot();
    t.splice(0, 32, [bytesPiece(Uint8Array.of(7))]);
    expect(first.size).toBe(64);
    expect(readBytes(first, 0, 64)).toEqual(ORIGINAL);
    expect(t.snapshot().size).toBe(33);
  });

  it('reads any window like a plain array, from sources that hand out a few bytes at a time', () => {
    const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 20 }), bytes: fc.uint8Array({ maxLength: 10 }), donorAt: fc.nat({ max: 28 }) });
    assertProperty(
      fc.property(fc.array(edit, { maxLength: 12 }), fc.nat(), fc.integer({ min: -2, max: 90 }), (edits, at, length) => {
        const t = table({ [IMAGE_SOURCE]: new Trickle(new MemorySource(ORIGINAL)), donor: new Trickle(new MemorySource(DONOR)) });
        let plain = Array.from(ORIGINAL);
        for (const e of edits) {
          const offset = e.at % (plain.length + 1);
          const del = Math.min(e.del, plain.length - offset);
          const donorBytes = Array.from(DONOR.subarray(e.donorAt, e.donorAt + 4));
          t.splice(offset, del, [bytesPiece(e.bytes), rangePiece('donor', e.donorAt, 4)]);
          plain = [...plain.slice(0, offset), ...e.bytes, ...donorBytes, ...plain.slice(offset + del)];
        }
        const view = t.snapshot();
        expect(view.size).toBe(plain.length);
        const position = at % (plain.length + 2);
        const target = new Uint8Array(Math.max(0, length) + 4).fill(0xee);
        const got = view.readInto(target, 2, length, position);
        const want = length <= 0 ? [] : plain.slice(position, position + length);
        expect(got).toBe(want.length);
        expect(Array.from(target.subarray(2, 2 + got))).toEqual(want);
        expect(Array.from(target.subarray(0, 2))).toEqual([0xee, 0xee]);
        // slice() gives pieces that read as the same bytes.
        const sliceLength = Math.min(Math.max(0, length), plain.length - Math.min(position, plain.length));
        const pieces: Piece[] = view.slice(Math.min(position, plain.length), sliceLength);
        expect(totalLength(pieces)).toBe(sliceLength);
      }),
      { numRuns: 300 },
    );
  });

  it('a source that ends early (a file cut while open) gives what it has, and slice refuses ranges outside the view', () => {
    const shorter: ByteSource = { size: 64, readInto: (target, targetOffset, length, position) => new MemorySource(ORIGINAL.subarray(0, 40)).readInto(target, targetOffset, length, position) };
    const t = table({ [IMAGE_SOURCE]: shorter });
    t.splice(0, 0, [bytesPiece(Uint8Array.of(1, 2))]);
    const target = new Uint8Array(64);
    expect(t.snapshot().readInto(target, 0, 64, 0)).toBe(42);
    expect(Array.from(target.subarray(0, 4))).toEqual([1, 2, 0, 1]);
    const view = t.snapshot();
    expect(() => view.slice(60, 10)).toThrow(/\[60, 70\) is outside the 66 bytes of the view/);
    expect(() => view.slice(-1, 1)).toThrow(RangeError);
    expect(() => view.slice(0, -1)).toThrow(RangeError);
    expect(view.slice(66, 0)).toEqual([]);
    expect(view.slice(1, 2)).toEqual([bytesPiece(Uint8Array.of(2)), rangePiece(IMAGE_SOURCE, 0, 1)]);
  });
});
