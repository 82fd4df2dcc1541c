import CRC32 from 'crc-32';

/**
 * CRC-32 as PNG, zlib and Ethernet define it (polynomial 0x04C11DB7, reflected), unsigned.
 * `seed` continues a CRC over more bytes: crc32(b, crc32(a)) = crc32(a followed by b).
 */
export type Crc32 = (bytes: Uint8Array, seed?: number) => number;

const portable: Crc32 = (bytes, seed = 0) => CRC32.buf(bytes, seed) >>> 0;

let implementation: Crc32 = portable;

/** The CRC-32 of `bytes` (continuing `seed`), by the fastest implementation installed. */
export function crc32(bytes: Uint8Array, seed = 0): number {
  return implementation(bytes, seed);
}

/**
 * Installs a faster implementation of the same function (Node's zlib.crc32, native and
 * several times faster than the portable crc-32 package on large buffers). Only the backend
 * installs one; the portable one stays the reference the tests compare it with.
 */
export function useCrc32(fast: Crc32): void {
  implementation = fast;
}

/** The portable implementation (crc-32), whatever is installed. */
export const portableCrc32: Crc32 = portable;
