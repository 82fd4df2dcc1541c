import CRC32 from 'crc-32';

/**
 * CRC-32 as PNG, zlib and Ethernet define it (polynomial 0x04C11DB7, reflected), unsigned.
 * `seed` continues a CRC over more bytes: crc32(b, crc32(a)) = crc32(a followed by b).
 */
export type Crc32 = (bytes: Uint8Array, seed?: number) => number;

const portable: Crc32 = (bytes, seed = 0) => CRC32.buf(bytes, seed) >>> 0;

let implementation: Crc32 = portable;
/** Makes the faster implementation on the first CRC asked for (see useCrc32Loader). */
let loader: (() => Crc32) | undefined;

/** The CRC-32 of `bytes` (continuing `seed`), by the fastest implementation installed. */
export function crc32(bytes: Uint8Array, seed = 0): number {
  if (loader) {
    const load = loader;
    loader = undefined;
    implementation = load();
  }
  return implementation(bytes, seed);
}

/**
 * Installs a faster implementation of the same function (a native addon, or Node's
 * zlib.crc32; several times faster than the portable crc-32 package on large buffers),
 * made by `load` when the first CRC is asked for: loading a native addon costs every
 * process that never computes one (most commands) several milliseconds of its start. Only
 * the backend installs one; the portable one stays the reference the tests compare it with.
 */
export function useCrc32Loader(load: () => Crc32): void {
  loader = load;
}

/** The portable implementation (crc-32), whatever is installed. */
export const portableCrc32: Crc32 = portable;
