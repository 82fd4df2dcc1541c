import { DiagnosticSink, hex, type Diagnostic } from '../../diagnostics';
import { readBytes, type ByteSource } from '../../io/byte-source';
import { readBe32 } from '../../io/bytes';
import { crc32 } from '../../io/crc32';
import { MAX_HEADER } from '../qemu-stream/plausibility';
import { carriesStream, CHUNK_HEADER_BYTES, CHUNKED_SIGNATURE, isChunkTypeCode, knownChunkType, MAX_CHUNK_LENGTH, printableType, typeName } from './chunk-types';
import { ChunkNamer } from './chunk-keys';
import { parseJsonBytes } from './codec';
import { decodeHeader, type OriginRecord } from './header';
import { chunkExtent, type ChunkedLayer, type ChunkRecord } from './layer';
import { checkHeaderVersion, ChunkRules, crcMismatch } from './rules';

/** Data read per step while computing a chunk's CRC. */
const READ_BYTES = 4 << 20;
/** JSON chunks larger than this are not parsed (a note is text, not a file). */
const MAX_JSON_CHUNK = 64 << 20;

/**
 * Reads a chunked container's structure: walks every chunk from the signature on, checks
 * each one's CRC and the rules, and collects what the ancillary chunks say. Never throws on
 * bad input: a damaged chunk is a diagnostic and the walk goes on with the next one (found
 * by its length, or after a damaged length by its type and CRC).
 */
export function walkContainer(file: ByteSource): { layer: ChunkedLayer; diagnostics: Diagnostic[] } {
  const sink = new DiagnosticSink();
  const rules = new ChunkRules(sink);
  const namer = new ChunkNamer();
  const layer: ChunkedLayer = { kind: 'chunked-container', chunks: [], streamSize: 0, notes: [], journals: [] };
  const buf = new Uint8Array(READ_BYTES);
  let pos = CHUNKED_SIGNATURE.length;
  while (pos < file.size) {
    if (file.size - pos < CHUNK_HEADER_BYTES) {
      sink.error('chunked-cut-header', pos, {
        length: file.size - pos,
        expected: 'an 8-byte chunk header (length, type)',
        found: `${file.size - pos} bytes before the end of the file`,
        message: 'The file ends inside a chunk header',
      });
      break;
    }
    const head = readBytes(file, pos, CHUNK_HEADER_BYTES);
    const length = readBe32(head, 0);
    if (!isChunkTypeCode(head, 4) || length > MAX_CHUNK_LENGTH) {
      const next = damagedHeader(file, sink, pos, head);
      if (next < 0) break;
      pos = next;
      continue;
    }
    const type = typeName(head, 4);
    const present = Math.min(length, file.size - pos - CHUNK_HEADER_BYTES);
    const cut = pos + CHUNK_HEADER_BYTES + length + 4 > file.size;
    const { crc, leading, json } = readData(file, buf, pos + CHUNK_HEADER_BYTES, present, head.subarray(4, 8), knownChunkType(type)?.json === true || type === 'MHDR');
    const role = knownChunkType(type)?.role;
    const stream = role && carriesStream(role) ? layer.streamSize : undefined;
    const chunk: ChunkRecord = { offset: pos, type, length, present, ...(role ? { role } : {}), ...(stream === undefined ? {} : { stream }), ...namer.name(type, leading, pos, stream) };
    if (!cut) {
      chunk.storedCrc = readBe32(readBytes(file, pos + CHUNK_HEADER_BYTES + length, 4), 0);
      chunk.computedCrc = crc;
    }
    layer.chunks.push(chunk);
    if (stream !== undefined) layer.streamSize += present;
    rules.check(chunk, leading);
    if (cut) {
      sink.error('chunked-cut-chunk', pos, {
        length: file.size - pos,
        section: chunk.key,
        expected: `${length} bytes of data and a 4-byte CRC (to ${hex(pos + CHUNK_HEADER_BYTES + length + 4)})`,
        found: `the file ends at ${hex(file.size)}, ${present} bytes into the data`,
        message: `The file is cut inside ${type} chunk at ${hex(pos)}: its length runs past the end`,
        hint: stream !== undefined ? 'The data that is there is read as the end of the stream; its CRC cannot be checked.' : undefined,
      });
      break;
    }
    if (chunk.storedCrc !== chunk.computedCrc) crcMismatch(sink, chunk);
    else readAncillary(layer, sink, chunk, json);
    pos += chunkExtent(chunk);
    if (type === 'MEND') {
      if (pos < file.size) {
        layer.afterEnd = { offset: pos, length: file.size - pos };
        sink.warning('chunked-after-end', pos, {
          length: file.size - pos,
          expected: 'the end of the file after the MEND chunk',
          found: `${file.size - pos} more bytes`,
          message: 'Data follows the end chunk; it is not part of the container and is ignored',
        });
      }
      break;
    }
  }
  rules.finish(file.size);
  return { layer, diagnostics: sink.finish(file.size) };
}

/** Reads a chunk's data once: its CRC (type and data), its first bytes, and all of it for a JSON chunk. */
function readData(file: ByteSource, buf: Uint8Array, from: number, length: number, type: Uint8Array, wantAll: boolean): { crc: number; leading: Uint8Array; json?: Uint8Array } {
  let crc = crc32(type);
  let leading = new Uint8Array(0);
  const all = wantAll && length <= MAX_JSON_CHUNK ? new Uint8Array(length) : undefined;
  for (let done = 0; done < length; ) {
    const n = file.readInto(buf, 0, Math.min(buf.length, length - done), from + done);
    if (n <= 0) break;
    const part = buf.subarray(0, n);
    crc = crc32(part, crc);
    if (done === 0) leading = part.slice(0, MAX_HEADER);
    all?.set(part, done);
    done += n;
  }
  return { crc, leading, json: all };
}

/** What a known JSON chunk says, into the layer (header, origin, notes, tags, journals). */
function readAncillary(layer: ChunkedLayer, sink: DiagnosticSink, c: ChunkRecord, data: Uint8Array | undefined): void {
  if (!data) return;
  if (c.type === 'MHDR') return readHeader(layer, sink, c, data);
  const { value, problem } = parseJsonBytes(data);
  const bad = (what: string) =>
    sink.warning('chunked-bad-json', c.offset + 8, {
      length: c.present,
      section: c.key,
      expected: what,
      found: problem ?? `JSON of another shape`,
      message: `The ${c.type} chunk at ${hex(c.offset)} cannot be read; it is ignored`,
    });
  switch (c.type) {
    case 'oRIg':
      if (isObject(value) && typeof value.stream_size === 'number') layer.origin ??= value as unknown as OriginRecord;
      else bad('a JSON object with the source and stream identity');
      return;
    case 'nOTe':
      if (isObject(value) && typeof value.about === 'string' && typeof value.text === 'string') layer.notes.push({ about: value.about, text: value.text, offset: c.offset });
      else bad('a JSON object {"about": …, "text": …}');
      return;
    case 'tAGs':
      if (Array.isArray(value) && value.every((t) => typeof t === 'string')) layer.tags ??= value as string[];
      else bad('a JSON array of strings');
      return;
    case 'jRNl':
      if (Array.isArray(value)) layer.journals.push(...value);
      else bad('a JSON array of edit journals');
      return;
  }
}

function readHeader(layer: ChunkedLayer, sink: DiagnosticSink, c: ChunkRecord, data: Uint8Array): void {
  const { header, problem } = decodeHeader(data);
  if (header && !layer.header) {
    layer.header = header;
    checkHeaderVersion(sink, c, header.major, header.minor);
  }
  if (problem) {
    sink.error('chunked-bad-header', c.offset + 8, {
      length: c.present,
      section: 'MHDR',
      expected: 'two version bytes and a JSON object',
      found: problem,
      message: 'The container header cannot be read',
    });
  }
}

/**
 * A chunk header that is not one (a type that is not four letters, a length beyond 2^31 − 1):
 * reports it and finds the next chunk of a known type whose CRC is right. Returns its
 * offset, or -1 when there is none.
 */
function damagedHeader(file: ByteSource, sink: DiagnosticSink, pos: number, head: Uint8Array): number {
  const length = readBe32(head, 0);
  const badType = !isChunkTypeCode(head, 4);
  const next = findNextChunk(file, pos + 1);
  sink.error(badType ? 'chunked-bad-type' : 'chunked-bad-length', badType ? pos + 4 : pos, {
    length: 4,
    expected: badType ? 'a chunk type of four letters (A–Z, a–z)' : `a chunk length of at most ${MAX_CHUNK_LENGTH}`,
    found: badType ? printableType(head, 4) : `${length}`,
    message: `The chunk header at ${hex(pos)} is damaged, so the chunk's end is unknown`,
    hint: next >= 0 ? `Reading resumed at the next intact chunk, at ${hex(next)} (${next - pos} bytes later).` : 'No intact chunk follows it.',
  });
  return next;
}

/** The next offset ≥ from where a chunk of a known type starts whose CRC is right (-1: none). */
export function findNextChunk(file: ByteSource, from: number): number {
  const STEP = 1 << 20;
  for (let base = from; base + CHUNK_HEADER_BYTES + 4 <= file.size; base += STEP) {
    const window = readBytes(file, base, STEP + CHUNK_HEADER_BYTES);
    const stop = Math.min(STEP, window.length - CHUNK_HEADER_BYTES + 1);
    for (let i = 0; i < stop; i++) {
      if (!isChunkTypeCode(window, i + 4) || !knownChunkType(typeName(window, i + 4))) continue;
      const at = base + i;
      const length = readBe32(window, i);
      if (length > MAX_CHUNK_LENGTH || at + 12 + length > file.size) continue;
      const crc = readBe32(readBytes(file, at + 8 + length, 4), 0);
      if (crc32(readBytes(file, at + 8, length), crc32(window.subarray(i + 4, i + 8))) === crc) return at;
    }
  }
  return -1;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
