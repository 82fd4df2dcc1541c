import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { FileRange } from '../../shared/formats/container-model';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import { removeStaleTemporaries, TEMPORARY_PATTERNS } from '../io/stale-temporaries';
import { cancelled } from '../services/cancellation';
import type { StreamCompression } from './libvirt/decoders';

/**
 * Decompressed copies of compressed QEMU streams (libvirt saves written with gzip, bzip2,
 * xz, lzop or zstd), so the engine can read them with random access. The parser needs a
 * random-access source, and decompressing into memory is out of the question for an
 * 8 GiB guest, so the stream is decompressed once, streaming, into a cache file.
 *
 * Entries are keyed by content: the SHA-256 of the compressed stream, computed while it is
 * decompressed. A small identity index (device, inode, size, mtime, ctime of the file)
 * finds the key of an unchanged file without reading it; a copy or a renamed file is
 * hashed once and then finds the same entry. The cache is bounded in size: the least
 * recently used entries are evicted when a new one is written. Entries are written
 * atomically (temp file, fsync, rename), so a crash never leaves a half entry behind, and
 * the temp files of a killed run are removed by the next one.
 *
 * Only complete decompressions are cached. A stream that is damaged, cut, or stopped at its
 * output bound (a decompression bomb) is kept for the process that made it only (it goes
 * when the process exits), so a later run tries again instead of trusting a failure.
 *
 * The output is bounded: by what the save declares (its domain's memory, with a margin)
 * and by the cache's size limit, whichever is smaller; decompression stops there with a
 * problem that gives the expansion ratio.
 */
export interface CacheOptions {
  /** Cache folder; default $MIGWB_CACHE_DIR, else $XDG_CACHE_HOME/migwb/decompressed, else ~/.cache/migwb/decompressed. */
  cacheDir?: string;
  /** Total size the cache may keep after a new entry is written; default $MIGWB_CACHE_MAX_BYTES or 32 GiB. */
  maxBytes?: number;
  /** Called with compressed bytes read and the compressed length. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** What the save declares the stream can hold (guest memory with a margin), when it says. */
  expectedMax?: { bytes: number; why: string };
  /**
   * What the stream declares it can hold, read from its first STREAM_START bytes (a QEMU
   * stream lists its RAM blocks there): a tighter bound, applied from then on, when it is smaller.
   */
  boundFromStart?: (start: Uint8Array) => { bytes: number; why: string } | undefined;
}

/** Output read before `boundFromStart` is asked: far more than a stream's header and RAM block list take. */
const STREAM_START = 1 << 20;

/** Why a decompressed stream is incomplete, for the diagnostic of the image. */
export interface DecompressionProblem {
  /** compressed-stream-damaged: the data is cut or damaged; decompression-bound: the output reached its bound. */
  code: 'compressed-stream-damaged' | 'decompression-bound';
  message: string;
  /** File offset in the compressed data where decompression stopped. */
  compressedOffset: number;
  expected?: string;
  hint?: string;
}

export interface CachedStream {
  /** The decompressed QEMU stream. */
  path: string;
  size: number;
  compression: StreamCompression;
  /** SHA-256 of the compressed bytes. */
  key: string;
  /** Set when the compressed data ended early, was damaged, or expanded past its bound: the stream is what was decompressed. */
  problem?: DecompressionProblem;
}

interface EntryMeta extends Omit<CachedStream, 'path'> {
  compressedLength: number;
  created: string;
  /** Informational only: where the entry was first made from. */
  firstSource: string;
}

export function defaultCacheDir(): string {
  if (process.env.MIGWB_CACHE_DIR) return process.env.MIGWB_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'migwb', 'decompressed');
}

function maxBytesOf(options: CacheOptions): number {
  return options.maxBytes ?? (Number(process.env.MIGWB_CACHE_MAX_BYTES) || 32 * 1024 ** 3);
}

/**
 * Without a declared memory size (a damaged domain XML), no real QEMU stream expands more
 * than this from its compressed size: guest pages that compress well are zero pages, which
 * QEMU writes as 8-byte records, not as 4 KiB of zeros.
 */
const UNDECLARED_RATIO = 64;
const UNDECLARED_SLACK = 256 * 1024 ** 2;

/** The most bytes a stream may decompress to, and why. */
export function outputBound(options: CacheOptions, compressedLength: number): { bytes: number; why: string } {
  const cache = maxBytesOf(options);
  const declared = options.expectedMax ?? { bytes: compressedLength * UNDECLARED_RATIO + UNDECLARED_SLACK, why: `the domain XML declares no memory size, so at most ${UNDECLARED_RATIO} times the compressed size plus 256 MiB` };
  return smaller(declared, { bytes: cache, why: `the decompression cache's size limit (MIGWB_CACHE_MAX_BYTES)` });
}

function smaller<B extends { bytes: number }>(a: B, b: B | undefined): B {
  return b !== undefined && b.bytes < a.bytes ? b : a;
}

/** Output is written in batches of about this size. */
const WRITE_BATCH = 4 << 20;

/** An entry only this process may use: a stream that is not cached because it is incomplete. */
function processEntry(key: string): string {
  return `${key}.partial-${process.pid}`;
}

/** The decompressed stream of `range` of `file`, if this exact file was decompressed before (or, incomplete, by this process). */
export function findCachedStream(file: string, range: FileRange, options: CacheOptions = {}): CachedStream | undefined {
  const dir = options.cacheDir ?? defaultCacheDir();
  const key = readIdentity(dir, file, range);
  return key ? (openEntry(dir, key) ?? openEntry(dir, processEntry(key), key)) : undefined;
}

/**
 * Returns the decompressed stream of `range` of `file`, decompressing it into the cache
 * unless an entry with the same content exists. Cancel through `signal`.
 */
export async function decompressToCache(file: string, range: FileRange, compression: StreamCompression, options: CacheOptions = {}): Promise<CachedStream> {
  const dir = options.cacheDir ?? defaultCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTemporaries(dir, TEMPORARY_PATTERNS.decompressCache);
  const known = findCachedStream(file, range, options);
  if (known) return known;
  // Same content under another name: one hashing pass, no decompression.
  const key = await hashRange(file, range, options);
  const existing = openEntry(dir, key) ?? openEntry(dir, processEntry(key), key);
  if (existing) {
    writeIdentity(dir, file, range, key);
    return existing;
  }
  const entry = await decompressEntry(dir, file, range, compression, key, options);
  writeIdentity(dir, file, range, key);
  evict(dir, maxBytesOf(options), key);
  return entry;
}

async function decompressEntry(dir: string, file: string, range: FileRange, compression: StreamCompression, key: string, options: CacheOptions): Promise<CachedStream> {
  // The decoders (xz, bzip2, zstd) load on first use: opening anything else, and every
  // worker thread that opens images, starts faster without them.
  const { decompressedChunks } = await import('./libvirt/decoders');
  let bound = outputBound(options, range.length);
  // The first output, kept until the stream's own declaration can be read from it.
  let start: Buffer[] | undefined = options.boundFromStart ? [] : undefined;
  let startBytes = 0;
  const temp = path.join(dir, `${key}.qevm.tmp-${process.pid}-${Date.now()}`);
  const out = await fs.promises.open(temp, 'wx');
  let size = 0;
  let read = 0;
  let problem: DecompressionProblem | undefined;
  const input = fs.createReadStream(file, { start: range.offset, end: range.offset + range.length - 1, highWaterMark: 1 << 20 });
  const abort = () => input.destroy(cancelled('decompression'));
  // Small pieces are gathered into larger writes.
  const batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async () => {
    if (batched) await out.writev(batch.splice(0));
    batched = 0;
  };
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (options.signal?.aborted) abort();
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of input) {
          read += (chunk as Buffer).length;
          options.onProgress?.(read, range.length);
          yield chunk as Buffer;
        }
      })(),
      { objectMode: false },
    );
    // Pulled one piece at a time, so the output is written (or refused) as it comes.
    for await (const chunk of decompressedChunks(compression, counted)) {
      if (options.signal?.aborted) throw cancelled('decompression');
      if (start) {
        start.push(Buffer.from(chunk)); // a copy: a decoder may reuse its output buffer
        startBytes += chunk.length;
        if (startBytes >= STREAM_START) {
          bound = smaller(bound, options.boundFromStart!(Buffer.concat(start)));
          start = undefined;
        }
      }
      const room = Math.max(0, bound.bytes - size);
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      batch.push(piece);
      batched += piece.length;
      size += piece.length;
      if (batched >= WRITE_BATCH) await flush();
      if (piece !== chunk) {
        problem = boundReached(size, read, range, bound);
        break;
      }
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError' || options.signal?.aborted) {
      await out.close();
      fs.rmSync(temp, { force: true });
      throw (e as Error).name === 'AbortError' ? e : cancelled('decompression');
    }
    // Damaged or cut compressed data: keep everything that decompressed, say where it stopped.
    problem = {
      code: 'compressed-stream-damaged',
      message: `${compression} data ${describeDecodeError(e as Error)}`,
      compressedOffset: range.offset + read,
      hint: 'Everything before the damage is shown; the QEMU stream is cut where decompression stopped.',
    };
  } finally {
    options.signal?.removeEventListener('abort', abort);
    input.destroy();
  }
  await flush();
  // Durable only what outlives this process: an incomplete entry goes when it exits.
  if (!problem) await out.sync();
  await out.close();
  // A complete stream is cached for every later run; an incomplete one only for this process.
  const name = problem ? processEntry(key) : key;
  const meta: EntryMeta = { key, size, compression, problem, compressedLength: range.length, created: new Date().toISOString(), firstSource: file };
  fs.renameSync(temp, path.join(dir, `${name}.qevm`));
  writeText(path.join(dir, `${name}.json`), JSON.stringify(meta, null, 2));
  if (problem) removeAtExit(dir, name);
  return { path: path.join(dir, `${name}.qevm`), size, compression, key, problem };
}

function boundReached(size: number, read: number, range: FileRange, bound: { bytes: number; why: string }): DecompressionProblem {
  const ratio = size / Math.max(1, read);
  return {
    code: 'decompression-bound',
    message: `Decompression stopped at ${size} bytes, the most this save can hold (${bound.why}); ${read} compressed bytes had expanded ${ratio.toFixed(ratio < 10 ? 1 : 0)}:1`,
    expected: `at most ${bound.bytes} bytes of QEMU stream`,
    compressedOffset: range.offset + read,
    hint: 'The compressed stream expands far beyond the guest memory the save declares: it is damaged or built to exhaust the disk (a decompression bomb). Everything before the bound is shown.',
  };
}

/** Incomplete streams belong to their process: removed when it exits (and, after a kill, by the next run). */
function removeAtExit(dir: string, name: string): void {
  process.once('exit', () => {
    for (const ext of ['.qevm', '.json']) fs.rmSync(path.join(dir, name + ext), { force: true });
  });
}

function describeDecodeError(e: Error): string {
  const m = e.message || String(e);
  return /unexpected end|truncated|premature|ends/i.test(m) ? `ends early (truncated): ${m}` : `is damaged: ${m}`;
}

function openEntry(dir: string, name: string, key = name): CachedStream | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as EntryMeta;
    const data = path.join(dir, `${name}.qevm`);
    if (fs.statSync(data).size !== meta.size) return undefined;
    // Entries of older versions kept damaged streams: never trust a cached failure.
    if (meta.problem && name === key) return undefined;
    const now = new Date();
    fs.utimesSync(path.join(dir, `${name}.json`), now, now); // recently used
    return { path: data, size: meta.size, compression: meta.compression, key, problem: meta.problem };
  } catch {
    return undefined;
  }
}

async function hashRange(file: string, range: FileRange, options: CacheOptions): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  const stream = fs.createReadStream(file, { start: range.offset, end: range.offset + range.length - 1, highWaterMark: 1 << 20, signal: options.signal });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    options.onProgress?.(done, range.length);
  }
  return hash.digest('hex');
}

/** Identity of the file as it is now: any change to it (or a different file) gives another id. */
function identityId(file: string, range: FileRange): string | undefined {
  try {
    const st = fs.statSync(file, { bigint: true });
    return createHash('sha256').update(`${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${range.offset}:${range.length}`).digest('hex');
  } catch {
    return undefined;
  }
}

function readIdentity(dir: string, file: string, range: FileRange): string | undefined {
  const id = identityId(file, range);
  if (!id) return undefined;
  try {
    return fs.readFileSync(path.join(dir, 'by-file', id), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeIdentity(dir: string, file: string, range: FileRange, key: string): void {
  const id = identityId(file, range);
  if (!id) return;
  fs.mkdirSync(path.join(dir, 'by-file'), { recursive: true });
  writeText(path.join(dir, 'by-file', id), key);
}

function writeText(target: string, text: string): void {
  writeFileAtomic(target, (fd) => writeAll(fd, Buffer.from(text)));
}

/** Removes least recently used entries until the cache fits in `maxBytes` (never `keep`). */
function evict(dir: string, maxBytes: number, keep: string): void {
  const entries = fs
    .readdirSync(dir)
    // Complete entries only: an incomplete stream belongs to a running process and goes with it.
    .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
    .map((f) => {
      const key = f.slice(0, -5);
      const meta = path.join(dir, f);
      let size = 0;
      try {
        size = fs.statSync(path.join(dir, `${key}.qevm`)).size;
      } catch {
        // metadata without data: removed below at no cost
      }
      return { key, size, used: fs.statSync(meta).mtimeMs };
    })
    .sort((a, b) => a.used - b.used);
  let total = entries.reduce((n, e) => n + e.size, 0);
  for (const e of entries) {
    if (total <= maxBytes) break;
    if (e.key === keep) continue;
    fs.rmSync(path.join(dir, `${e.key}.qevm`), { force: true });
    fs.rmSync(path.join(dir, `${e.key}.json`), { force: true });
    total -= e.size;
  }
}
