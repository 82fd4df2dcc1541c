import { concatBytes } from '../../io/bytes';
import { jsonBytes, parseJsonBytes } from './codec';

/** The container format version this code writes and reads (docs/chunked-container.md §3). */
export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 0;

/** The MHDR fields (JSON keys as written). */
export interface ContainerHeaderFields {
  source?: string;
  snapshot?: string;
  file_version?: number;
  machine_type?: string;
  page_size?: number;
  page_size_from?: string;
  qemu_version?: string;
  chunk_size?: number;
  packed_by?: string;
}

export interface ContainerHeader {
  major: number;
  minor: number;
  fields: ContainerHeaderFields;
}

export function encodeHeader(fields: ContainerHeaderFields): Uint8Array {
  return concatBytes(Uint8Array.of(FORMAT_MAJOR, FORMAT_MINOR), jsonBytes(fields));
}

/** The header, or what is wrong with it. */
export function decodeHeader(data: Uint8Array): { header?: ContainerHeader; problem?: string } {
  if (data.length < 2) return { problem: `${data.length} bytes, fewer than the two version bytes` };
  const json = parseJsonBytes(data.subarray(2));
  const fields = json.value;
  if (json.problem || typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    return { header: { major: data[0], minor: data[1], fields: {} }, problem: `its JSON is not an object (${json.problem ?? 'another value'})` };
  }
  return { header: { major: data[0], minor: data[1], fields: fields as ContainerHeaderFields } };
}

/** The oRIg chunk (§4): where the stream came from, known at the end of packing. */
export interface OriginRecord {
  source_name: string;
  source_kind: string;
  source_size?: number;
  source_sha256?: string;
  stream_size: number;
  stream_sha256?: string;
  packed_at: string;
  packed_by: string;
}
