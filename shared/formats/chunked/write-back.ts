import { hex } from '../../diagnostics';
import type { ContainerEdit } from '../../edit/intents';
import { bytesPiece, IMAGE_SOURCE, JournalSource, PieceTable, rangePiece, type Piece } from '../../edit/pieces';
import { readBytes, type ByteSource } from '../../io/byte-source';
import { be32 } from '../../io/bytes';
import { crc32 } from '../../io/crc32';
import type { ContainerDescription, WriteBack, WriteBackInput } from '../format';
import type { QemuStreamModel } from '../qemu-stream/model';
import { MAX_HEADER } from '../qemu-stream/plausibility';
import { freshDirectory } from '../section-directory/reseal';
import { lastAtOrBefore } from '../../util/sorted';
import { carriesStream, chunkProperties, DEFAULT_CHUNK_SIZE, ELEMENT_CHUNK, knownChunkType } from './chunk-types';
import { ChunkNamer } from './chunk-keys';
import { chunkCrc, chunkHeader, encodeChunk, jsonBytes } from './codec';
import { chunkExtent, crcOk, type ChunkedLayer, type ChunkRecord } from './layer';

/**
 * Saving an edited chunked container (docs/chunked-container.md §7). The edited stream is
 * put back into chunks: every original chunk whose data the edits left untouched is copied
 * as it is, stored CRC included (an edit never hides damage it did not touch); the changed
 * stretches between them are cut anew at element starts and at the chunk size, with fresh
 * CRCs. Notes, tags and the journal are written as the container edits say; if the stream
 * changed, unknown ancillary chunks that are not safe to copy are dropped (PNG's rule).
 */

/** One chunk of the container Save as would write. */
export type PlannedChunk =
  /** Copied from the original file as it is. */
  | { kind: 'kept'; chunk: ChunkRecord; stream?: number; key: string; detail?: string }
  /** New, over bytes [stream, stream + length) of the new stream; `from`: an original chunk whose CRC it recomputes. */
  | { kind: 'stream'; type: string; stream: number; length: number; key: string; detail?: string; from?: ChunkRecord }
  /** New, of bytes made here (a note, the journal, the tags). */
  | { kind: 'bytes'; type: string; data: Uint8Array; key: string; detail?: string };

export interface ContainerPlan {
  chunks: PlannedChunk[];
  /** The stream the stream chunks hold (the edited one, its section directory renewed). */
  stream: ByteSource;
  /** What the user should know: dropped chunks, damage a new CRC now covers. */
  notes: string[];
  /** Whether the stream differs from the original's. */
  streamChanged: boolean;
}

export type ChunkedWriteBackInput = WriteBackInput<ChunkedLayer>;

export function writeContainer(input: ChunkedWriteBackInput): WriteBack {
  const edits = input.containerEdits ?? [];
  if (input.edits === 0 && edits.length === 0) return { content: input.file, notes: [] };
  const plan = planContainer(input);
  const sources = new Map<string, ByteSource>([
    ['file', input.file],
    ['stream', plan.stream],
  ]);
  const pieces: Piece[] = [rangePiece('file', 0, 8)];
  for (const c of plan.chunks) pieces.push(...chunkPieces(c, plan.stream));
  return { content: new PieceTable(sources, pieces).snapshot(), notes: plan.notes };
}

/** The chunks Save as would write, in order (also what the chunk panel lists for an edited container). */
export function planContainer(input: ChunkedWriteBackInput): ContainerPlan {
  const layer = input.container.layers[0];
  const edits = input.containerEdits ?? [];
  const chunkSize = layer.header?.fields.chunk_size ?? DEFAULT_CHUNK_SIZE;
  const notes: string[] = [];
  const recompute = new Set(edits.flatMap((e) => (e.kind === 'recompute-crc' ? [e.chunk] : [])));
  const drop = new Set(edits.flatMap((e) => (e.kind === 'drop-chunk' ? [e.chunk] : [])));
  const whole = imageRuns(input.edited, input.edited.size);
  const streamChanged = !(whole.length === 1 && whole[0].at === 0 && whole[0].from === 0 && whole[0].length === layer.streamSize && input.edited.size === layer.streamSize);
  // An edited stream's old section directory is renewed; an unchanged stream keeps every byte.
  const trailer = streamChanged ? freshDirectory(input.edited, input.model, input.sealedBy) : { keep: input.edited.size, notes: [] };
  const stream = trailer.directory ? withDirectory(input.edited, trailer.keep, trailer.directory) : trailer.keep < input.edited.size ? cutTo(input.edited, trailer.keep) : input.edited;
  notes.push(...trailer.notes);
  const runs = trailer.keep === input.edited.size ? whole : imageRuns(input.edited, trailer.keep);

  const kept = keptStreamChunks(layer, runs, recompute);
  const out: PlannedChunk[] = [];
  const header = layer.chunks.find((c) => c.type === 'MHDR');
  if (header) out.push({ kind: 'kept', chunk: header, key: 'MHDR' });
  const namer = new ChunkNamer();
  if (header) namer.name('MHDR', new Uint8Array(0), header.offset, undefined);
  let at = 0;
  for (const k of [...kept, { at: stream.size, chunk: undefined }]) {
    for (const piece of newStretch(input.model, stream, at, k.at, trailer.keep, chunkSize)) {
      const leading = readBytes(stream, piece.stream, Math.min(piece.length, MAX_HEADER));
      const from = piece.stream === at ? recomputedAt(layer, runs, piece, recompute) : undefined;
      out.push({ kind: 'stream', ...piece, ...namer.name(piece.type, leading, 0, piece.stream), ...(from ? { from } : {}) });
    }
    if (!k.chunk) break;
    const leading = readBytes(stream, k.at, Math.min(k.chunk.present, MAX_HEADER));
    out.push({ kind: 'kept', chunk: k.chunk, stream: k.at, ...namer.name(k.chunk.type, leading, k.chunk.offset, k.at) });
    at = k.at + k.chunk.present;
  }
  notes.push(...launderedDamage(layer, runs, kept, recompute));
  out.push(...ancillaryChunks(layer, edits, drop, streamChanged, notes));
  if (input.journal !== undefined) out.push(journalChunk(layer, input));
  const end = layer.chunks.find((c) => c.type === 'MEND');
  out.push(end && crcOk(end) ? { kind: 'kept', chunk: end, key: 'MEND' } : { kind: 'bytes', type: 'MEND', data: new Uint8Array(0), key: 'MEND' });
  if (layer.afterEnd) notes.push(`the ${layer.afterEnd.length} bytes after the end chunk were not written (they were not part of the container)`);
  return { chunks: out, stream, notes, streamChanged };
}

/** The bytes of a planned chunk in the file being written. */
function chunkPieces(c: PlannedChunk, stream: ByteSource): Piece[] {
  switch (c.kind) {
    case 'kept':
      return [rangePiece('file', c.chunk.offset, chunkExtent(c.chunk))];
    case 'bytes':
      return [bytesPiece(encodeChunk(c.type, c.data))];
    case 'stream':
      return [bytesPiece(chunkHeader(c.type, c.length)), rangePiece('stream', c.stream, c.length), bytesPiece(be32(streamCrc(c.type, stream, c.stream, c.length)))];
  }
}

function streamCrc(type: string, stream: ByteSource, from: number, length: number): number {
  let crc = chunkCrc(type, []);
  const step = 4 << 20;
  for (let done = 0; done < length; done += step) crc = crc32(readBytes(stream, from + done, Math.min(step, length - done)), crc);
  return crc;
}

/** Stretches of the edited stream that are bytes [from, from + length) of the original stream, at edited offset `at`, adjacent pieces joined. */
interface ImageRun {
  at: number;
  from: number;
  length: number;
}

function imageRuns(edited: ByteSource, upTo: number): ImageRun[] {
  const timeline = edited instanceof JournalSource ? edited.timeline() : [{ offset: 0, piece: rangePiece(IMAGE_SOURCE, 0, edited.size) }];
  const runs: ImageRun[] = [];
  for (const { offset, piece } of timeline) {
    if (piece.kind !== 'range' || piece.source !== IMAGE_SOURCE || offset >= upTo) continue;
    const length = Math.min(piece.length, upTo - offset);
    const last = runs[runs.length - 1];
    if (last && last.at + last.length === offset && last.from + last.length === piece.offset) last.length += length;
    else runs.push({ at: offset, from: piece.offset, length });
  }
  return runs;
}

/** Original stream chunks whose data lies untouched in the edited stream, with their new stream offsets, in order. */
function keptStreamChunks(layer: ChunkedLayer, runs: ImageRun[], recompute: ReadonlySet<number>): { at: number; chunk: ChunkRecord }[] {
  const streamChunks = layer.chunks.filter((c) => c.stream !== undefined && c.present > 0);
  const out: { at: number; chunk: ChunkRecord }[] = [];
  let lastEnd = 0;
  for (const run of runs) {
    let i = lastAtOrBefore(streamChunks, run.from, (c) => c.stream!);
    for (; i < streamChunks.length && streamChunks[i].stream! < run.from + run.length; i++) {
      const c = streamChunks[i];
      const inside = c.stream! >= run.from && c.stream! + c.present <= run.from + run.length;
      // A chunk is copied as it is only if it is whole (a cut one has no CRC) and was not asked to be re-encoded.
      if (!inside || c.storedCrc === undefined || recompute.has(c.offset)) continue;
      const at = run.at + (c.stream! - run.from);
      if (at < lastEnd) continue;
      out.push({ at, chunk: c });
      lastEnd = at + c.present;
    }
  }
  return out;
}

/**
 * New chunks for bytes [from, to) of the new stream: one at every element start, then at the
 * chunk size, typed by the element they begin or continue (the edited stream's model).
 */
function newStretch(model: QemuStreamModel, stream: ByteSource, from: number, to: number, directoryAt: number, chunkSize: number): { type: string; stream: number; length: number }[] {
  const out: { type: string; stream: number; length: number }[] = [];
  const starts = model.elements.map((e) => e.offset);
  let at = from;
  while (at < to) {
    const { type, start, end } = elementAt(model, starts, at, directoryAt, stream.size);
    const pieceEnd = Math.min(to, end, at + chunkSize);
    const continued = at !== start;
    const row = knownChunkType(type);
    out.push({ type: continued ? (row?.role === 'after-stream' ? type : 'MORE') : type, stream: at, length: pieceEnd - at });
    at = pieceEnd;
  }
  return out;
}

/** The element holding stream offset `at`: its chunk type and extent. */
function elementAt(model: QemuStreamModel, starts: number[], at: number, directoryAt: number, size: number): { type: string; start: number; end: number } {
  if (at >= directoryAt) return { type: ELEMENT_CHUNK.DIRECTORY, start: directoryAt, end: size };
  const firstElement = starts[0] ?? directoryAt;
  if (at < Math.min(8, firstElement)) return { type: ELEMENT_CHUNK.HEADER, start: 0, end: Math.min(8, firstElement) };
  const i = lastAtOrBefore(starts, at, (s) => s);
  const e = model.elements[i];
  if (e && at >= e.offset && at < e.offset + e.length) {
    const afterEof = model.elements.slice(0, i).some((x) => x.type === 'EOF');
    const type = e.type === 'UNKNOWN' && afterEof ? 'tAIL' : ELEMENT_CHUNK[e.type];
    return { type, start: e.offset, end: Math.min(e.offset + e.length, directoryAt) };
  }
  // Not inside any element: bytes after the stream (or between elements the parser skipped).
  const next = model.elements.find((x) => x.offset > at);
  const afterEof = model.elements.some((x) => x.type === 'EOF' && x.offset < at);
  return { type: afterEof ? 'tAIL' : ELEMENT_CHUNK.UNKNOWN, start: at, end: Math.min(next?.offset ?? directoryAt, directoryAt) };
}

function withDirectory(edited: ByteSource, keep: number, directory: Uint8Array): ByteSource {
  return new PieceTable(new Map([['stream', edited]]), [rangePiece('stream', 0, keep), bytesPiece(directory)]).snapshot();
}

function cutTo(edited: ByteSource, keep: number): ByteSource {
  return new PieceTable(new Map([['stream', edited]]), [rangePiece('stream', 0, keep)]).snapshot();
}

/** The original chunk a new chunk re-encodes at the user's request (the same bytes, a new CRC). */
function recomputedAt(layer: ChunkedLayer, runs: ImageRun[], piece: { stream: number; length: number }, recompute: ReadonlySet<number>): ChunkRecord | undefined {
  const run = runs.find((r) => piece.stream >= r.at && piece.stream < r.at + r.length);
  if (!run) return undefined;
  const original = piece.stream - run.at + run.from;
  return layer.chunks.find((c) => recompute.has(c.offset) && c.stream === original);
}

/** Damaged original chunks whose bytes the edited stream still holds in new chunks (their damage is now under a good CRC). */
function launderedDamage(layer: ChunkedLayer, runs: ImageRun[], kept: { chunk: ChunkRecord }[], recompute: ReadonlySet<number>): string[] {
  const keptSet = new Set(kept.map((k) => k.chunk));
  return layer.chunks
    .filter((c) => c.stream !== undefined && crcOk(c) !== true && !keptSet.has(c) && !recompute.has(c.offset))
    .filter((c) => runs.some((r) => r.from < c.stream! + c.present && c.stream! < r.from + r.length))
    .map(
      (c) =>
        `${c.type} chunk ${c.key} at ${hex(c.offset)} ${c.storedCrc === undefined ? 'was cut short (its CRC could not be checked)' : 'had a wrong CRC'}; the edits changed what is around it, so its bytes were written in a new chunk whose CRC covers them as they are: damage in them is no longer detectable`,
    );
}

/** The ancillary chunks that are not stream bytes, as the container edits and PNG's copy rules leave them. */
function ancillaryChunks(layer: ChunkedLayer, edits: readonly ContainerEdit[], drop: ReadonlySet<number>, streamChanged: boolean, notes: string[]): PlannedChunk[] {
  const noteEdits = new Map<string, string>();
  let tags: string[] | undefined;
  for (const e of edits) {
    if (e.kind === 'note') noteEdits.set(e.about, e.text);
    if (e.kind === 'tags') tags = e.tags;
  }
  const out: PlannedChunk[] = [];
  for (const c of layer.chunks) {
    if (c.stream !== undefined || c.type === 'MHDR' || c.type === 'MEND') continue;
    const row = knownChunkType(c.type);
    const p = chunkProperties(c.type);
    if (drop.has(c.offset)) {
      notes.push(`the ${c.type} chunk at ${hex(c.offset)} was left out, as asked`);
      continue;
    }
    if (c.storedCrc === undefined) continue;
    if (row?.type === 'nOTe') {
      const note = layer.notes.find((n) => n.offset === c.offset);
      if (note && noteEdits.has(note.about)) continue;
    }
    if ((row?.type === 'tAGs' && tags) || row?.type === 'jRNl') continue;
    if (!row && !p.critical && streamChanged && !p.safeToCopy) {
      notes.push(`the unknown ancillary chunk ${c.type} at ${hex(c.offset)} (${c.length} bytes) was dropped: it is not safe to copy and the stream changed`);
      continue;
    }
    if (!row && p.critical) notes.push(`the unknown critical chunk ${c.type} at ${hex(c.offset)} was kept; the saved file cannot be loaded either until it is dropped`);
    out.push({ kind: 'kept', chunk: c, key: `${c.type} @${hex(c.offset)}` });
  }
  for (const [about, text] of noteEdits) if (text !== '') out.push({ kind: 'bytes', type: 'nOTe', data: jsonBytes({ about, text }), key: `nOTe ${about}` });
  if (tags?.length) out.push({ kind: 'bytes', type: 'tAGs', data: jsonBytes(tags), key: 'tAGs' });
  const journals = layer.chunks.find((c) => c.type === 'jRNl');
  if (journals && !drop.has(journals.offset)) out.push({ kind: 'kept', chunk: journals, key: 'jRNl' });
  return out;
}

/** jRNl with this session's journal appended to the ones recorded before. */
function journalChunk(layer: ChunkedLayer, input: ChunkedWriteBackInput): PlannedChunk {
  return { kind: 'bytes', type: 'jRNl', data: jsonBytes([...layer.journals, input.journal]), key: 'jRNl' };
}

/** A chunk edit (recompute-crc, drop-chunk) resolved against the original container, or why not. */
export function resolveChunkEdit(container: ContainerDescription<ChunkedLayer>, request: { op: 'recompute-crc' | 'drop-chunk'; chunk: number }): ContainerEdit | { refusal: string } {
  const layer = container.layers[0];
  const c = layer.chunks.find((x) => x.offset === request.chunk);
  if (!c) return { refusal: `no chunk starts at file offset ${hex(request.chunk)} (migwb chunks lists them)` };
  if (request.op === 'recompute-crc') {
    if (c.storedCrc === undefined) return { refusal: `the ${c.type} chunk at ${hex(c.offset)} is cut short: it has no CRC to recompute` };
    if (crcOk(c)) return { refusal: `the CRC of the ${c.type} chunk at ${hex(c.offset)} is right already` };
    return { kind: 'recompute-crc', chunk: c.offset, type: c.type };
  }
  if (c.stream !== undefined) return { refusal: `the ${c.type} chunk at ${hex(c.offset)} holds stream bytes (${c.key}); delete the section it holds instead` };
  if (c.type === 'MHDR' || c.type === 'MEND') return { refusal: `the ${c.type} chunk is the container's own frame and cannot be dropped` };
  return { kind: 'drop-chunk', chunk: c.offset, type: c.type };
}

/** Whether a planned chunk carries stream bytes. */
export function plannedStream(c: PlannedChunk): boolean {
  return c.kind === 'stream' || (c.kind === 'kept' && c.chunk.stream !== undefined) || (c.kind === 'kept' && carriesStream(knownChunkType(c.chunk.type)?.role ?? 'about'));
}
