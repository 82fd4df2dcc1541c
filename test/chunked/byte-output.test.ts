import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openByteOutput } from '../../electron/io/byte-output';

/**
 * The file output of pack and unpack writes in the background (one write in flight) while
 * the caller reads on: the caller must be told which memory the write still reads, the
 * result must be the bytes in order, and an abort must leave nothing, even mid-write.
 */
describe('the atomic file output writes in the background', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-byte-output-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const leftovers = () => fs.readdirSync(dir);

  it('keeps the memory of a write in progress (pendingFrom) until it is done, and writes everything in order', async () => {
    const target = path.join(dir, 'out.bin');
    const out = openByteOutput(target, { protect: [] });
    expect(out.pendingFrom).toBe(Infinity);
    const blocks = [randomBytes(8 << 20), randomBytes(3), randomBytes(5 << 20)];
    await out.write([blocks[0].subarray(0, 100), blocks[0].subarray(100)], 4096);
    // Returned before the 8 MiB reached the file: its memory is still in use.
    expect(out.pendingFrom).toBe(4096);
    await out.write([blocks[1]], 8192);
    expect(out.pendingFrom).toBe(8192);
    await out.write([], 9000);
    await out.write([blocks[2]], 12_000);
    await out.commit();
    expect(out.pendingFrom).toBe(Infinity);
    expect(out.written).toBe((8 << 20) + 3 + (5 << 20));
    expect(fs.readFileSync(target).equals(Buffer.concat(blocks))).toBe(true);
    expect(leftovers()).toEqual(['out.bin']);
  });

  it('an abort while a write is in progress leaves no file, and the write ends harmlessly', async () => {
    const target = path.join(dir, 'out.bin');
    const out = openByteOutput(target, { protect: [] });
    await out.write([randomBytes(32 << 20)], 0);
    expect(out.pendingFrom).toBe(0);
    out.abort();
    expect(leftovers()).toEqual([]);
    // The descriptor is closed once the write is over; nothing is left behind then either.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leftovers()).toEqual([]);
  });
});
