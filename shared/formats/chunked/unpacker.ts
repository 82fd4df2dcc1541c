import { DiagnosticSink, hex, type Diagnostic } from '../../diagnostics';
import { readBe32 } from '../../io/bytes';
import { crc32 } from '../../io/crc32';
import { MAX_HEADER } from '../qemu-stream/plausibility';
import { carriesStream, chunkProperties, CHUNK_HEADER_BYTES, CHUNKED_SIGNATURE, isChunkTypeCode, knownChunkType, MAX_CHUNK_LENGTH, MAX_CHUNK_SIZE, printableType, typeName } from './chunk-types';
import { ChunkNamer } from './chunk-keys';
import type { ChunkRecord } from './layer';
import { ChunkRules, crcMismatch } from './rules';

export interface UnpackOptions {
  /** Write damaged critical chunks and leave out unknown critical ones instead of stopping. */
  force?: boolean;
}

export interface UnpackSummary {
  streamSize: number;
  chunks: number;
  diagnostics: Diagnostic[];
  /** The error that stopped the stream from being written, when one did. */
  stoppedBy?: Diagnostic;
  /** The MEND chunk was reached. */
  complete: boolean;
}

type Phase = 'signature' | 'header' | 'data' | 'crc' | 'end' | 'stopped';

/**
 * Unpacks a chunked container as it arrives: push() its bytes, finish() at its end; the
 * stream bytes go to `sink` in order. Each chunk is held until its CRC is checked (chunks of
 * up to 16 MiB; a larger one is passed on as it comes and checked after), so a damaged or
 * unknown critical chunk stops the stream before any of its bytes are written: QEMU loading
 * from `migwb unpack … -o -` then fails rather than loading damaged state (the two outcomes).
 * Damage in ancillary stream chunks (the vmdesc) is reported and written, as QEMU skips them.
 */
export class ChunkedUnpacker {
  private readonly sink: DiagnosticSink;
  private readonly rules: ChunkRules;
  private readonly namer = new ChunkNamer();
  private phase: Phase = 'signature';
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private fileOffset = 0;
  private streamSize = 0;
  private chunkCount = 0;
  private chunk?: { offset: number; type: string; typeBytes: Uint8Array; length: number; got: number; crc: number; held: Uint8Array[]; passedOn: boolean; leading: Uint8Array };
  private stoppedBy?: Diagnostic;
  private reachedEnd = false;

  constructor(
    private readonly out: (parts: Uint8Array[]) => void,
    private readonly options: UnpackOptions = {},
  ) {
    this.sink = new DiagnosticSink();
    this.rules = new ChunkRules(this.sink);
  }

  get stopped(): Diagnostic | undefined {
    return this.stoppedBy;
  }

  /** The first input offset whose bytes the unpacker still holds (a chunk waiting for its CRC, a split header); the caller may reuse memory before it. */
  get keptFrom(): number {
    const c = this.chunk;
    return c && c.held.length > 0 ? c.offset + CHUNK_HEADER_BYTES : this.fileOffset;
  }

  push(block: Uint8Array): void {
    let at = 0;
    while (at < block.length && this.phase !== 'stopped' && this.phase !== 'end') {
      if (this.phase === 'data') {
        at += this.data(block.subarray(at));
        continue;
      }
      const need = this.phase === 'signature' ? CHUNKED_SIGNATURE.length : this.phase === 'header' ? CHUNK_HEADER_BYTES : 4;
      const take = Math.min(need - this.pendingBytes, block.length - at);
      this.pending.push(block.subarray(at, at + take));
      this.pendingBytes += take;
      at += take;
      if (this.pendingBytes === need) this.fixedPart(joined(this.pending, need));
    }
    if (this.phase === 'end' && at < block.length) this.afterEnd(block.length - at);
  }

  finish(): UnpackSummary {
    if (this.phase === 'data' || this.phase === 'crc' || (this.phase === 'header' && this.pendingBytes > 0)) {
      const c = this.chunk;
      this.sink.error('chunked-cut-chunk', this.fileOffset, {
        section: c?.type,
        expected: c ? `the rest of the ${c.type} chunk at ${hex(c.offset)} (${c.length} bytes of data and a CRC)` : 'a whole chunk header',
        found: 'the end of the input',
        message: c ? `The container is cut inside the ${c.type} chunk at ${hex(c.offset)}` : 'The container is cut inside a chunk header',
        hint: 'The stream written so far ends where the container was cut.',
      });
    }
    if (this.phase === 'signature') {
      this.sink.error('chunked-signature', 0, { expected: 'the chunked container signature 8f 4d 49 47 0d 0a 1a 0a', found: `${this.pendingBytes} bytes`, message: 'The input is not a chunked container' });
    } else if (this.phase !== 'stopped') this.rules.finish(this.fileOffset);
    const diagnostics = this.sink.finish(this.fileOffset);
    return { streamSize: this.streamSize, chunks: this.chunkCount, diagnostics, ...(this.stoppedBy ? { stoppedBy: this.stoppedBy } : {}), complete: this.reachedEnd };
  }

  private fixedPart(bytes: Uint8Array): void {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.phase === 'signature') {
      if (!CHUNKED_SIGNATURE.every((b, i) => bytes[i] === b)) {
        this.stop({ severity: 'error', code: 'chunked-signature', offset: 0, length: 8, expected: 'the chunked container signature 8f 4d 49 47 0d 0a 1a 0a', found: hexOf(bytes), message: 'The input is not a chunked container (or its signature is damaged)' });
        return;
      }
      this.fileOffset = 8;
      this.phase = 'header';
    } else if (this.phase === 'header') this.header(bytes);
    else this.crcDone(readBe32(bytes, 0));
  }

  private header(bytes: Uint8Array): void {
    const length = readBe32(bytes, 0);
    if (!isChunkTypeCode(bytes, 4) || length > MAX_CHUNK_LENGTH) {
      const badType = !isChunkTypeCode(bytes, 4);
      this.stop({
        severity: 'error',
        code: badType ? 'chunked-bad-type' : 'chunked-bad-length',
        offset: badType ? this.fileOffset + 4 : this.fileOffset,
        length: 4,
        expected: badType ? 'a chunk type of four letters' : `a chunk length of at most ${MAX_CHUNK_LENGTH}`,
        found: badType ? printableType(bytes, 4) : `${length}`,
        message: `The chunk header at ${hex(this.fileOffset)} is damaged; a stream cannot be read past it`,
        hint: '"migwb validate" finds the chunks after the damage; "migwb chunks" lists them.',
      });
      return;
    }
    const typeBytes = bytes.slice(4, 8);
    this.chunk = { offset: this.fileOffset, type: typeName(bytes, 4), typeBytes, length, got: 0, crc: crc32(typeBytes), held: [], passedOn: false, leading: new Uint8Array(0) };
    this.fileOffset += CHUNK_HEADER_BYTES;
    this.phase = length === 0 ? 'crc' : 'data';
  }

  /** Consumes data bytes of the current chunk; returns how many. */
  private data(bytes: Uint8Array): number {
    const c = this.chunk!;
    const n = Math.min(bytes.length, c.length - c.got);
    const part = bytes.subarray(0, n);
    c.crc = crc32(part, c.crc);
    if (c.got < MAX_HEADER) c.leading = concat(c.leading, part.subarray(0, MAX_HEADER - c.got));
    const stream = this.isStream(c.type);
    if (stream) {
      if (c.passedOn || c.length > MAX_CHUNK_SIZE) {
        // Too long to hold: passed on as it comes and checked at its end.
        if (!c.passedOn) this.out(c.held.splice(0));
        c.passedOn = true;
        this.out([part]);
      } else c.held.push(part);
    }
    c.got += n;
    this.fileOffset += n;
    if (c.got === c.length) this.phase = 'crc';
    return n;
  }

  private crcDone(stored: number): void {
    const c = this.chunk!;
    this.chunk = undefined;
    this.fileOffset += 4;
    this.chunkCount++;
    const role = knownChunkType(c.type)?.role;
    const stream = role && carriesStream(role) ? this.streamSize : undefined;
    const record: ChunkRecord = { offset: c.offset, type: c.type, length: c.length, present: c.length, storedCrc: stored, computedCrc: c.crc, ...(role ? { role } : {}), ...(stream === undefined ? {} : { stream }), ...this.namer.name(c.type, c.leading, c.offset, stream) };
    const before = this.sink.items.length;
    this.rules.check(record, c.leading);
    const unknownCritical = this.sink.items.slice(before).find((d) => d.code === 'chunked-unknown-critical');
    if (stored !== c.crc) crcMismatch(this.sink, record);
    const critical = chunkProperties(c.type).critical;
    if (unknownCritical && !this.options.force) return this.stop(unknownCritical);
    if (stored !== c.crc && critical && !this.options.force) return this.stop(this.sink.items[this.sink.items.length - 1]);
    if (stream !== undefined) {
      if (!c.passedOn) this.out(c.held);
      this.streamSize += c.length;
    }
    this.reachedEnd ||= c.type === 'MEND';
    this.phase = c.type === 'MEND' ? 'end' : 'header';
  }

  private isStream(type: string): boolean {
    const role = knownChunkType(type)?.role;
    return role !== undefined && carriesStream(role);
  }

  private afterEnd(bytes: number): void {
    this.sink.warning('chunked-after-end', this.fileOffset, { length: bytes, expected: 'the end of the input after the MEND chunk', found: `${bytes} more bytes`, message: 'Data follows the end chunk; it is ignored' });
    this.fileOffset += bytes;
    this.phase = 'stopped';
  }

  private stop(d: Diagnostic): void {
    if (!this.sink.items.includes(d)) this.sink.add(d);
    this.stoppedBy = d;
    this.phase = 'stopped';
  }
}

function joined(parts: Uint8Array[], n: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function hexOf(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
