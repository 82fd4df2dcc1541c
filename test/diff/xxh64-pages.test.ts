import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { pageHasher } from '../../electron/services/page-hasher';
import type { PageHasher } from '../../shared/diff/page-hashes';
// @ts-expect-error build-wasm.mjs is plain JavaScript without types
import { GENERATED, generatedModule } from '../../build-wasm.mjs';

/** Hash i of a hashInput result as one 64-bit number. */
function hashAt(out: Uint32Array, i: number): bigint {
  return BigInt(out[2 * i]) | (BigInt(out[2 * i + 1]) << 32n);
}

/**
 * The page hasher of `migwb diff` (electron/services/xxh64-pages.wat): XXH64 with seed 0,
 * checked against the specification's reference values and against xxhash-wasm (another
 * implementation, which the diff used before) on every length that takes another path
 * through the function, pages back to back and a stream's pages a header apart.
 */
describe('xxh64 page hasher', () => {
  let hasher: PageHasher;
  let reference: (bytes: Uint8Array) => bigint;

  beforeAll(async () => {
    hasher = pageHasher();
    reference = (await xxhash()).h64Raw;
  });

  const one = (bytes: Uint8Array): bigint => {
    hasher.input.set(bytes);
    return hashAt(hasher.hashInput(bytes.length, 1), 0);
  };

  it('gives the reference XXH64 values (seed 0)', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    // From the xxHash reference implementation (xxhsum -H1) and its sanity-check table.
    expect(one(text(''))).toBe(0xef46db3751d8e999n);
    expect(one(text('a'))).toBe(0xd24ec4f1a98c6e5bn);
    expect(one(text('abc'))).toBe(0x44bc2cf5ad770999n);
    expect(one(text('Nobody inspects the spammish repetition'))).toBe(0xfbcea83c8a378bf1n);
  });

  it('equals xxhash-wasm on every length from 0 to 300 bytes and on 4 KiB and 64 KiB pages', () => {
    const data = crypto.randomBytes(70_000);
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 1023, 4096, 65536];
    for (const len of lengths) {
      const bytes = data.subarray(len % 7, (len % 7) + len);
      expect(one(bytes), `length ${len}`).toBe(reference(bytes));
    }
  });

  it('hashes pages back to back and a header apart in one call, each as on its own', () => {
    const ps = 4096;
    const header = 8;
    const count = 20;
    const stream = crypto.randomBytes(count * (ps + header));
    const pages = Array.from({ length: count }, (_, i) => stream.subarray(i * (ps + header) + header, (i + 1) * (ps + header)));
    const expected = pages.map((p) => reference(p));
    hasher.input.set(stream);
    const strided = hasher.hashInput(ps, count, ps + header, header);
    expect(Array.from({ length: count }, (_, i) => hashAt(strided, i))).toEqual(expected);
    pages.forEach((p, i) => hasher.input.set(p, i * ps));
    const packed = hasher.hashInput(ps, count);
    expect(Array.from({ length: count }, (_, i) => hashAt(packed, i))).toEqual(expected);
  });

  it('a one-bit change anywhere in a page, first byte or last, changes its hash', () => {
    const page = crypto.randomBytes(4096);
    const original = one(page);
    for (const at of [0, 1, 2047, 4088, 4095]) {
      for (const bit of [0x01, 0x80]) {
        const changed = Buffer.from(page);
        changed[at] ^= bit;
        expect(one(changed), `byte ${at}, bit ${bit}`).not.toBe(original);
      }
    }
  });

  it('refuses pages that do not fit its input or output instead of reading past them', () => {
    expect(() => hasher.hashInput(4096, hasher.input.length / 4096 + 1)).toThrow(RangeError);
    expect(() => hasher.hashInput(4096, 2, 4104, hasher.input.length - 4096)).toThrow(RangeError);
  });

  it('runs the WebAssembly compiled from xxh64-pages.wat as it is now (run node build-wasm.mjs after editing it)', async () => {
    expect(fs.readFileSync(GENERATED, 'utf8')).toBe(await generatedModule());
  });
});
