import { ChunkedUnpacker, type UnpackSummary } from '../../shared/formats/chunked/unpacker';
import { openByteOutput, type ByteOutput } from '../io/byte-output';
import { EventLoopTurns, ReadBlocks, readBlocksAhead } from '../io/read-blocks';
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
  const file = input === '-' ? undefined : openReadOnly(input);
  let out: ByteOutput | undefined;
  try {
    const target = openByteOutput(output, { protect: input === '-' ? [] : [input], overwrite: options.overwrite, stdout: options.stdout });
    out = target;
    const parts: Uint8Array[] = [];
    const unpacker = new ChunkedUnpacker((p) => parts.push(...p), { force: options.force });
    // A file is read ahead on libuv's pool while this thread checks CRCs and the output is
    // written on the pool too: reading, checking and writing overlap on the machine's cores.
    const blocks: AsyncIterable<Uint8Array> = file
      ? readBlocksAhead(
          (target, length, position) => file.readIntoAsync(target, 0, length, position),
          file.size,
          new ReadBlocks(READ_BYTES, !out.keepsParts, { poolSize: 8 }),
          () => Math.min(unpacker.keptFrom, target.pendingFrom),
          READS_AHEAD,
          file.path,
        )
      : ((options.stdin ?? process.stdin) as AsyncIterable<Buffer>);
    const turns = new EventLoopTurns();
    let read = 0;
    for await (const chunk of blocks) {
      options.signal?.throwIfAborted();
      // What this push hands on lies in bytes the unpacker held, or in this block: from here on.
      const from = unpacker.keptFrom;
      unpacker.push(chunk);
      read += chunk.length;
      await out.write(parts.splice(0), from);
      options.onProgress?.(read, file?.size);
      if (unpacker.stopped) break;
      await turns.after(read);
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
    file?.close();
  }
}

/** Container bytes read per step from a file. */
const READ_BYTES = 4 << 20;
/** Reads in flight: one being copied while the block before is checked, one more against hiccups. */
const READS_AHEAD = 2;
