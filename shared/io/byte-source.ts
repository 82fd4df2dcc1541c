/**
 * Random-access, synchronous view of bytes: a file, a slice of a file, a decompressed
 * stream, or a buffer. The format engines read through this interface only, so they run
 * unchanged in a worker thread over a file handle, in tests over memory, and over an edit
 * journal that overlays an untouched original.
 *
 * Synchronous on purpose: the parsers read billions of small fields and an await per read
 * would cost more than the read itself. Long work runs off the UI thread instead.
 */
export interface ByteSource {
  /** Total number of bytes. */
  readonly size: number;
  /**
   * Copies up to `length` bytes starting at `position` into `target` at `targetOffset`.
   * Returns the number of bytes copied, fewer than `length` only at the end of the source.
   */
  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number;
}

/** A ByteSource over bytes already in memory (tests, small embedded streams). */
export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.length;
  }

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (position >= this.bytes.length || length <= 0) return 0;
    const n = Math.min(length, this.bytes.length - position);
    target.set(this.bytes.subarray(position, position + n), targetOffset);
    return n;
  }
}

/** A window [start, start + size) of another source, seen as starting at 0. */
export class SliceSource implements ByteSource {
  readonly size: number;

  constructor(private readonly inner: ByteSource, readonly start: number, size?: number) {
    const available = Math.max(0, inner.size - start);
    this.size = size === undefined ? available : Math.min(size, available);
  }

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (position >= this.size || length <= 0) return 0;
    const n = Math.min(length, this.size - position);
    return this.inner.readInto(target, targetOffset, n, this.start + position);
  }
}

/** Reads [position, position + length) clipped to the end of the source into a new array. */
export function readBytes(source: ByteSource, position: number, length: number): Uint8Array {
  const n = Math.max(0, Math.min(length, source.size - position));
  const out = new Uint8Array(n);
  let done = 0;
  while (done < n) {
    const got = source.readInto(out, done, n - done, position + done);
    if (got <= 0) break;
    done += got;
  }
  return done === n ? out : out.subarray(0, done);
}
