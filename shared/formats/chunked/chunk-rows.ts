import { readBytes, type ByteSource } from '../../io/byte-source';
import type { Diagnostic } from '../../diagnostics';
import type { QemuStreamModel } from '../qemu-stream/model';
import { MAX_HEADER } from '../qemu-stream/plausibility';
import type { ChunkRow } from '../../api/chunk-row';
import { chunkProperties, ELEMENT_CHUNK } from './chunk-types';
import { ChunkNamer } from './chunk-keys';
import { chunkExtent, crcOk, type ChunkedLayer, type ChunkRecord, type ContainerNote } from './layer';
import type { PlannedChunk } from './write-back';

/** Rows of a chunked container as it is in the file. */
export function containerRows(layer: ChunkedLayer): ChunkRow[] {
  return layer.chunks.map((c, index) => recordRow(c, index, noteOf(layer.notes, c.key)));
}

/** Rows of the container Save as would write (an edited chunked container). */
export function plannedRows(plan: readonly PlannedChunk[], notes: ReadonlyMap<string, string>): ChunkRow[] {
  return plan.map((c, index) => {
    if (c.kind === 'kept') return { ...recordRow(c.chunk, index, notes.get(c.key)), key: c.key, ...(c.detail ? { detail: c.detail } : {}), ...(c.stream === undefined ? {} : { stream: { offset: c.stream, length: c.chunk.present } }) };
    const length = c.kind === 'stream' ? c.length : c.data.length;
    return {
      index,
      type: c.type,
      properties: chunkProperties(c.type),
      key: c.key,
      ...(c.detail ? { detail: c.detail } : {}),
      length: length + 12,
      ...(c.kind === 'stream' ? { stream: { offset: c.stream, length: c.length } } : {}),
      crc: 'new',
      damaged: false,
      ...(notes.has(c.key) ? { note: notes.get(c.key) } : {}),
      ...sectionOf(c.type, c.key),
    };
  });
}

function recordRow(c: ChunkRecord, index: number, note: string | undefined): ChunkRow {
  const ok = crcOk(c);
  return {
    index,
    type: c.type,
    properties: chunkProperties(c.type),
    key: c.key,
    ...(c.detail ? { detail: c.detail } : {}),
    fileOffset: c.offset,
    length: chunkExtent(c),
    ...(c.stream === undefined ? {} : { stream: { offset: c.stream, length: c.present } }),
    crc: ok === undefined ? 'cut' : ok ? 'ok' : 'bad',
    ...(c.storedCrc === undefined ? {} : { storedCrc: c.storedCrc, computedCrc: c.computedCrc }),
    damaged: ok !== true,
    ...(note === undefined ? {} : { note }),
    ...sectionOf(c.type, c.key),
  };
}

/**
 * Rows of an image that is not a chunked container: its QEMU elements standing for the chunks
 * `migwb pack` would make (stream header, configuration, each section, EOF, vmdesc, trailer),
 * with no CRC. `diagnostics` mark the damaged ones.
 */
export function elementRows(stream: ByteSource, model: QemuStreamModel, notes: ReadonlyMap<string, string>, diagnostics: readonly Diagnostic[]): ChunkRow[] {
  const namer = new ChunkNamer();
  const spans: { type: string; offset: number; length: number; damaged: boolean }[] = [];
  const first = model.elements[0]?.offset ?? model.size;
  if (first > 0) spans.push({ type: ELEMENT_CHUNK.HEADER, offset: 0, length: Math.min(first, 8), damaged: false });
  let afterEof = false;
  for (const e of model.elements) {
    spans.push({ type: e.type === 'UNKNOWN' && afterEof ? 'tAIL' : ELEMENT_CHUNK[e.type], offset: e.offset, length: e.length, damaged: e.damaged === true });
    afterEof ||= e.type === 'EOF';
  }
  if (model.trailing) spans.push({ type: 'tAIL', offset: model.trailing.offset, length: model.trailing.length, damaged: false });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  return spans.map((s, index) => {
    const named = namer.name(s.type, readBytes(stream, s.offset, Math.min(s.length, MAX_HEADER)), s.offset, s.offset);
    const damaged = s.damaged || errors.some((d) => d.offset >= s.offset && d.offset < s.offset + Math.max(1, s.length));
    return {
      index,
      type: s.type,
      properties: chunkProperties(s.type),
      ...named,
      length: s.length,
      stream: { offset: s.offset, length: s.length },
      crc: 'none' as const,
      damaged,
      ...(notes.has(named.key) ? { note: notes.get(named.key) } : {}),
      ...sectionOf(s.type, named.key),
    };
  });
}

function noteOf(notes: readonly ContainerNote[], key: string): string | undefined {
  return notes.find((n) => n.about === key)?.text;
}

/** "FULL cpu:0" → section "cpu:0": the device section a FULL chunk holds. */
function sectionOf(type: string, key: string): { section?: string } {
  return type === 'FULL' && key.startsWith('FULL ') && !key.includes(' +') ? { section: key.slice(5) } : {};
}
