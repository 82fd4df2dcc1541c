import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadBlocks, readBlocksAhead, type AsyncRead } from '../../electron/io/read-blocks';
import { ThreadedSha256 } from '../../electron/io/threaded-sha256';
import { packImage } from '../../electron/services/pack-image';
import { unpackImage } from '../../electron/services/unpack-image';
import { tempDir, walk } from '../helpers/chunked';
import { corpusPath } from '../helpers/corpus';

/**
 * pack and unpack read a file ahead on libuv's pool (reads in flight while the block before
 * is checked), hash on a second thread and write in the background. Each of these works on
 * memory another one may still use; these tests make the other side slow or out of order and
 * check that no byte is overwritten while it is needed, that everything comes out in order,
 * and that stopping early leaves no read or file behind.
 */
const BLOCK = 64 << 10;

/** An async reader over `bytes` whose reads finish after random delays (so out of order), some short. */
function slowReader(bytes: Uint8Array, counts: { issued: number; settled: number; inFlight: number; maxInFlight: number }): AsyncRead {
  return async (target, length, position) => {
    counts.issued++;
    counts.inFlight++;
    counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
    // Copies at completion, as the kernel would: a reused block would be overwritten now.
    const n = Math.min(length, bytes.length - position, Math.random() < 0.3 ? Math.ceil(length / 3) : length);
    target.set(bytes.subarray(position, position + n));
    counts.inFlight--;
    counts.settled++;
    return n;
  };
}

describe('reading ahead on the thread pool', () => {
  it('yields every byte in order, with at most `ahead` reads in flight, and never reuses a block still in flight or kept', async () => {
    const source = randomBytes(23 * BLOCK + 123);
    const counts = { issued: 0, settled: 0, inFlight: 0, maxInFlight: 0 };
    const blocks = new ReadBlocks(BLOCK, true, { poolSize: 4 });
    // The consumer keeps the last three blocks (a chunk straddling them, a write in progress).
    const kept: { at: number; bytes: Uint8Array }[] = [];
    const keptFrom = () => kept[0]?.at ?? consumed;
    const seen = new Set<ArrayBufferLike>();
    let consumed = 0;
    for await (const block of readBlocksAhead(slowReader(source, counts), source.length, blocks, keptFrom, 3)) {
      expect(Buffer.from(block).equals(source.subarray(consumed, consumed + block.length))).toBe(true);
      seen.add(block.buffer);
      kept.push({ at: consumed, bytes: block });
      consumed += block.length;
      if (kept.length > 3) kept.shift();
      // Every block still kept holds its bytes: no read in flight went into one of them.
      for (const k of kept) expect(Buffer.from(k.bytes).equals(source.subarray(k.at, k.at + k.bytes.length)), `block at ${k.at}`).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
    }
    expect(consumed).toBe(source.length);
    expect(counts.maxInFlight).toBeLessThanOrEqual(3);
    expect(counts.maxInFlight).toBeGreaterThan(1);
    // Memory was reused (the pool), or the check above proved nothing about reuse.
    expect(seen.size).toBeLessThan(24);
  });

  it('a caller that stops early gets control back only when no read is in flight any more', async () => {
    const source = randomBytes(10 * BLOCK);
    const counts = { issued: 0, settled: 0, inFlight: 0, maxInFlight: 0 };
    for await (const block of readBlocksAhead(slowReader(source, counts), source.length, new ReadBlocks(BLOCK, true), () => 0, 3)) {
      expect(block.length).toBe(BLOCK);
      break;
    }
    // The file may be closed now: nothing reads it any more.
    expect(counts.issued).toBeGreaterThan(1);
    expect(counts.inFlight).toBe(0);
    expect(counts.settled).toBe(counts.issued);
  });

  it('a failed read stops the reading with the offset it failed at', async () => {
    const source = randomBytes(6 * BLOCK);
    const failing: AsyncRead = async (target, length, position) => {
      if (position >= 3 * BLOCK) throw new Error('EIO');
      target.set(source.subarray(position, position + length));
      return length;
    };
    const cut: AsyncRead = async () => 0;
    const got: number[] = [];
    await expect(async () => {
      for await (const b of readBlocksAhead(failing, source.length, new ReadBlocks(BLOCK, true), () => 0)) got.push(b.length);
    }).rejects.toThrow('EIO');
    expect(got).toEqual([BLOCK, BLOCK, BLOCK]);
    await expect(async () => {
      for await (const b of readBlocksAhead(cut, source.length, new ReadBlocks(BLOCK, true), () => 0, 2, 'x.mig')) got.push(b.length);
    }).rejects.toThrow('x.mig could not be read at byte 0');
  });
});

describe('the hashing thread and the blocks it shares', () => {
  it('hashes the bytes in order when the caller overwrites each shared block as soon as it is hashed', async () => {
    const blocks = [0, 1, 2].map(() => Buffer.from(new SharedArrayBuffer(BLOCK)));
    const whole = randomBytes(40 * BLOCK);
    const hash = new ThreadedSha256(2 * BLOCK);
    try {
      for (let i = 0; i < 40; i++) {
        // The next block is the first one the worker is past (hashed), as pack picks it.
        while (hash.hashed < (i - 2) * BLOCK) await new Promise((resolve) => setTimeout(resolve, 1));
        const b = blocks[i % 3];
        b.set(whole.subarray(i * BLOCK, (i + 1) * BLOCK));
        await hash.update(b);
      }
      expect(await hash.digest()).toBe(createHash('sha256').update(whole).digest('hex'));
    } finally {
      hash.close();
    }
  });
});

describe('pack read ahead from a file', () => {
  // A corpus stream with 20 MiB of bytes QEMU never reads after it (a tAIL chunk): several
  // 4 MiB read blocks, so reads are in flight and blocks are reused during a pack or unpack.
  const t = tempDir('read-ahead');
  const image = path.join(t.dir, 'with-tail.mig');
  beforeAll(() => fs.writeFileSync(image, Buffer.concat([fs.readFileSync(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig')), randomBytes(20 << 20)])));
  afterAll(() => t.remove());

  it('gives the same chunks as a pack of the same stream arriving slowly on standard input, written to a slow pipe', async () => {
    const w = tempDir('read-ahead-pipe');
    try {
      const fromFile = path.join(w.dir, 'file.migc');
      await packImage(image, fromFile);
      const bytes = fs.readFileSync(image);
      const parts: Buffer[] = [];
      const slowPipe = new Writable({
        highWaterMark: 4096,
        write(chunk: Buffer, _enc, done) {
          parts.push(Buffer.from(chunk));
          setTimeout(done, Math.random() < 0.1 ? 2 : 0);
        },
      });
      async function* trickle() {
        for (let at = 0; at < bytes.length; at += 300_001) {
          yield bytes.subarray(at, at + 300_001);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      const stdin = Object.assign(trickle(), {}) as unknown as NodeJS.ReadableStream;
      await packImage('-', '-', { stdin, stdout: slowPipe });
      const piped = Buffer.concat(parts);
      const shape = (c: Buffer) => walk(c).layer.chunks.filter((x) => x.type !== 'oRIg' && x.type !== 'MHDR').map((x) => [x.stream, x.type, x.length, x.storedCrc]);
      expect(shape(piped)).toEqual(shape(fs.readFileSync(fromFile)));
      const back = path.join(w.dir, 'back.mig');
      await unpackImage(fromFile, back);
      expect(fs.readFileSync(back).equals(bytes)).toBe(true);
    } finally {
      w.remove();
    }
  });

  it('cancelled mid-stream: nothing is written, no temporary file is left, the source is untouched', async () => {
    const w = tempDir('read-ahead-abort');
    try {
      const before = createHash('sha256').update(fs.readFileSync(image)).digest('hex');
      const out = path.join(w.dir, 'cancelled.migc');
      const controller = new AbortController();
      let progressCalls = 0;
      const packing = packImage(image, out, {
        chunkSize: 64 << 10,
        signal: controller.signal,
        onProgress: () => {
          if (++progressCalls === 1) controller.abort();
        },
      });
      await expect(packing).rejects.toThrow('packing cancelled; nothing was written');
      expect(progressCalls).toBe(1);
      expect(fs.readdirSync(w.dir)).toEqual([]);
      expect(createHash('sha256').update(fs.readFileSync(image)).digest('hex')).toBe(before);
    } finally {
      w.remove();
    }
  });

  it('unpack stopped by a damaged critical chunk leaves no file, with reads still in flight when it stopped', async () => {
    const w = tempDir('read-ahead-damage');
    try {
      const packed = path.join(w.dir, 'x.migc');
      await packImage(image, packed, { chunkSize: 64 << 10 });
      const bytes = fs.readFileSync(packed);
      const chunks = walk(bytes).layer.chunks;
      // A bit flipped in the data of an early critical chunk: unpack stops there, its reads ahead pending.
      const victim = chunks.find((c) => c.type === 'PART' || c.type === 'MORE')!;
      bytes[victim.offset + 8 + 10] ^= 0x01;
      fs.writeFileSync(packed, bytes);
      const out = path.join(w.dir, 'x.mig');
      const result = await unpackImage(packed, out);
      expect(result.stoppedBy?.code).toBe('chunked-crc');
      expect(result.stoppedBy?.offset).toBe(victim.offset + 8 + victim.length);
      expect(result.written).toBe(false);
      expect(fs.readdirSync(w.dir)).toEqual(['x.migc']);
    } finally {
      w.remove();
    }
  });
});
