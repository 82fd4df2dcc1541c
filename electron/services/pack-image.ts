import { createHash, type Hash } from 'node:crypto';
import * as path from 'node:path';
import { countBySeverity, type Diagnostic } from '../../shared/diagnostics';
import { CHUNKED_SIGNATURE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../../shared/formats/chunked/chunk-types';
import { encodeChunk, jsonBytes } from '../../shared/formats/chunked/codec';
import type { OriginRecord } from '../../shared/formats/chunked/header';
import { ChunkedPacker, type PackSummary } from '../../shared/formats/chunked/packer';
import { DETECT_BYTES, detectFormat } from '../../shared/formats/registry';
import { QEVM_MAGIC } from '../../shared/formats/qemu-stream/constants';
import { readBe32 } from '../../shared/io/bytes';
import { openByteOutput, type ByteOutput } from '../io/byte-output';
import { EventLoopTurns, ReadBlocks, readBlocksAhead, readBlocksSync } from '../io/read-blocks';
import { ThreadedSha256 } from '../io/threaded-sha256';
import type { FileSource } from '../io/file-source';
import { attachContainer, describeContainer, prepareContainer, type StreamInFile } from './open-container';
import { openReadOnly } from './open-image';
import { sealedBy } from './seal-image';
import { UserError } from './user-error';

export interface PackOptions {
  /** Largest chunk of stream data (default 4 MiB). */
  chunkSize?: number;
  /** The QEMU version that wrote the stream, for the header (a stream does not say). */
  qemuVersion?: string;
  /** qcow2: the internal snapshot whose VM state is packed. */
  snapshot?: string;
  /** Replace an existing output file. */
  force?: boolean;
  onProgress?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** Standard input and output for "-" (tests pass their own). */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

export interface PackResult {
  output: string;
  sourceKind: string;
  streamSize: number;
  containerSize: number;
  summary: PackSummary;
  origin: OriginRecord;
  /** Problems the source's own container reported (a damaged libvirt header, a chunk with a wrong CRC …). */
  sourceDiagnostics: Diagnostic[];
}

/** Stream bytes read per step from a file. */
const READ_BYTES = 4 << 20;
/**
 * How far the copy may run ahead of the hashing thread. The hash is the slowest pass, so the
 * copy waits for it in the end; the lead lets it absorb the other thread's hiccups (a loaded
 * machine, a slow write) without the hash ever waiting for bytes.
 */
const HASH_AHEAD = 4 * READ_BYTES;
/** Reads in flight from a file: one copied while the block before is split and checked, one spare. */
const READS_AHEAD = 2;

/**
 * `migwb pack`: the QEMU stream of an image (any format the workbench opens, or a bare
 * stream on standard input) into a chunked container, in one pass with bounded memory.
 * The container's evidence chunk (oRIg) holds the sha256 of the source and of the stream.
 */
export async function packImage(input: string, output: string, options: PackOptions = {}): Promise<PackResult> {
  const chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  // The hashing thread starts first: it boots (tens of ms) while the source is opened, and
  // the sha256, the longest single pass of a pack, begins with the first block.
  const hashing = new ThreadedSha256(HASH_AHEAD);
  let source: StreamInput;
  try {
    source = input === '-' ? await stdinSource(options.stdin ?? process.stdin) : await fileSource(input, options);
  } catch (e) {
    hashing.close();
    throw e;
  }
  let out: ByteOutput | undefined;
  try {
    const target = openByteOutput(output, { protect: input === '-' ? [] : [input], overwrite: options.force, stdout: options.stdout });
    out = target;
    const parts: Uint8Array[] = [];
    const packer = new ChunkedPacker(
      { source: source.kind, ...(options.snapshot ? { snapshot: options.snapshot } : {}), ...(options.qemuVersion ? { qemu_version: options.qemuVersion } : {}), packed_by: sealedBy() },
      (p) => parts.push(...p),
      chunkSize,
    );
    // The sha256 runs on a second thread beside the copy, a file is read ahead and the output
    // written on libuv's pool: a block is reused once the packer, the hash and the write are
    // all past it (the pool: the hash's lead, a chunk held, a write and the reads in flight).
    const blocks = new ReadBlocks(READ_BYTES, !out.keepsParts, { poolSize: HASH_AHEAD / READ_BYTES + 6, shared: true });
    const turns = new EventLoopTurns();
    for await (const block of source.blocks(blocks, () => Math.min(packer.keptFrom, hashing.hashed, target.pendingFrom))) {
      options.signal?.throwIfAborted();
      await hashing.update(block);
      // The chunks this push completes lie in bytes the packer held, or in this block: from here on.
      const from = packer.keptFrom;
      packer.push(block);
      await out.write(parts.splice(0), from);
      options.onProgress?.(packer.streamSize, source.streamSize);
      await turns.after(packer.streamSize);
    }
    if (packer.streamSize === 0) throw new UserError(`${input === '-' ? 'standard input' : input} holds no stream bytes; nothing to pack`);
    const streamSha = await hashing.digest();
    const origin: OriginRecord = {
      source_name: input === '-' ? '-' : path.basename(input),
      source_kind: source.kind,
      source_size: source.fileSize ?? packer.streamSize,
      source_sha256: source.fileHash ? await source.fileHash(options.signal) : streamSha,
      stream_size: packer.streamSize,
      stream_sha256: streamSha,
      packed_at: new Date().toISOString(),
      packed_by: sealedBy(),
    };
    const summary = packer.finish([encodeChunk('oRIg', jsonBytes(origin))]);
    await out.write(parts.splice(0));
    await out.commit();
    return { output, sourceKind: source.kind, streamSize: packer.streamSize, containerSize: out.written, summary, origin, sourceDiagnostics: source.diagnostics };
  } catch (e) {
    out?.abort();
    if ((e as Error).name === 'AbortError') throw new UserError('packing cancelled; nothing was written');
    throw e;
  } finally {
    hashing.close();
    source.close();
  }
}

function checkChunkSize(n: number): number {
  if (!Number.isInteger(n) || n < MIN_CHUNK_SIZE || n > MAX_CHUNK_SIZE) throw new UserError(`--chunk-size must be between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE} bytes, not ${n}`);
  return n;
}

/** Where the stream comes from, read forward once. */
interface StreamInput {
  kind: string;
  streamSize?: number;
  fileSize?: number;
  /** The whole source file's sha256, when it is more than the stream (a libvirt save, a qcow2). */
  fileHash?: (signal?: AbortSignal) => Promise<string>;
  diagnostics: Diagnostic[];
  /** The stream in order; a file's is read into `blocks`, reusing memory before `keptFrom()`. */
  blocks(blocks: ReadBlocks, keptFrom: () => number): Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  close(): void;
}

/** An image file of any format: its QEMU stream, as the workbench opens it. */
async function fileSource(input: string, options: PackOptions): Promise<StreamInput> {
  const file = openReadOnly(input);
  let attached: StreamInFile | undefined;
  try {
    const container = describeContainer(input, file, { snapshot: options.snapshot });
    await prepareContainer(input, container, {});
    attached = attachContainer(input, file, container);
    const { stream, offsets } = attached;
    const whole = offsets.base === 0 && stream.size === file.size;
    const base = offsets.base;
    const a = attached;
    return {
      kind: container.kind,
      streamSize: stream.size,
      fileSize: file.size,
      ...(whole ? {} : { fileHash: (signal?: AbortSignal) => hashSource(file, signal) }),
      diagnostics: attached.diagnostics.filter((d) => d.severity !== 'info'),
      // A stream stored as it is in the file (a bare stream, a libvirt save) is read ahead on
      // libuv's pool; one in scattered or decoded pieces (a qcow2 vmstate) through its reader.
      blocks: (blocks, keptFrom) =>
        base === undefined
          ? readBlocksSync(stream, blocks, keptFrom, `the stream of ${input}`)
          : readBlocksAhead((target, length, position) => file.readIntoAsync(target, 0, length, base + position), stream.size, blocks, keptFrom, READS_AHEAD, input),
      close: () => (a.close(), file.close()),
    };
  } catch (e) {
    attached?.close();
    file.close();
    throw e;
  }
}

async function hashSource(file: FileSource, signal?: AbortSignal): Promise<string> {
  const hash: Hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(READ_BYTES);
  for (let at = 0; at < file.size; ) {
    signal?.throwIfAborted();
    const n = file.readInto(buf, 0, Math.min(buf.length, file.size - at), at);
    if (n <= 0) break;
    hash.update(buf.subarray(0, n));
    at += n;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}

/**
 * Standard input: a bare QEMU stream only (a wrapped image needs its file to be opened).
 * Its first bytes are looked at before anything is written.
 */
async function stdinSource(stdin: NodeJS.ReadableStream): Promise<StreamInput> {
  const iterator = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < DETECT_BYTES) {
    const r = await iterator.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
    head.push(b);
    headBytes += b.length;
  }
  const first = Buffer.concat(head);
  if (first.length < 4 || readBe32(first, 0) !== QEVM_MAGIC) {
    const detected = first.length ? detectFormat(first) : undefined;
    const isContainer = CHUNKED_SIGNATURE.every((b, i) => first[i] === b);
    throw new UserError(
      first.length === 0
        ? 'standard input is empty: nothing to pack'
        : detected
          ? `standard input holds a ${detected.label}; from standard input pack reads a bare QEMU stream only${isContainer ? '' : ': give the file\'s path instead'}`
          : 'standard input is not a QEMU migration stream (it does not start with "QEVM")',
    );
  }
  return {
    kind: 'qemu-migration-stream',
    diagnostics: [],
    async *blocks() {
      for (const b of head) yield b;
      if (ended) return;
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        yield typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
      }
    },
    close: () => {},
  };
}

/** Source problems worth a line in pack's report. */
export function sourceProblems(diagnostics: Diagnostic[]): string | undefined {
  const c = countBySeverity(diagnostics);
  return c.error || c.warning ? `the source reports ${c.error} errors and ${c.warning} warnings ("migwb validate" lists them); its stream was packed as it is` : undefined;
}
