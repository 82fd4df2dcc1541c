/**
 * Splits zstd data (RFC 8878) into its frame headers, blocks and checksums without
 * decoding them, so a decoder can be fed one block at a time: a block never decodes to
 * more than 128 KiB (at most 2 MiB as its header can say), whatever the compression ratio,
 * so the output of each step is bounded and the caller can wait between steps.
 */
const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

type State = { kind: 'frame-start' } | { kind: 'block' } | { kind: 'checksum' };

export class ZstdFraming {
  private pending: Uint8Array = new Uint8Array(0);
  private state: State = { kind: 'frame-start' };
  private checksum = false;
  /** Compressed bytes handed out so far. */
  consumed = 0;

  append(chunk: Uint8Array): void {
    if (!this.pending.length) this.pending = chunk;
    else {
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending);
      joined.set(chunk, this.pending.length);
      this.pending = joined;
    }
  }

  /** True between frames: the data may end here. */
  get atFrameBoundary(): boolean {
    return this.state.kind === 'frame-start';
  }

  /** The next whole piece (frame header, skippable frame, block or checksum), or undefined until more bytes arrive. */
  next(): Uint8Array | undefined {
    const p = this.pending;
    switch (this.state.kind) {
      case 'frame-start': {
        if (p.length < 4) return undefined;
        const magic = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) >>> 0;
        if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          if (p.length < 8) return undefined;
          const size = (p[4] | (p[5] << 8) | (p[6] << 16) | (p[7] << 24)) >>> 0;
          return this.take(8 + size);
        }
        if (magic !== ZSTD_MAGIC) throw new Error(`not zstd data (no frame magic at compressed offset ${this.consumed})`);
        if (p.length < 5) return undefined;
        const fhd = p[4];
        const single = (fhd >> 5) & 1;
        const fcsFlag = fhd >> 6;
        const headerLength = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + [single, 2, 4, 8][fcsFlag];
        this.checksum = ((fhd >> 2) & 1) === 1;
        const piece = this.take(headerLength);
        if (piece) this.state = { kind: 'block' };
        return piece;
      }
      case 'block': {
        if (p.length < 3) return undefined;
        const header = p[0] | (p[1] << 8) | (p[2] << 16);
        const last = header & 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new Error(`reserved zstd block type at compressed offset ${this.consumed}`);
        const piece = this.take(3 + (type === 1 ? 1 : size));
        if (piece && last) this.state = this.checksum ? { kind: 'checksum' } : { kind: 'frame-start' };
        return piece;
      }
      case 'checksum': {
        const piece = this.take(4);
        if (piece) this.state = { kind: 'frame-start' };
        return piece;
      }
    }
  }

  private take(n: number): Uint8Array | undefined {
    if (this.pending.length < n) return undefined;
    const piece = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.consumed += n;
    return piece;
  }
}
