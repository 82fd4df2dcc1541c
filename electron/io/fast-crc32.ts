import { portableCrc32, useCrc32Loader, type Crc32 } from '../../shared/io/crc32';

/**
 * The CRC-32 implementations the backend can use, fastest first, each the same function as
 * the portable crc-32 package (test/chunked/crc32.test.ts). Over 1 GiB on this project's
 * machines (x86-64 with PCLMULQDQ): @node-rs/crc32 (crc32fast, carry-less multiplication)
 * about 100 ms, Node's zlib.crc32 (the system zlib's table code) about 200 ms, crc-32 (JS)
 * about 700 ms. Chunk CRCs cover every byte of a pack or unpack, so this is their cost.
 */
export const CRC32_IMPLEMENTATIONS: readonly { name: string; load: () => Crc32 | undefined }[] = [
  {
    name: '@node-rs/crc32',
    load: () => {
      // A native addon with a prebuilt binary per platform; a platform without one falls back.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional: may be missing on a platform
      const native = require('@node-rs/crc32') as { crc32: (bytes: Uint8Array, seed?: number) => number };
      return (bytes, seed = 0) => native.crc32(bytes, seed);
    },
  },
  {
    name: 'zlib.crc32',
    load: () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:zlib loads streams: only when no faster one loads
      const zlib = require('node:zlib') as typeof import('node:zlib');
      return typeof zlib.crc32 === 'function' ? (bytes, seed = 0) => zlib.crc32(bytes, seed) : undefined;
    },
  },
  { name: 'crc-32', load: () => portableCrc32 },
];

/** Loads the first implementation this platform has; returns its name. */
function loadFastest(): { name: string; crc32: Crc32 } {
  for (const candidate of CRC32_IMPLEMENTATIONS) {
    try {
      const crc32 = candidate.load();
      if (crc32) return { name: candidate.name, crc32 };
    } catch {
      // Not installed for this platform: the next one.
    }
  }
  return { name: 'crc-32', crc32: portableCrc32 };
}

let fastest: { name: string; crc32: Crc32 } | undefined;
const loadOnce = () => (fastest ??= loadFastest());

// Loaded on the first CRC a process computes, not when the backend's modules load: most
// commands (info, validate, search...) never compute one.
useCrc32Loader(() => loadOnce().crc32);

/** The implementation chunk CRCs use in this process (loading it, if no CRC was computed yet). */
export function crc32InUse(): string {
  return loadOnce().name;
}
