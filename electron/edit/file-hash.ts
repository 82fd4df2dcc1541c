import { createHash } from 'node:crypto';
import type { ByteSource } from '../../shared/io/byte-source';

const CHUNK = 4 << 20;

export interface LongWorkOptions {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** sha256 of a ByteSource read synchronously in 4 MiB chunks (for callers that cannot wait). */
export function sha256OfSync(source: ByteSource): string {
  const hash = createHash('sha256');
  const buf = new Uint8Array(CHUNK);
  for (let at = 0; at < source.size; ) {
    const n = source.readInto(buf, 0, Math.min(CHUNK, source.size - at), at);
    if (n <= 0) throw new Error(`could not read byte ${at} of ${source.size}`);
    hash.update(buf.subarray(0, n));
    at += n;
  }
  return hash.digest('hex');
}

/**
 * sha256 of a ByteSource (a file or an edited view), streamed in 4 MiB chunks with
 * progress and cancellation; it yields to the event loop between chunks.
 */
export async function sha256Of(source: ByteSource, options: LongWorkOptions = {}): Promise<string> {
  const hash = createHash('sha256');
  const buf = new Uint8Array(CHUNK);
  for (let at = 0; at < source.size; ) {
    options.signal?.throwIfAborted();
    const n = source.readInto(buf, 0, Math.min(CHUNK, source.size - at), at);
    if (n <= 0) throw new Error(`could not read byte ${at} of ${source.size}`);
    hash.update(buf.subarray(0, n));
    at += n;
    options.onProgress?.(at, source.size);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}
