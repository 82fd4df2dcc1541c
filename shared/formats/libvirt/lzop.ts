import { adler32, crc32 } from './checksums';
import { lzo1xDecompress } from './lzo1x';

/**
 * The lzop file format (lzop 1.0x, src/lzop.c, as `lzop -c` writes it and libvirt's
 * `lzop -dc --ignore-warn` reads it): a header, then blocks of
 *   be32 uncompressed length (0 ends the file), be32 compressed length,
 *   [be32 adler32 / crc32 of the uncompressed data], [be32 adler32 / crc32 of the compressed data],
 *   the data (stored as is when it did not shrink).
 * An incremental decoder: bytes go in as they are read, blocks come out, memory stays at one block.
 */
export class LzopError extends Error {}

/** The 9 bytes every lzop file starts with. */
export const LZOP_MAGIC = Uint8Array.of(0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a);
const F_ADLER32_D = 0x1;
const F_ADLER32_C = 0x2;
const F_H_EXTRA_FIELD = 0x40;
const F_CRC32_D = 0x100;
const F_CRC32_C = 0x200;
const F_H_FILTER = 0x800;
const F_H_CRC32 = 0x1000;
/** lzop refuses blocks above 64 MiB (MAX_BLOCK_SIZE). */
const MAX_BLOCK = 64 << 20;
const LZO1X_METHODS = new Set([1, 2, 3]);

export interface LzopHeader {
  version: number;
  method: number;
  flags: number;
  name: string;
  length: number;
}

export class LzopDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private header?: LzopHeader;
  private ended = false;
  /** Compressed bytes consumed so far, to place errors. */
  consumed = 0;

  get headerInfo(): LzopHeader | undefined {
    return this.header;
  }

  get finished(): boolean {
    return this.ended;
  }

  /** Adds compressed bytes; returns the blocks they completed, decompressed. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.append(chunk);
    const out: Uint8Array[] = [];
    for (let block = this.next(); block; block = this.next()) out.push(block);
    return out;
  }

  /** Adds compressed bytes without decoding them (take the blocks with next()). */
  append(chunk: Uint8Array): void {
    this.pending = this.pending.length ? concat(this.pending, chunk) : chunk;
  }

  /** The next decompressed block (at most 64 MiB), or undefined until more bytes arrive: one block per call, so the caller can pace the output. */
  next(): Uint8Array | undefined {
    for (;;) {
      if (this.ended) {
        if (this.pending.length) throw new LzopError(`${this.pending.length} bytes follow the end of the lzop data`);
        return undefined;
      }
      if (!this.header) {
        const header = parseHeader(this.pending);
        if (!header) return undefined;
        this.header = header;
        this.take(header.length);
        continue;
      }
      const block = this.nextBlock();
      if (block === undefined || block.length) return block;
    }
  }

  /** Call at the end of the input: throws if the lzop data was cut short. */
  finish(): void {
    if (!this.ended) throw new LzopError(this.header ? 'the lzop data ends without its end-of-data marker (truncated)' : 'the lzop header is cut short');
  }

  private nextBlock(): Uint8Array | undefined {
    const flags = this.header!.flags;
    const p = this.pending;
    if (p.length < 4) return undefined;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const dLen = v.getUint32(0);
    if (dLen === 0) {
      this.take(4);
      this.ended = true;
      return new Uint8Array(0);
    }
    if (dLen > MAX_BLOCK) throw new LzopError(`block at compressed offset ${this.consumed} claims ${dLen} bytes (lzop allows ${MAX_BLOCK})`);
    if (p.length < 8) return undefined;
    const cLen = v.getUint32(4);
    if (cLen > dLen) throw new LzopError(`block at compressed offset ${this.consumed} is larger compressed (${cLen}) than plain (${dLen})`);
    const stored = cLen === dLen;
    let at = 8;
    const dChecks: [string, number][] = [];
    const cChecks: [string, number][] = [];
    if (flags & F_ADLER32_D) dChecks.push(['adler32', (at += 4, v.getUint32(at - 4))]);
    if (flags & F_CRC32_D) dChecks.push(['crc32', (at += 4, v.getUint32(at - 4))]);
    if (!stored && flags & F_ADLER32_C) cChecks.push(['adler32', (at += 4, v.getUint32(at - 4))]);
    if (!stored && flags & F_CRC32_C) cChecks.push(['crc32', (at += 4, v.getUint32(at - 4))]);
    if (p.length < at + cLen) return undefined;
    const data = p.subarray(at, at + cLen);
    const where = this.consumed + at;
    verify(data, cChecks, `compressed block at offset ${where}`);
    const plain = stored ? data.slice() : lzo1xDecompress(data, dLen);
    verify(plain, dChecks, `block at offset ${where}`);
    this.take(at + cLen);
    return plain;
  }

  private take(n: number): void {
    this.pending = this.pending.subarray(n);
    this.consumed += n;
  }
}

function parseHeader(p: Uint8Array): LzopHeader | undefined {
  if (p.length < LZOP_MAGIC.length) return undefined;
  if (!LZOP_MAGIC.every((b, i) => p[i] === b)) throw new LzopError('not lzop data (bad magic)');
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let at = LZOP_MAGIC.length;
  const need = (n: number) => p.length >= at + n;
  if (!need(4)) return undefined;
  const version = v.getUint16(at);
  at += 4; // version, library version
  if (version >= 0x0940) at += 2; // version needed to extract
  if (!need(1)) return undefined;
  const method = p[at++];
  if (!LZO1X_METHODS.has(method)) throw new LzopError(`lzop method ${method} is not LZO1X`);
  if (version >= 0x0940) at += 1; // level
  if (!need(4)) return undefined;
  const flags = v.getUint32(at);
  at += 4;
  if (flags & F_H_FILTER) at += 4;
  at += 8; // mode, mtime low
  if (version >= 0x0940) at += 4; // mtime high
  if (!need(1)) return undefined;
  const nameLength = p[at++];
  if (!need(nameLength + 4)) return undefined;
  const name = String.fromCharCode(...p.subarray(at, at + nameLength));
  at += nameLength;
  const stored = v.getUint32(at);
  const actual = flags & F_H_CRC32 ? crc32(p.subarray(LZOP_MAGIC.length, at)) : adler32(p.subarray(LZOP_MAGIC.length, at));
  if (stored !== actual) throw new LzopError(`lzop header checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
  at += 4;
  if (flags & F_H_EXTRA_FIELD) {
    if (!need(4)) return undefined;
    const extra = v.getUint32(at);
    if (!need(4 + extra + 4)) return undefined;
    at += 4 + extra + 4;
  }
  return { version, method, flags, name, length: at };
}

function verify(data: Uint8Array, checks: [string, number][], what: string): void {
  for (const [kind, stored] of checks) {
    const actual = kind === 'crc32' ? crc32(data) : adler32(data);
    if (actual !== stored) throw new LzopError(`${kind} mismatch in the ${what} (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
