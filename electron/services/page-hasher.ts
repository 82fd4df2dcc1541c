import xxhash from 'xxhash-wasm';
import type { PageHasher } from '../../shared/diff/page-hashes';

let loaded: Promise<PageHasher> | undefined;

/**
 * xxh64 of a page (WebAssembly, several GB/s): the fingerprint `migwb diff` takes of every
 * plain page during the scan. Not a cryptographic hash: two pages with equal xxh64 are
 * taken as equal (chance 2^-64 per page pair for pages nobody crafted to collide).
 */
export function pageHasher(): Promise<PageHasher> {
  return (loaded ??= xxhash().then(({ h64Raw }) => (page: Uint8Array) => h64Raw(page)));
}
