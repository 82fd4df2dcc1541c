import type { PageHasher } from '../../shared/diff/page-hashes';
import { XXH64_PAGES_WASM } from './xxh64-pages-wasm';

/** Bytes of pages one call can hash: more than the batches PageHashes hashes at once, and 16 of the largest target pages (64 KiB). */
const INPUT_BYTES = 1 << 20;
/** Room for the results: 8 bytes a page, for pages of 64 bytes or more. */
const OUTPUT_BYTES = INPUT_BYTES / 8;
const WASM_PAGE = 64 << 10;

/** The part of the WebAssembly JS API used here (lib ES2022 and @types/node 20 do not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

let compiled: object | undefined;

/**
 * An xxh64 page hasher (xxh64-pages.wat): the fingerprint `migwb diff` takes of every
 * plain page. Pages are put in its `input` (which is WebAssembly memory, so a file can be
 * read straight into it) and hashed many at a time, without a BigInt or an allocation per
 * page. Not a cryptographic hash: two pages with equal xxh64 are taken as equal (chance
 * 2^-64 per page pair for pages nobody crafted to collide). Each call makes a hasher of its
 * own (1.1 MiB), for one thread.
 */
export function pageHasher(): PageHasher {
  // Node compiles a module this small synchronously in well under a millisecond.
  const instance = new WebAssembly.Instance((compiled ??= new WebAssembly.Module(Buffer.from(XXH64_PAGES_WASM, 'base64'))));
  const memory = instance.exports.memory as WasmMemory;
  const hashPages = instance.exports.hashPages as (src: number, len: number, stride: number, count: number, dst: number) => void;
  memory.grow(Math.ceil((INPUT_BYTES + OUTPUT_BYTES) / WASM_PAGE) - memory.buffer.byteLength / WASM_PAGE);
  // The memory never grows again, so these views stay valid for the hasher's life.
  const input = new Uint8Array(memory.buffer, 0, INPUT_BYTES);
  const output = new Uint32Array(memory.buffer, INPUT_BYTES, OUTPUT_BYTES / 4);
  return {
    input,
    hashInput(pageSize, count, stride = pageSize, offset = 0) {
      if (count * 8 > OUTPUT_BYTES || count < 0) throw new RangeError(`${count} pages do not fit the page hasher's output`);
      if (offset < 0 || (count > 0 && offset + (count - 1) * stride + pageSize > INPUT_BYTES)) throw new RangeError(`${count} pages of ${pageSize} bytes every ${stride} bytes from ${offset} lie outside the page hasher's input`);
      hashPages(offset, pageSize, stride, count, INPUT_BYTES);
      return output.subarray(0, 2 * count);
    },
  };
}
