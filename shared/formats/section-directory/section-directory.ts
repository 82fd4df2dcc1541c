import CRC32 from 'crc-32';
import type { Diagnostic } from '../../diagnostics';
import type { ByteSource } from '../../io/byte-source';
import type { ElementType } from '../qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../qemu-stream/model';
import { PageIndex, type PageKind } from '../qemu-stream/page-index';
import { readVmdesc } from '../qemu-stream/vmdesc';
import {
  AttrKind,
  MalformedDirectory,
  NulFreeReader,
  NulFreeWriter,
  POINTER_GROUPS,
  readRecord,
  RECORD_END,
  writeRecord,
  writeTable,
  type Schema,
} from './codec';

/**
 * The section directory (docs/section-directory.md): an index appended after a QEMU stream
 * (or written beside it as IMAGE.migdir) that lets a reader rebuild the stream's complete
 * model from the file's tail without scanning. This module encodes and decodes it; the
 * checks against the stream live in section-directory-check.ts.
 */

export const DIRECTORY_VERSION = { major: 1, minor: 0 } as const;
/** "migwbdir", every byte |0x80. */
export const DIRECTORY_MAGIC = Array.from('migwbdir', (c) => c.charCodeAt(0) | 0x80);
export const EntryType = {
  HEADER: 0xc0,
  STREAM: 0xc1,
  PAGE_RUNS: 0xc2,
  DIAGNOSTICS: 0xc3,
  /** The EOF locator, and the entry of a QEMU_VM_EOF element (0x80 | QEMU's 0x00). */
  EOF: 0x80,
  /** The closing locator: 0x80 | 0x09, the type the 2010 qemu-devel proposal gave the directory. */
  DIRECTORY: 0x89,
  UNKNOWN_ELEMENT: 0xbf,
} as const;
/** The two locators at the very end: EOF type + pointer, DIRECTORY type + pointer. */
export const LOCATOR_BYTES = 2 * (1 + POINTER_GROUPS);
/** Header: type, magic, major, minor, directory length, CRC-32 (then the header record). */
export const HEADER_FIXED_BYTES = 1 + 8 + 2 + 2 + POINTER_GROUPS + 5;
const LENGTH_AT = 1 + 8 + 2 + 2;
const CRC_AT = LENGTH_AT + POINTER_GROUPS;
/** No real stream needs a directory this large; a larger claimed length is damage. */
export const MAX_DIRECTORY_BYTES = 512 * 1024 * 1024;

const ELEMENT_CODES: Partial<Record<ElementType, number>> = {
  EOF: 0x80,
  START: 0x81,
  PART: 0x82,
  END: 0x83,
  FULL: 0x84,
  VMDESCRIPTION: 0x86,
  CONFIGURATION: 0x87,
  COMMAND: 0x88,
  UNKNOWN: EntryType.UNKNOWN_ELEMENT,
};
const ELEMENT_TYPES = new Map<number, ElementType>(Object.entries(ELEMENT_CODES).map(([t, c]) => [c!, t as ElementType]));

// ------------------------------------------------------------------ schemas (attribute ids are the format)

const PAGE_COUNTS: Schema = {
  zero: { id: 0, kind: 'number' },
  page: { id: 1, kind: 'number' },
  xbzrle: { id: 2, kind: 'number' },
  compress: { id: 3, kind: 'number' },
  multifdFlush: { id: 4, kind: 'number' },
};

const MAPPED_RAM: Schema = {
  headerOffset: { id: 0, kind: 'number' },
  version: { id: 1, kind: 'number' },
  pageSize: { id: 2, kind: 'number' },
  bitmapOffset: { id: 3, kind: 'number' },
  bitmapLength: { id: 4, kind: 'number' },
  pagesOffset: { id: 5, kind: 'number' },
  pagesPresent: { id: 6, kind: 'number' },
};

const RAM_BLOCK: Schema = {
  id: { id: 0, kind: 'text' },
  usedLength: { id: 0, kind: 'number' },
  recordOffset: { id: 1, kind: 'number' },
  hostPageSize: { id: 2, kind: 'number' },
  mrAddr: { id: 3, kind: 'number' },
  mappedRam: { id: 0, kind: 'record', schema: MAPPED_RAM },
};

const CONFIGURATION_SUBSECTION: Schema = {
  name: { id: 0, kind: 'text' },
  uuid: { id: 1, kind: 'text' },
  version: { id: 0, kind: 'number' },
  offset: { id: 1, kind: 'number' },
  length: { id: 2, kind: 'number' },
  targetPageBits: { id: 3, kind: 'number' },
  capabilities: { id: 0, kind: 'texts' },
};

/** Everything of a StreamElement but its type (the entry type), offset (the pointer) and index (its position). */
const ELEMENT: Schema = {
  length: { id: 0, kind: 'number' },
  sectionId: { id: 1, kind: 'number' },
  instanceId: { id: 2, kind: 'number' },
  versionId: { id: 3, kind: 'number' },
  payloadOffset: { id: 4, kind: 'number' },
  footerOffset: { id: 5, kind: 'number' },
  typeCode: { id: 6, kind: 'number' },
  cmd: { id: 7, kind: 'number' },
  dataLength: { id: 8, kind: 'number' },
  jsonOffset: { id: 9, kind: 'number' },
  jsonLength: { id: 10, kind: 'number' },
  deviceIndex: { id: 11, kind: 'number' },
  idstr: { id: 0, kind: 'text' },
  machine: { id: 1, kind: 'text' },
  cmdName: { id: 2, kind: 'text' },
  phase: { id: 3, kind: 'text' },
  delimitedBy: { id: 4, kind: 'text' },
  inVmdesc: { id: 0, kind: 'flag' },
  hasConfiguration: { id: 1, kind: 'flag' },
  damaged: { id: 2, kind: 'flag' },
  pages: { id: 0, kind: 'record', schema: PAGE_COUNTS },
  ramBlocks: { id: 1, kind: 'records', schema: RAM_BLOCK },
  subsections: { id: 2, kind: 'records', schema: CONFIGURATION_SUBSECTION },
};

/** Identity of the image a sidecar describes, so a sidecar that no longer matches is noticed. */
export interface ImageIdentity {
  size: number;
  /** Whole milliseconds. */
  mtimeMs: number;
  /** sha256 of the image's first and last MiB and its size (see docs/section-directory.md §5). */
  fingerprint: string;
}

export interface DirectoryHeader {
  streamLength: number;
  elementCount: number;
  runCount: number;
  sealedBy: string;
  /** Sidecars only. */
  image?: ImageIdentity;
}

const HEADER: Schema = {
  streamLength: { id: 0, kind: 'number' },
  elementCount: { id: 1, kind: 'number' },
  runCount: { id: 2, kind: 'number' },
  sealedBy: { id: 0, kind: 'text' },
  image: {
    id: 0,
    kind: 'record',
    schema: { size: { id: 0, kind: 'number' }, mtimeMs: { id: 1, kind: 'number' }, fingerprint: { id: 0, kind: 'text' } },
  },
};

/** Model facts that are not elements, runs or diagnostics. */
export interface StreamFacts {
  fileVersion: number;
  pageSize: number;
  pageSizeSource: QemuStreamModel['pageSizeSource'];
  capabilities: string[];
  sectionFooters: boolean;
  sawEof: boolean;
  configurationIndex?: number;
  vmdescLocation?: QemuStreamModel['vmdescLocation'];
  /** Devices the vmdesc described when sealed (a check that it still reads the same). */
  vmdescDevices?: number;
  trailing?: QemuStreamModel['trailing'];
  ramBlocks: QemuStreamModel['ramBlocks'];
}

const STREAM: Schema = {
  fileVersion: { id: 0, kind: 'number' },
  pageSize: { id: 1, kind: 'number' },
  configurationIndex: { id: 2, kind: 'number' },
  vmdescDevices: { id: 3, kind: 'number' },
  pageSizeSource: { id: 0, kind: 'text' },
  sectionFooters: { id: 0, kind: 'bool' },
  sawEof: { id: 1, kind: 'bool' },
  capabilities: { id: 0, kind: 'texts' },
  vmdescLocation: {
    id: 1,
    kind: 'record',
    schema: { offset: { id: 0, kind: 'number' }, jsonOffset: { id: 1, kind: 'number' }, jsonLength: { id: 2, kind: 'number' }, complete: { id: 0, kind: 'bool' } },
  },
  trailing: { id: 2, kind: 'record', schema: { offset: { id: 0, kind: 'number' }, length: { id: 1, kind: 'number' } } },
  ramBlocks: { id: 3, kind: 'records', schema: RAM_BLOCK },
};

const DIAGNOSTIC: Schema = {
  offset: { id: 0, kind: 'number' },
  length: { id: 1, kind: 'number' },
  severity: { id: 0, kind: 'text' },
  code: { id: 1, kind: 'text' },
  section: { id: 2, kind: 'text' },
  expected: { id: 3, kind: 'text' },
  found: { id: 4, kind: 'text' },
  message: { id: 5, kind: 'text' },
  hint: { id: 6, kind: 'text' },
};
const DIAGNOSTICS: Schema = { items: { id: 0, kind: 'records', schema: DIAGNOSTIC } };

/** Page run table columns and their widths in 7-bit groups. */
const RUN_COLUMNS = ['block', 'firstPage', 'count', 'kind', 'dataOffset', 'stride', 'dataLength', 'fill', 'element'] as const;
const RUN_WIDTHS = [3, 8, 5, 2, 8, 5, 5, 2, 5];

// ------------------------------------------------------------------ encoding

export interface EncodeOptions {
  /** Where the directory's first byte will be in its file: the stream length when appended, 0 in a sidecar. */
  placedAt: number;
  sealedBy: string;
  image?: ImageIdentity;
}

/** Bytes of the stream a model describes: everything before an earlier directory, if it came from one. */
export function describedStreamLength(model: QemuStreamModel): number {
  return model.elements.find((e) => e.type === 'DIRECTORY')?.offset ?? model.size;
}

/** Encodes the directory of `model` (every byte in 0x80-0xff). */
export function encodeDirectory(model: QemuStreamModel, options: EncodeOptions): Uint8Array {
  const streamLength = describedStreamLength(model);
  const elements = model.elements.filter((e) => e.type !== 'DIRECTORY');
  const w = new NulFreeWriter();
  w.byte(EntryType.HEADER);
  for (const b of DIRECTORY_MAGIC) w.byte(b);
  w.uint(DIRECTORY_VERSION.major, 2);
  w.uint(DIRECTORY_VERSION.minor, 2);
  w.uint(0, POINTER_GROUPS); // length, patched below
  w.uint(0, 5); // CRC-32, patched below
  const header: DirectoryHeader = { streamLength, elementCount: elements.length, runCount: model.pages.runCount, sealedBy: options.sealedBy, image: options.image };
  writeRecord(w, header, HEADER);

  for (const e of elements) {
    w.byte(ELEMENT_CODES[e.type]!);
    w.uint(e.offset, POINTER_GROUPS);
    writeRecord(w, e, ELEMENT);
  }

  w.byte(EntryType.STREAM);
  const configurationIndex = model.configuration ? elements.indexOf(model.configuration) : -1;
  const facts: StreamFacts = {
    fileVersion: model.fileVersion,
    pageSize: model.pageSize,
    pageSizeSource: model.pageSizeSource,
    capabilities: model.capabilities,
    sectionFooters: model.sectionFooters,
    sawEof: model.sawEof,
    configurationIndex: configurationIndex >= 0 ? configurationIndex : undefined,
    vmdescLocation: model.vmdescLocation,
    vmdescDevices: model.vmdesc?.devices.length,
    trailing: model.trailing,
    ramBlocks: model.ramBlocks,
  };
  writeRecord(w, facts, STREAM);

  w.byte(EntryType.PAGE_RUNS);
  const runs = [...model.pages.runs()];
  w.tag(AttrKind.TABLE, 0);
  writeTable(w, RUN_WIDTHS, runs.length, (r, c) => runs[r][RUN_COLUMNS[c]]);
  w.byte(RECORD_END);

  w.byte(EntryType.DIAGNOSTICS);
  writeRecord(w, { items: model.diagnostics }, DIAGNOSTICS);

  const eof = elements.find((e) => e.type === 'EOF');
  w.byte(EntryType.EOF);
  w.uint(eof ? eof.offset : streamLength, POINTER_GROUPS);
  w.byte(EntryType.DIRECTORY);
  w.uint(options.placedAt, POINTER_GROUPS);

  w.patchUint(LENGTH_AT, w.length, POINTER_GROUPS);
  const bytes = w.bytes();
  w.patchUint(CRC_AT, CRC32.buf(bytes.subarray(HEADER_FIXED_BYTES)) >>> 0, 5);
  return bytes.slice();
}

// ------------------------------------------------------------------ decoding

/** A decoded directory: everything needed to rebuild the model, plus where it was. */
export interface SectionDirectory {
  /** Where the directory begins in the file that holds it. */
  offset: number;
  length: number;
  version: { major: number; minor: number };
  header: DirectoryHeader;
  /** Where the EOF locator points: QEMU_VM_EOF, or the stream length if the stream has none. */
  eofPointer: number;
  elements: StreamElement[];
  facts: StreamFacts;
  /** Page runs as columns (RUN_COLUMNS order). */
  runs: Float64Array[];
  diagnostics: Diagnostic[];
}

/** Why a directory is not used: a problem with its own bytes (the stream was not consulted). */
export class DirectoryRejected extends Error {
  constructor(readonly at: number, readonly expected: string, readonly found: string) {
    super(`expected ${expected}, found ${found}`);
  }
}

/**
 * The directory's start according to the last 18 bytes of `source`, or undefined when they
 * are not two locators (no directory, or bytes were appended after it).
 */
export function readLocator(tail: Uint8Array, sourceSize: number): { directoryAt: number; eofPointer: number } | undefined {
  if (tail.length !== LOCATOR_BYTES || tail[0] !== EntryType.EOF || tail[1 + POINTER_GROUPS] !== EntryType.DIRECTORY) return undefined;
  if (!tail.every((b) => b >= 0x80)) return undefined;
  const r = new NulFreeReader(tail);
  r.pos = 1;
  const eofPointer = r.uint(POINTER_GROUPS);
  r.pos += 1;
  const directoryAt = r.uint(POINTER_GROUPS);
  if (directoryAt > sourceSize - LOCATOR_BYTES - HEADER_FIXED_BYTES) return undefined;
  return { directoryAt, eofPointer };
}

/** Reads magic, version and length from the fixed header; throws DirectoryRejected. */
export function readHeaderFixed(head: Uint8Array, at: number): { major: number; minor: number; length: number } {
  if (head.length < HEADER_FIXED_BYTES || !looksLikeDirectoryHeader(head)) {
    throw new DirectoryRejected(at, 'a directory header (0xc0 "migwbdir")', 'other bytes');
  }
  const r = new NulFreeReader(head);
  r.pos = 9;
  try {
    const major = r.uint(2);
    const minor = r.uint(2);
    const length = r.uint(POINTER_GROUPS);
    return { major, minor, length };
  } catch (e) {
    if (e instanceof MalformedDirectory) throw new DirectoryRejected(at + e.at, 'a directory header', e.message);
    throw e;
  }
}

/** True when `bytes` start like a directory header (to note a directory that is no longer at the end of its file). */
export function looksLikeDirectoryHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 9 && bytes[0] === EntryType.HEADER && DIRECTORY_MAGIC.every((b, i) => bytes[1 + i] === b);
}

/**
 * Decodes a whole directory (`bytes` = its bytes, found at file offset `at`): version, CRC,
 * then every entry. Throws DirectoryRejected on any inconsistency in the directory itself.
 */
export function decodeDirectory(bytes: Uint8Array, at: number): SectionDirectory {
  const fixed = readHeaderFixed(bytes, at);
  if (fixed.major !== DIRECTORY_VERSION.major) {
    throw new DirectoryRejected(at + 9, `directory format version ${DIRECTORY_VERSION.major}.x`, `version ${fixed.major}.${fixed.minor} (written by a newer workbench)`);
  }
  if (fixed.length !== bytes.length) throw new DirectoryRejected(at + LENGTH_AT, `a directory length of ${bytes.length} bytes (up to the locators)`, `${fixed.length}`);
  const r = new NulFreeReader(bytes);
  r.pos = CRC_AT;
  const storedCrc = r.uint(5);
  const crc = CRC32.buf(bytes.subarray(HEADER_FIXED_BYTES)) >>> 0;
  if (crc !== storedCrc) throw new DirectoryRejected(at + CRC_AT, `CRC-32 ${hex8(storedCrc)} over the directory`, `${hex8(crc)}: the directory was changed or damaged`);
  try {
    return decodeEntries(r, bytes, at, fixed);
  } catch (e) {
    if (e instanceof MalformedDirectory) throw new DirectoryRejected(at + e.at, 'a well-formed directory entry', e.message);
    throw e;
  }
}

function decodeEntries(r: NulFreeReader, bytes: Uint8Array, at: number, fixed: { major: number; minor: number; length: number }): SectionDirectory {
  r.pos = HEADER_FIXED_BYTES;
  const header = readRecord<DirectoryHeader>(r, HEADER);
  const end = bytes.length - LOCATOR_BYTES;
  const elements: StreamElement[] = [];
  let facts: StreamFacts | undefined;
  let runs: Float64Array[] | undefined;
  let diagnostics: Diagnostic[] | undefined;
  while (r.pos < end) {
    const type = r.byte();
    const elementType = ELEMENT_TYPES.get(type);
    if (elementType) {
      const offset = r.uint(POINTER_GROUPS);
      elements.push(readRecord<StreamElement>(r, ELEMENT, { index: elements.length, type: elementType, offset }));
    } else if (type === EntryType.STREAM) {
      facts = readRecord<StreamFacts>(r, STREAM);
    } else if (type === EntryType.PAGE_RUNS) {
      runs = readRunTable(r);
    } else if (type === EntryType.DIAGNOSTICS) {
      diagnostics = readRecord<{ items?: Diagnostic[] }>(r, DIAGNOSTICS).items ?? [];
    } else if (type >= 0xc4 && type <= 0xef) {
      r.skipValue(AttrKind.RECORD); // a workbench entry of a later minor version
    } else {
      throw new MalformedDirectory(r.pos - 1, `unknown entry type 0x${type.toString(16)}`);
    }
  }
  if (r.pos !== end) throw new MalformedDirectory(r.pos, 'the last entry runs into the locators');
  if (!facts || !runs || !diagnostics) throw new MalformedDirectory(end, 'an entry is missing (stream facts, page runs or diagnostics)');
  if (elements.length !== header.elementCount) throw new MalformedDirectory(end, `${header.elementCount} elements announced, ${elements.length} present`);
  if (runs[0].length !== header.runCount) throw new MalformedDirectory(end, `${header.runCount} page runs announced, ${runs[0].length} present`);
  r.pos = end + 1;
  const eofPointer = r.uint(POINTER_GROUPS);
  return { offset: at, length: bytes.length, version: { major: fixed.major, minor: fixed.minor }, header, eofPointer, elements, facts, runs, diagnostics };
}

function readRunTable(r: NulFreeReader): Float64Array[] {
  let table: Float64Array[] | undefined;
  for (;;) {
    const tag = r.byte();
    if (tag === RECORD_END) break;
    if (tag === (0x80 | (AttrKind.TABLE << 4)) && !table) table = r.table();
    else r.skipValue((tag >> 4) & 7);
  }
  if (!table || table.length < RUN_COLUMNS.length) throw new MalformedDirectory(r.pos, 'the page run table is missing or has too few columns');
  return table;
}

/** Column `name` of the decoded run table. */
export function runColumn(dir: SectionDirectory, name: (typeof RUN_COLUMNS)[number]): Float64Array {
  return dir.runs[RUN_COLUMNS.indexOf(name)];
}

/**
 * The model the directory describes, over `stream` (offsets are stream offsets). The
 * vmdesc is read and parsed from its recorded place (O(vmdesc)); nothing else is read.
 */
export function modelFromDirectory(dir: SectionDirectory, stream: ByteSource, appended: boolean): QemuStreamModel {
  const f = dir.facts;
  const pages = new PageIndex();
  const [block, firstPage, count, kind, dataOffset, stride, dataLength, fill, element] = dir.runs;
  for (let i = 0; i < block.length; i++) {
    pages.addRun({
      block: block[i],
      firstPage: firstPage[i],
      count: count[i],
      kind: kind[i] as PageKind,
      dataOffset: dataOffset[i],
      stride: stride[i],
      dataLength: dataLength[i],
      fill: fill[i],
      element: element[i],
    });
  }
  const elements = [...dir.elements];
  if (appended) elements.push({ index: elements.length, type: 'DIRECTORY', typeCode: EntryType.HEADER, offset: dir.offset, length: dir.length });
  const configuration = f.configurationIndex !== undefined ? elements[f.configurationIndex] : undefined;
  const vmdesc = f.vmdescLocation ? readVmdesc(stream, f.vmdescLocation).vmdesc : undefined;
  return {
    format: 'qemu-migration-stream',
    size: stream.size,
    fileVersion: f.fileVersion,
    machineType: configuration?.machine,
    pageSize: f.pageSize,
    pageSizeSource: f.pageSizeSource,
    capabilities: f.capabilities,
    sectionFooters: f.sectionFooters,
    configuration,
    elements,
    ramBlocks: f.ramBlocks,
    pages,
    vmdesc,
    vmdescLocation: f.vmdescLocation,
    trailing: f.trailing,
    sawEof: f.sawEof,
    diagnostics: dir.diagnostics,
  };
}

function hex8(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
