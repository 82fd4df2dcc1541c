import type { ContainerLayer, FileRange } from '../container-model';
import type { ChunkRole } from './chunk-types';
import type { ContainerHeader, OriginRecord } from './header';

/** One chunk as the reader found it. */
export interface ChunkRecord {
  /** File offset of its length field. */
  offset: number;
  /** The four type letters (their bytes in hex when they are not letters). */
  type: string;
  /** The data length the chunk declares. */
  length: number;
  /** Data bytes the file holds (less than `length` when the file is cut inside the chunk). */
  present: number;
  /** Stored and computed CRC; both absent when the file ends before the CRC. */
  storedCrc?: number;
  computedCrc?: number;
  /** What the chunk is for, when this version knows its type. */
  role?: ChunkRole;
  /** Stream offset of its first data byte, for a chunk that carries stream bytes. */
  stream?: number;
  /** The name notes use for it (docs/chunked-container.md §5): "FULL cpu:0", "PART ram 3 +1". */
  key: string;
  /** What it holds, in words: "cpu:0, version 12, section id 5". */
  detail?: string;
}

export function crcOk(c: ChunkRecord): boolean | undefined {
  return c.storedCrc === undefined || c.computedCrc === undefined ? undefined : c.storedCrc === c.computedCrc;
}

/** Bytes a chunk takes in the file: header, data and CRC (only what is there, for a cut one). */
export function chunkExtent(c: ChunkRecord): number {
  return 8 + c.present + (c.storedCrc === undefined ? 0 : 4);
}

export interface ContainerNote {
  /** The chunk key it is about ('' for the whole image). */
  about: string;
  text: string;
  /** File offset of its nOTe chunk. */
  offset: number;
}

/** A chunked container (docs/chunked-container.md): every chunk, and what the ancillary ones say. */
export interface ChunkedLayer extends ContainerLayer {
  kind: 'chunked-container';
  header?: ContainerHeader;
  chunks: ChunkRecord[];
  /** The QEMU stream's length: the data of the stream chunks. */
  streamSize: number;
  origin?: OriginRecord;
  notes: ContainerNote[];
  tags?: string[];
  /** Edit journals recorded in jRNl (as JSON documents). */
  journals: unknown[];
  /** Bytes after MEND, which are not part of the container. */
  afterEnd?: FileRange;
}
