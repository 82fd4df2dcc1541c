import * as fs from 'node:fs';
import { ChunkedUnpacker, type UnpackSummary } from '../../shared/formats/chunked/unpacker';
import { openByteOutput, type ByteOutput } from '../io/byte-output';
import { openReadOnly } from './open-image';
import { UserError } from './user-error';

export interface UnpackOptions {
  /** Write damaged critical chunks and leave out unknown critical ones instead of stopping. */
  force?: boolean;
  /** Replace an existing output file. */
  overwrite?: boolean;
  onProgress?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

export interface UnpackResult extends UnpackSummary {
  output: string;
  /** The output was kept: complete, or written anyway (--force, or standard output, which cannot be taken back). */
  written: boolean;
}

/**
 * `migwb unpack`: the QEMU stream of a chunked container, byte for byte, checked chunk by
 * chunk as it is read (a file or standard input) and written (a file, atomically, or
 * standard output). A damaged or unknown critical chunk stops it: a file output is then
 * not written at all, and a pipe gets no byte of that chunk, so QEMU reading it fails.
 */
export async function unpackImage(input: string, output: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const total = input === '-' ? undefined : openReadOnly(input).size;
  const reader = input === '-' ? (options.stdin ?? process.stdin) : fs.createReadStream(input, { highWaterMark: 4 << 20 });
  let out: ByteOutput | undefined;
  try {
    out = openByteOutput(output, { protect: input === '-' ? [] : [input], overwrite: options.overwrite, stdout: options.stdout });
    const parts: Uint8Array[] = [];
    const unpacker = new ChunkedUnpacker((p) => parts.push(...p), { force: options.force });
    let read = 0;
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      unpacker.push(chunk);
      read += chunk.length;
      await out.write(parts.splice(0));
      options.onProgress?.(read, total);
      if (unpacker.stopped) break;
    }
    const summary = unpacker.finish();
    await out.write(parts.splice(0));
    if (summary.stoppedBy?.code === 'chunked-signature') throw new UserError(`${input === '-' ? 'standard input' : input} is not a migwb chunked container (it does not start with its signature); "migwb info" says what it is`);
    const keep = !summary.stoppedBy || options.force === true || out.target === '-';
    if (keep) await out.commit();
    else out.abort();
    return { ...summary, output, written: keep };
  } catch (e) {
    out?.abort();
    if ((e as Error).name === 'AbortError') throw new UserError('unpacking cancelled; nothing was written');
    throw e;
  } finally {
    if (reader !== process.stdin && 'destroy' in reader) (reader as fs.ReadStream).destroy();
  }
}
