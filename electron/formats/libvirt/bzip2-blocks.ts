import type { Readable } from 'node:stream';

/**
 * bzip2 decoded one block at a time with the block decoder of unbzip2-stream (a pure-JS
 * port of bzip2's decompressor). The package's own stream wrapper decodes every block its
 * input holds in one go and collects each block's bytes in a JS array of numbers, which
 * let a small bomb reach gigabytes; here each block's output goes into one buffer and is
 * handed out before the next block is decoded.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bz2 = require('unbzip2-stream/lib/bzip2') as {
  header(bits: BitReader): number;
  decompress(bits: BitReader, write: (byte: number) => void, buf: Int32Array, bufsize: number, streamCRC: number | null): number | null;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bitIterator = require('unbzip2-stream/lib/bit_iterator') as (next: () => Uint8Array | undefined) => BitReader;

interface BitReader {
  (n: number | null): number;
  bytesRead: number;
}

/** Bytes a bzip2 block of `level` (1-9) needs before it can be decoded without running out of input. */
function blockInput(level: number): number {
  return 25000 + 100000 * level || 4;
}

export async function* bzip2Blocks(input: Readable): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let buffered = 0;
  let level = 0;
  let streamCRC: number | null = null;
  let work: Int32Array | undefined;
  let sawStream = false;
  // Created on the first chunk: the bit reader takes its first buffer when it is made.
  let bits: BitReader | undefined;

  /** One step: a stream header (no output) or one block (its bytes); undefined at the end of a stream. */
  const step = (bits: BitReader): Uint8Array | undefined => {
    if (!level) {
      level = bz2.header(bits);
      streamCRC = 0;
      sawStream = true;
      return undefined;
    }
    const size = 100000 * level;
    if (work?.length !== size) work = new Int32Array(size);
    let out = Buffer.allocUnsafe(1 << 20);
    let n = 0;
    streamCRC = bz2.decompress(
      bits,
      (byte) => {
        if (n === out.length) {
          const bigger = Buffer.allocUnsafe(out.length * 2);
          out.copy(bigger, 0, 0, n);
          out = bigger;
        }
        out[n++] = byte;
      },
      work,
      size,
      streamCRC,
    );
    if (streamCRC === null) level = 0; // end of this stream; another may follow
    return out.subarray(0, n);
  };

  try {
    for await (const chunk of input) {
      queue.push(chunk as Uint8Array);
      buffered += (chunk as Uint8Array).length;
      bits ??= bitIterator(() => queue.shift());
      while (buffered - bits.bytesRead + 1 >= blockInput(level)) {
        const out = step(bits);
        if (out?.length) yield out;
      }
    }
    while (bits && buffered > bits.bytesRead) {
      const out = step(bits);
      if (out?.length) yield out;
    }
  } catch (e) {
    // The bit reader runs dry (reads past the queue) when the data is cut inside a block.
    if (e instanceof TypeError) throw new Error('the bzip2 data ends inside a block (truncated)');
    throw e;
  }
  if (!sawStream || streamCRC !== null) throw new Error('the bzip2 data ends before its end-of-stream marker (truncated)');
}
