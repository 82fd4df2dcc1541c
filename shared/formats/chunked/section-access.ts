import { readBytes, MemorySource, type ByteSource } from '../../io/byte-source';
import { readBe32 } from '../../io/bytes';
import { crc32 } from '../../io/crc32';
import { findSection } from '../../edit/sections';
import type { QemuStreamModel, StreamElement } from '../qemu-stream/model';
import { headerIn, MAX_HEADER } from '../qemu-stream/plausibility';
import { readVmdesc } from '../qemu-stream/vmdesc';
import { decodeVmstate, DecodeOverrun, type FieldNode } from '../qemu-stream/vmstate-decode';
import { carriesStream, CHUNK_HEADER_BYTES, CHUNKED_SIGNATURE, isChunkTypeCode, knownChunkType, MAX_CHUNK_LENGTH, typeName } from './chunk-types';

/**
 * Random access without a directory (docs/chunked-container.md §8): a device section of a
 * chunked container read by walking chunk headers (8 bytes each, plus the first bytes of
 * each FULL chunk for its name), then its chunks and the vmdesc's, each checked by its CRC.
 * Nothing else of the stream is read, so it costs the same in a 16 MiB and a 1 GiB image.
 */

export interface ChunkHead {
  offset: number;
  type: string;
  length: number;
}

/** The chunk headers from the signature to MEND (or to the first damaged header, or the end of the file). */
export function chunkHeads(file: ByteSource, reader = new HeadReader(file)): ChunkHead[] {
  const out: ChunkHead[] = [];
  for (let pos = CHUNKED_SIGNATURE.length; pos + CHUNK_HEADER_BYTES <= file.size; ) {
    const h = reader.bytes(pos, CHUNK_HEADER_BYTES);
    const length = readBe32(h, 0);
    if (!isChunkTypeCode(h, 4) || length > MAX_CHUNK_LENGTH) break;
    const type = typeName(h, 4);
    out.push({ offset: pos, type, length });
    if (type === 'MEND') break;
    pos += CHUNK_HEADER_BYTES + length + 4;
  }
  return out;
}

/** Bytes read per header lookup: small chunks (device sections, notes) that lie together cost one read. */
const HEAD_WINDOW = 8 << 10;

/**
 * Small reads near each other served from one window. A long chunk is skipped by its length
 * alone, so a walk costs one read per long chunk and one per run of short ones; nothing
 * of a skipped chunk's data is read or checked.
 */
export class HeadReader {
  private readonly window = new Uint8Array(HEAD_WINDOW);
  private from = 0;
  private to = 0;

  constructor(private readonly file: ByteSource) {}

  /** Up to `n` (≤ the window) bytes at `at`: fewer only at the end of the file. Valid until the next call. */
  bytes(at: number, n: number): Uint8Array {
    if (at < this.from || at + n > this.to) {
      const got = this.file.readInto(this.window, 0, Math.min(HEAD_WINDOW, this.file.size - at), at);
      this.from = at;
      this.to = at + Math.max(got, 0);
    }
    return this.window.subarray(at - this.from, Math.min(at + n, this.to) - this.from);
  }
}

export interface SectionFromChunks {
  /** The FULL chunk and any MORE chunks after it. */
  chunks: ChunkHead[];
  /** Whether every one of them has the right CRC. */
  crcOk: boolean;
  /** The whole element: header, payload, footer. */
  bytes: Uint8Array;
  /** Its offset in the stream (the sum of the stream chunks before it). */
  streamOffset: number;
  /** Its fields, decoded with the container's vmdesc (absent when there is none, or it does not fit). */
  fields?: FieldNode[];
  problem?: string;
}

/** The device section NAME or NAME:INSTANCE, read from its chunks alone. */
export function readSectionFromChunks(file: ByteSource, spec: string): SectionFromChunks | undefined {
  const reader = new HeadReader(file);
  const heads = chunkHeads(file, reader);
  // Names are read from the FULL chunks' first bytes, as findSection would match them in a model.
  const fulls: StreamElement[] = [];
  const at = new Map<StreamElement, number>();
  heads.forEach((c, i) => {
    if (c.type !== 'FULL') return;
    const h = headerIn(reader.bytes(c.offset + CHUNK_HEADER_BYTES, Math.min(c.length, MAX_HEADER)), 0);
    if (!h) return;
    const e: StreamElement = { index: fulls.length, type: 'FULL', typeCode: h.type, offset: 0, length: 0, sectionId: h.sectionId, idstr: h.idstr, instanceId: h.instanceId, versionId: h.versionId };
    fulls.push(e);
    at.set(e, i);
  });
  let element: StreamElement;
  try {
    element = findSection({ elements: fulls } as unknown as QemuStreamModel, spec);
  } catch {
    return undefined;
  }
  const first = at.get(element)!;
  const chunks = [heads[first], ...continuation(heads, first, 'MORE')];
  const { bytes, ok } = readChunks(file, chunks);
  const vdsc = heads.findIndex((c) => c.type === 'vDSC');
  const streamOffset = heads.slice(0, first).reduce((n, c) => n + (carriesStream(knownChunkType(c.type)?.role ?? 'about') ? c.length : 0), 0);
  const result: SectionFromChunks = { chunks, crcOk: ok, bytes, streamOffset };
  if (vdsc < 0) return { ...result, problem: 'the container has no vmdesc' };
  const v = readChunks(file, [heads[vdsc], ...continuation(heads, vdsc, 'vDSC')]);
  const jsonLength = readBe32(v.bytes, 1);
  const { vmdesc, problem } = readVmdesc(new MemorySource(v.bytes), { offset: 0, jsonOffset: 5, jsonLength, complete: 5 + jsonLength <= v.bytes.length });
  const device = vmdesc?.devices.find((d) => d.name === element.idstr && d.instance_id === element.instanceId);
  if (!device) return { ...result, problem: problem ?? `the vmdesc does not describe ${spec}` };
  const header = headerIn(bytes, 0)!.length;
  const footer = readBe32(bytes, bytes.length - 4) === element.sectionId && bytes[bytes.length - 5] === 0x7e ? 5 : 0;
  let decoded: { nodes: FieldNode[]; consumed: number };
  try {
    decoded = decodeVmstate(bytes.subarray(header, bytes.length - footer), streamOffset + header, device);
  } catch (e) {
    if (!(e instanceof DecodeOverrun)) throw e;
    return { ...result, problem: `the vmdesc describes more bytes than the section holds (${e.message})` };
  }
  const { nodes, consumed } = decoded;
  return consumed === bytes.length - footer - header ? { ...result, fields: nodes } : { ...result, problem: `the vmdesc describes ${consumed} of the section's ${bytes.length - footer - header} bytes` };
}

/** The chunks right after `first` that continue it. */
function continuation(heads: ChunkHead[], first: number, type: string): ChunkHead[] {
  const out: ChunkHead[] = [];
  for (let i = first + 1; i < heads.length && heads[i].type === type; i++) out.push(heads[i]);
  return out;
}

/** The data of consecutive chunks, joined, and whether every CRC is right. */
function readChunks(file: ByteSource, chunks: ChunkHead[]): { bytes: Uint8Array; ok: boolean } {
  const parts = chunks.map((c) => readBytes(file, c.offset + 4, 4 + c.length + 4));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length - 8, 0));
  let at = 0;
  let ok = true;
  for (const p of parts) {
    const data = p.subarray(4, p.length - 4);
    ok &&= p.length >= 8 && crc32(data, crc32(p.subarray(0, 4))) === readBe32(p, p.length - 4);
    bytes.set(data, at);
    at += data.length;
  }
  return { bytes: bytes.subarray(0, at), ok };
}
