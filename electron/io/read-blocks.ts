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
