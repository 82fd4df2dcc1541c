import type { ByteSource } from '../../shared/io/byte-source';

/**
 * Read buffers for a one-pass copy (pack, unpack), reused once the consumer has let go of
 * the bytes they last held. Fresh memory costs a page fault per 4 KiB page: reading 1 GiB
 * into new 4 MiB buffers takes several times as long as reading it into a reused one.
 *
 * The consumer may keep slices of a block (a chunk not yet complete) across reads, so a
 * block is reused only when every byte it held lies before `keptFrom`, the first offset the
 * consumer still needs; otherwise a new block is made. Memory stays bounded by what the
 * consumer keeps plus a few blocks.
 */
export class ReadBlocks {
  private readonly pool: { buf: Buffer; end: number }[] = [];

  /**
   * `reuse` false: every block is new (the output keeps references to what it was given,
   * as a pipe's queue does, so nothing handed on may be overwritten).
   */
  constructor(
    readonly blockSize: number,
    private readonly reuse: boolean,
    private readonly options: { poolSize?: number; shared?: boolean } = {},
  ) {}

  /** A buffer for the bytes from `at` on, given that the consumer needs nothing before `keptFrom`. */
  next(at: number, keptFrom: number): Buffer {
    const block = this.reuse ? (this.pool.find((b) => b.end <= keptFrom) ?? this.grow()) : undefined;
    if (!block) return this.allocate();
    block.end = at + this.blockSize;
    return block.buf;
  }

  private grow(): { buf: Buffer; end: number } | undefined {
    if (this.pool.length >= (this.options.poolSize ?? 4)) return undefined;
    const block = { buf: this.allocate(), end: 0 };
    this.pool.push(block);
    return block;
  }

  /** `shared`: in a SharedArrayBuffer, which a worker thread reads without a copy. */
  private allocate(): Buffer {
    return this.options.shared ? Buffer.from(new SharedArrayBuffer(this.blockSize)) : Buffer.allocUnsafeSlow(this.blockSize);
  }
}

/** Reads up to `length` bytes at `position` into `target` from its start; fewer only at the end. */
export type AsyncRead = (target: Uint8Array, length: number, position: number) => Promise<number>;

/** The bytes [0, size) of a source, forward, each block read into `blocks` reusing memory before `keptFrom()`. */
export function* readBlocksSync(source: ByteSource, blocks: ReadBlocks, keptFrom: () => number, what = 'the input'): Iterable<Uint8Array> {
  for (let at = 0; at < source.size; ) {
    const block = blocks.next(at, keptFrom());
    const n = source.readInto(block, 0, Math.min(block.length, source.size - at), at);
    if (n <= 0) throw new Error(`${what} could not be read at byte ${at}`);
    at += n;
    yield block.subarray(0, n);
  }
}

/**
 * The bytes [0, size) read forward on libuv's thread pool, `ahead` blocks in flight: the
 * copy out of the page cache (a third of a pack's or unpack's work) runs on another core
 * while the caller checks the block before. The blocks in flight are counted as kept (their
 * `end` lies past anything the caller has let go of), so none is reused under a read. When
 * the caller stops early, the reads in flight are waited for before the generator ends, so
 * the caller may close the file then.
 */
export async function* readBlocksAhead(read: AsyncRead, size: number, blocks: ReadBlocks, keptFrom: () => number, ahead = 2, what = 'the input'): AsyncIterable<Uint8Array> {
  const inFlight: Promise<Uint8Array>[] = [];
  let next = 0;
  const issue = () => {
    const at = next;
    const n = Math.min(blocks.blockSize, size - at);
    const block = blocks.next(at, keptFrom());
    next += n;
    const done = readFully(read, block, n, at, what);
    done.catch(() => {}); // awaited in order below; a failure after the caller stopped is of no use
    inFlight.push(done);
  };
  try {
    for (;;) {
      while (inFlight.length < ahead && next < size) issue();
      const done = inFlight.shift();
      if (!done) return;
      yield await done;
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
}

async function readFully(read: AsyncRead, block: Uint8Array, n: number, at: number, what: string): Promise<Uint8Array> {
  for (let got = 0; got < n; ) {
    const k = await read(block.subarray(got, n), n - got, at + got);
    if (k <= 0) throw new Error(`${what} could not be read at byte ${at + got}`);
    got += k;
  }
  return block.subarray(0, n);
}

/** Lets timers, signals (Ctrl-C) and progress output run now and then during a synchronous copy. */
export class EventLoopTurns {
  private last = 0;

  constructor(private readonly everyBytes = 64 << 20) {}

  async after(done: number): Promise<void> {
    if (done - this.last < this.everyBytes) return;
    this.last = done;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
