import { utf8Decode, utf8Encode } from '../../util/text-bytes';
import { crc32 } from '../../io/crc32';
import { ascii, be32 } from '../../io/bytes';
import { CHUNK_HEADER_BYTES, MAX_CHUNK_LENGTH } from './chunk-types';

/** The 8 bytes before a chunk's data: be32 length of the data, four type letters. */
export function chunkHeader(type: string, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_CHUNK_LENGTH) throw new RangeError(`a chunk holds 0 to ${MAX_CHUNK_LENGTH} bytes, not ${length}`);
  const out = new Uint8Array(CHUNK_HEADER_BYTES);
  out.set(be32(length), 0);
  out.set(ascii(type), 4);
  return out;
}

/** The CRC-32 of a chunk: over its type and its data (given in parts, as they lie in memory). */
export function chunkCrc(type: string | Uint8Array, data: readonly Uint8Array[]): number {
  let crc = crc32(typeof type === 'string' ? ascii(type) : type);
  for (const part of data) crc = crc32(part, crc);
  return crc;
}

/** A whole chunk in memory (small chunks: headers, notes, evidence). */
export function encodeChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  out.set(chunkHeader(type, data.length), 0);
  out.set(data, 8);
  out.set(be32(chunkCrc(type, [data])), 8 + data.length);
  return out;
}

/** UTF-8 JSON data of the ancillary chunks (and the header after its two version bytes). */
export function jsonBytes(value: unknown): Uint8Array {
  return utf8Encode(JSON.stringify(value));
}

export function parseJsonBytes(bytes: Uint8Array): { value?: unknown; problem?: string } {
  try {
    return { value: JSON.parse(utf8Decode(bytes)) };
  } catch (e) {
    return { problem: (e as Error).message };
  }
}
