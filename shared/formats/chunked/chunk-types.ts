import type { ChunkProperties } from '../../api/chunk-row';
import type { ElementType } from '../qemu-stream/constants';
import { SectionType } from '../qemu-stream/constants';

/**
 * The chunk types of the chunked container, version 1.0 (docs/chunked-container.md §2), as
 * data: what each holds and how readers and writers treat it. The property bits are read
 * from the letters themselves (chunkProperties), as PNG defines them.
 */

/** 8F "MIG" CR LF 1A LF, as PNG's signature (docs/chunked-container.md §1.1). */
export const CHUNKED_SIGNATURE = Uint8Array.of(0x8f, 0x4d, 0x49, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** The signature after a transfer that mangled it, with what happened (every other byte went through the same). */
export const MANGLED_SIGNATURES: readonly { magic: Uint8Array; what: string }[] = [
  { magic: Uint8Array.of(0x8f, 0x4d, 0x49, 0x47, 0x0a, 0x1a, 0x0a), what: 'a DOS-to-Unix line-ending conversion (CR LF became LF)' },
  { magic: Uint8Array.of(0x8f, 0x4d, 0x49, 0x47, 0x0d, 0x0d, 0x0a, 0x1a, 0x0d, 0x0a), what: 'a Unix-to-DOS line-ending conversion (LF became CR LF)' },
  { magic: Uint8Array.of(0x0f, 0x4d, 0x49, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), what: 'a 7-bit transfer (the high bit of every byte was cleared)' },
];

export const MAX_CHUNK_LENGTH = 0x7fffffff;
/** Chunk length + type before the data, CRC after it. */
export const CHUNK_HEADER_BYTES = 8;
export const CHUNK_CRC_BYTES = 4;
export const CHUNK_OVERHEAD = CHUNK_HEADER_BYTES + CHUNK_CRC_BYTES;

/**
 * Stream chunk data a writer cuts at (pack's default) and the range `--chunk-size` accepts.
 * 4 MiB: a walk without a directory reads one header per chunk, so fewer, larger RAM chunks
 * make it faster, while a reader still holds only 4 MiB to check a chunk before using it.
 */
export const DEFAULT_CHUNK_SIZE = 4 << 20;
export const MIN_CHUNK_SIZE = 16 << 10;
export const MAX_CHUNK_SIZE = 16 << 20;

/**
 * What a chunk is for:
 *   header, end       MHDR, MEND
 *   element           a stream chunk beginning a QEMU element (its data starts with the element's type byte)
 *   continuation      MORE: the element of the stream chunk before it goes on
 *   unattributed      DATA: stream bytes that are no element a writer recognised
 *   after-stream      stream bytes past the stream's end (vmdesc, directory, other trailing bytes)
 *   about             not stream bytes: evidence, notes, tags, journals
 */
export type ChunkRole = 'header' | 'end' | 'element' | 'continuation' | 'unattributed' | 'after-stream' | 'about';

export interface ChunkTypeRow {
  type: string;
  role: ChunkRole;
  /** What it holds, for listings: "QEMU_VM_SECTION_FULL (a device's state)". */
  title: string;
  /** The QEMU element it begins (role element and after-stream vmdesc). */
  element?: ElementType | 'HEADER';
  /** The first data bytes its content must have (the element's type byte; "QEVM"). */
  leadingBytes?: Uint8Array;
  /** Its data is UTF-8 JSON. */
  json?: boolean;
  /** At most one per container. */
  once?: boolean;
}

const row = (type: string, role: ChunkRole, title: string, extra: Partial<ChunkTypeRow> = {}): ChunkTypeRow => ({ type, role, title, ...extra });

export const CHUNK_TYPES: readonly ChunkTypeRow[] = [
  row('MHDR', 'header', 'container header', { once: true }),
  row('MEND', 'end', 'end of the container', { once: true }),
  row('QEVM', 'element', 'stream header (magic and file version)', { element: 'HEADER', leadingBytes: Uint8Array.of(0x51, 0x45, 0x56, 0x4d), once: true }),
  row('CONF', 'element', 'QEMU_VM_CONFIGURATION', { element: 'CONFIGURATION', leadingBytes: Uint8Array.of(SectionType.CONFIGURATION) }),
  row('STRT', 'element', 'QEMU_VM_SECTION_START', { element: 'START', leadingBytes: Uint8Array.of(SectionType.START) }),
  row('PART', 'element', 'QEMU_VM_SECTION_PART', { element: 'PART', leadingBytes: Uint8Array.of(SectionType.PART) }),
  row('ENDS', 'element', 'QEMU_VM_SECTION_END', { element: 'END', leadingBytes: Uint8Array.of(SectionType.END) }),
  row('FULL', 'element', 'QEMU_VM_SECTION_FULL (a device section)', { element: 'FULL', leadingBytes: Uint8Array.of(SectionType.FULL) }),
  row('CMND', 'element', 'QEMU_VM_COMMAND', { element: 'COMMAND', leadingBytes: Uint8Array.of(SectionType.COMMAND) }),
  row('QEOF', 'element', 'QEMU_VM_EOF', { element: 'EOF', leadingBytes: Uint8Array.of(SectionType.EOF) }),
  row('MORE', 'continuation', 'continuation of the element before'),
  row('DATA', 'unattributed', 'stream bytes of no recognised element'),
  row('vDSC', 'after-stream', 'QEMU_VM_VMDESCRIPTION (the vmdesc JSON)', { element: 'VMDESCRIPTION', leadingBytes: Uint8Array.of(SectionType.VMDESCRIPTION) }),
  row('sDIR', 'after-stream', 'migwb section directory appended to the stream', { element: 'DIRECTORY' }),
  row('tAIL', 'after-stream', 'bytes after the end of the stream'),
  row('oRIg', 'about', 'origin: the source file and stream, with their sha256', { json: true, once: true }),
  row('nOTe', 'about', 'a note', { json: true }),
  row('tAGs', 'about', 'tags', { json: true, once: true }),
  row('jRNl', 'about', 'edit journals', { json: true, once: true }),
];

const BY_TYPE = new Map(CHUNK_TYPES.map((r) => [r.type, r]));

/** The row of a chunk type this version knows. */
export function knownChunkType(type: string): ChunkTypeRow | undefined {
  return BY_TYPE.get(type);
}

/** Whether a chunk of this role carries stream bytes (its data is part of the QEMU stream). */
export function carriesStream(role: ChunkRole): boolean {
  return role === 'element' || role === 'continuation' || role === 'unattributed' || role === 'after-stream';
}

/** The chunk type that begins each kind of QEMU element (the writer's choice). */
export const ELEMENT_CHUNK: Readonly<Record<ElementType | 'HEADER', string>> = {
  HEADER: 'QEVM',
  CONFIGURATION: 'CONF',
  START: 'STRT',
  PART: 'PART',
  END: 'ENDS',
  FULL: 'FULL',
  COMMAND: 'CMND',
  EOF: 'QEOF',
  VMDESCRIPTION: 'vDSC',
  DIRECTORY: 'sDIR',
  UNKNOWN: 'DATA',
};

export function chunkProperties(type: string): ChunkProperties {
  const bit = (i: number) => (type.charCodeAt(i) & 0x20) !== 0;
  return { critical: !bit(0), public: !bit(1), reservedClear: !bit(2), safeToCopy: bit(3) };
}

/** "critical, public, unsafe to copy" — the property bits in words. */
export function describeProperties(p: ChunkProperties): string {
  return [p.critical ? 'critical' : 'ancillary', p.public ? 'public' : 'private', ...(p.reservedClear ? [] : ['RESERVED BIT SET']), p.critical ? undefined : p.safeToCopy ? 'safe to copy' : 'unsafe to copy']
    .filter(Boolean)
    .join(', ');
}

/** Four ASCII letters. */
export function isChunkTypeCode(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i] | 0x20;
    if (c < 0x61 || c > 0x7a) return false;
  }
  return true;
}

export function typeName(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

/** A type code for listings: the letters, or the bytes in hex when they are not letters. */
export function printableType(bytes: Uint8Array, at: number): string {
  return isChunkTypeCode(bytes, at) ? typeName(bytes, at) : Array.from(bytes.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join('');
}
