import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import type { FileRange } from '../../shared/formats/container-model';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
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
 * atomically (temp file, fsync, rename), so a crash never leaves a half entry behind.
 */
export interface CacheOptions {
  /** Cache folder; default $MIGWB_CACHE_DIR, else $XDG_CACHE_HOME/migwb/decompressed, else ~/.cache/migwb/decompressed. */
  cacheDir?: string;
  /** Total size the cache may keep after a new entry is written; default $MIGWB_CACHE_MAX_BYTES or 32 GiB. */
  maxBytes?: number;
  /** Called with compressed bytes read and the compressed length. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CachedStream {
  /** The decompressed QEMU stream. */
  path: string;
  size: number;
  compression: StreamCompression;
  /** SHA-256 of the compressed bytes. */
  key: string;
  /** Set when the compressed data ended early or was damaged: the stream is what could be decompressed. */
  problem?: { message: string; compressedOffset: number };
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

/** The cached decompressed stream of `range` of `file`, if this exact file was decompressed before. */
export function findCachedStream(file: string, range: FileRange, options: CacheOptions = {}): CachedStream | undefined {
  const dir = options.cacheDir ?? defaultCacheDir();
  const key = readIdentity(dir, file, range);
  return key ? openEntry(dir, key) : undefined;
}

/**
 * Returns the decompressed stream of `range` of `file`, decompressing it into the cache
 * unless an entry with the same content exists. Cancel through `signal`.
 */
export async function decompressToCache(file: string, range: FileRange, compression: StreamCompression, options: CacheOptions = {}): Promise<CachedStream> {
  const dir = options.cacheDir ?? defaultCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const known = findCachedStream(file, range, options);
  if (known) return known;
  // Same content under another name: one hashing pass, no decompression.
  const key = await hashRange(file, range, options);
  const existing = openEntry(dir, key);
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
  const { decompressingStream } = await import('./libvirt/decoders');
  const temp = path.join(dir, `${key}.qevm.tmp-${process.pid}-${Date.now()}`);
  const out = await fs.promises.open(temp, 'wx');
  let size = 0;
  let read = 0;
  let problem: CachedStream['problem'];
  const input = fs.createReadStream(file, { start: range.offset, end: range.offset + range.length - 1, highWaterMark: 1 << 20 });
  const counted = input.pipe(
    new Transform({
      transform(chunk: Buffer, _e, callback) {
        read += chunk.length;
        options.onProgress?.(read, range.length);
        callback(null, chunk);
      },
    }),
  );
  const decoded = decompressingStream(compression, counted);
  const abort = () => decoded.destroy(cancelled('decompression'));
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (options.signal?.aborted) abort();
    for await (const chunk of decoded) {
      await out.write(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError' || options.signal?.aborted) {
      await out.close();
      fs.rmSync(temp, { force: true });
      input.destroy();
      throw e;
    }
    // Damaged or cut compressed data: keep everything that decompressed, say where it stopped.
    problem = { message: `${compression} data ${describeDecodeError(e as Error)}`, compressedOffset: range.offset + read };
  } finally {
    options.signal?.removeEventListener('abort', abort);
    input.destroy();
  }
  await out.sync();
  await out.close();
  const meta: EntryMeta = { key, size, compression, problem, compressedLength: range.length, created: new Date().toISOString(), firstSource: file };
  fs.renameSync(temp, path.join(dir, `${key}.qevm`));
  writeText(path.join(dir, `${key}.json`), JSON.stringify(meta, null, 2));
  return { path: path.join(dir, `${key}.qevm`), size, compression, key, problem };
}

function describeDecodeError(e: Error): string {
  const m = e.message || String(e);
  return /unexpected end|truncated|premature|ends/i.test(m) ? `ends early (truncated): ${m}` : `is damaged: ${m}`;
}

function openEntry(dir: string, key: string): CachedStream | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${key}.json`), 'utf8')) as EntryMeta;
    const data = path.join(dir, `${key}.qevm`);
    if (fs.statSync(data).size !== meta.size) return undefined;
    const now = new Date();
    fs.utimesSync(path.join(dir, `${key}.json`), now, now); // recently used
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
    .filter((f) => f.endsWith('.json'))
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
