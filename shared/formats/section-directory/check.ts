import { utf8Decode, utf8Encode } from '../../util/text-bytes';
import { hex, type Diagnostic } from '../../diagnostics';
import { readBytes, type ByteSource } from '../../io/byte-source';
import { RamFlag, SectionType } from '../qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../qemu-stream/model';
import { PageKind } from '../qemu-stream/page-index';
import {
  decodeDirectory,
  DirectoryRejected,
  HEADER_FIXED_BYTES,
  LOCATOR_BYTES,
  MAX_DIRECTORY_BYTES,
  modelFromDirectory,
  readHeaderFixed,
  readLocator,
  runColumn,
  type ImageIdentity,
  type SectionDirectory,
} from './section-directory';

/**
 * Deciding whether a section directory can be trusted (docs/section-directory.md §4): its
 * own consistency (locators, magic, version, CRC), then a sample of what it claims checked
 * against the stream bytes. A directory that fails any check is never used; the caller
 * scans instead and shows the returned warning.
 */

export type DirectoryOutcome =
  | { status: 'absent' }
  | { status: 'used'; directory: SectionDirectory; model: QemuStreamModel }
  | {
      status: 'rejected';
      diagnostic: Diagnostic;
      /** For an appended directory whose own bytes are sound: where the stream ends and the directory begins. */
      directoryAt?: number;
      directoryLength?: number;
    };

/** Elements and page runs re-read from the stream, besides the first, last and EOF/vmdesc. */
const SAMPLES = 12;

/** Looks for a directory appended to `source` and, if it is sound, builds the model from it. */
export function openAppendedDirectory(source: ByteSource): DirectoryOutcome {
  if (source.size < LOCATOR_BYTES + HEADER_FIXED_BYTES) return { status: 'absent' };
  const locator = readLocator(readBytes(source, source.size - LOCATOR_BYTES, LOCATOR_BYTES), source.size);
  if (!locator) return { status: 'absent' };
  const at = locator.directoryAt;
  let dir: SectionDirectory;
  try {
    const fixed = readHeaderFixed(readBytes(source, at, HEADER_FIXED_BYTES), at);
    if (fixed.length !== source.size - at || fixed.length > MAX_DIRECTORY_BYTES) {
      throw new DirectoryRejected(at, `a directory of ${source.size - at} bytes (from ${hex(at)} to the end of the file)`, `a length of ${fixed.length} bytes`);
    }
    dir = decodeDirectory(readBytes(source, at, fixed.length), at);
  } catch (e) {
    if (!(e instanceof DirectoryRejected)) throw e;
    // The locators point at something that is not a sound directory: scan everything.
    return rejected(e, at, 'The section directory at the end of the file is damaged and was ignored');
  }
  const problem = checkAgainstStream(dir, source, at);
  if (problem) return { ...rejected(problem, at, 'The section directory does not match the stream and was ignored'), directoryAt: at, directoryLength: dir.length };
  return useDirectory(dir, source, true, at);
}

/**
 * Uses a sidecar directory (IMAGE.migdir, read into `bytes`) for `stream`, if
 * `imageMismatch` accepts the image identity it records (size, mtime or fingerprint).
 */
export function openSidecarDirectory(
  bytes: Uint8Array,
  stream: ByteSource,
  imageMismatch: (recorded: ImageIdentity | undefined) => { expected: string; found: string } | undefined,
): DirectoryOutcome {
  let dir: SectionDirectory;
  try {
    const locator = bytes.length >= LOCATOR_BYTES ? readLocator(bytes.subarray(bytes.length - LOCATOR_BYTES), bytes.length) : undefined;
    if (!locator || locator.directoryAt !== 0) throw new DirectoryRejected(0, 'a sidecar directory ending in its two locators', 'other bytes');
    dir = decodeDirectory(bytes, 0);
  } catch (e) {
    if (!(e instanceof DirectoryRejected)) throw e;
    // Its offsets are in the sidecar, not the image: the diagnostic points at the image's start.
    return rejected(new DirectoryRejected(0, e.expected, `${e.found} (at ${hex(e.at)} in the sidecar)`), 0, 'The sidecar section directory is damaged and was ignored');
  }
  const mismatch = imageMismatch(dir.header.image);
  if (mismatch) return rejected(new DirectoryRejected(0, mismatch.expected, mismatch.found), 0, 'The sidecar section directory was written for another version of this image and was ignored');
  const problem = checkAgainstStream(dir, stream, stream.size);
  if (problem) return rejected(problem, 0, 'The sidecar section directory does not match the image and was ignored');
  return useDirectory(dir, stream, false, stream.size);
}

function useDirectory(dir: SectionDirectory, stream: ByteSource, appended: boolean, streamLength: number): DirectoryOutcome {
  const model = modelFromDirectory(dir, stream, appended);
  const devices = model.vmdesc?.devices.length;
  if (devices !== dir.facts.vmdescDevices) {
    const e = new DirectoryRejected(dir.facts.vmdescLocation?.jsonOffset ?? 0, `a vmdesc of ${dir.facts.vmdescDevices ?? 'no'} devices`, `${devices ?? 'no'} devices`);
    return { ...rejected(e, dir.offset, 'The section directory does not match the vmdesc and was ignored'), ...(appended ? { directoryAt: streamLength, directoryLength: dir.length } : {}) };
  }
  return { status: 'used', directory: dir, model };
}

function rejected(e: DirectoryRejected, at: number, message: string): DirectoryOutcome & { status: 'rejected' } {
  return {
    status: 'rejected',
    diagnostic: {
      severity: 'warning',
      code: 'directory-ignored',
      offset: e.at,
      section: 'section directory',
      expected: e.expected,
      found: e.found,
      message,
      hint: `The stream was scanned instead, so everything shown is read from the stream itself. Run "migwb seal" again to write a fresh directory${at > 0 ? ` (the old one starts at ${hex(at)})` : ''}.`,
    },
  };
}

/**
 * Checks a decoded directory against the stream: its claimed stream length, that every
 * pointer lies inside the stream, and the bytes at a sample of pointers (first, last,
 * configuration, EOF, vmdesc and evenly spaced elements; evenly spaced page runs).
 */
export function checkAgainstStream(dir: SectionDirectory, stream: ByteSource, streamLength: number): DirectoryRejected | undefined {
  if (dir.header.streamLength !== streamLength) {
    return new DirectoryRejected(dir.offset, `a directory of a ${streamLength}-byte stream`, `one describing ${dir.header.streamLength} bytes`);
  }
  const els = dir.elements;
  for (let i = 0; i < els.length; i++) {
    const e = els[i];
    if (e.offset + e.length > streamLength || (i > 0 && e.offset < els[i - 1].offset)) {
      return new DirectoryRejected(dir.offset, `element ${i} inside the stream, after element ${i - 1}`, `${e.type} at ${hex(e.offset)}, ${e.length} bytes`);
    }
  }
  const eof = els.find((e) => e.type === 'EOF');
  if (dir.eofPointer !== (eof ? eof.offset : streamLength)) {
    return new DirectoryRejected(dir.offset, `the EOF locator pointing at ${hex(eof ? eof.offset : streamLength)}`, hex(dir.eofPointer));
  }
  const config = dir.facts.configurationIndex;
  if (config !== undefined && els[config]?.type !== 'CONFIGURATION') {
    return new DirectoryRejected(dir.offset, 'the index of the CONFIGURATION element', `${config}`);
  }
  const runProblem = checkRunBounds(dir, streamLength);
  if (runProblem) return runProblem;
  for (const i of sampleIndexes(els)) {
    const p = checkElementBytes(els[i], stream);
    if (p) return p;
  }
  return checkRunRecords(dir, stream);
}

function sampleIndexes(els: StreamElement[]): Set<number> {
  const picked = new Set<number>();
  if (els.length === 0) return picked;
  for (let k = 0; k <= SAMPLES; k++) picked.add(Math.round((k * (els.length - 1)) / SAMPLES));
  els.forEach((e, i) => {
    if (e.type === 'EOF' || e.type === 'VMDESCRIPTION' || e.type === 'CONFIGURATION') picked.add(i);
  });
  return picked;
}

/** The header bytes at the element's offset must be the ones the directory copied. */
function checkElementBytes(e: StreamElement, stream: ByteSource): DirectoryRejected | undefined {
  const b = readBytes(stream, e.offset, 270);
  const be32 = (at: number) => (b.length >= at + 4 ? ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0 : -1);
  const mismatch = (what: string, found: string) => new DirectoryRejected(e.offset, `${what} of ${e.type} at ${hex(e.offset)}`, found);
  if (b[0] !== e.typeCode) return mismatch(`type byte ${hex(e.typeCode, 2)}`, b.length ? hex(b[0], 2) : 'the end of the stream');
  switch (e.type) {
    case 'START':
    case 'FULL': {
      if (be32(1) !== e.sectionId) return mismatch(`section id ${e.sectionId}`, `${be32(1)}`);
      const n = b[5] ?? 0;
      const idstr = String.fromCharCode(...b.subarray(6, 6 + n));
      if (idstr !== e.idstr) return mismatch(`name ${JSON.stringify(e.idstr)}`, JSON.stringify(idstr));
      if (be32(6 + n) !== e.instanceId || be32(10 + n) !== e.versionId) return mismatch(`instance ${e.instanceId} version ${e.versionId}`, `instance ${be32(6 + n)} version ${be32(10 + n)}`);
      break;
    }
    case 'PART':
    case 'END':
      if (be32(1) !== e.sectionId) return mismatch(`section id ${e.sectionId}`, `${be32(1)}`);
      break;
    case 'COMMAND':
      if (e.cmd !== undefined && ((b[1] << 8) | b[2]) !== e.cmd) return mismatch(`command ${e.cmd}`, `${(b[1] << 8) | b[2]}`);
      break;
    case 'CONFIGURATION':
      if (e.machine !== undefined) {
        const n = be32(1);
        const name = n >= 0 && n <= 255 ? utf8Decode(b.subarray(5, 5 + n)) : '';
        if (name !== e.machine) return mismatch(`machine ${JSON.stringify(e.machine)}`, JSON.stringify(name));
      }
      break;
    case 'VMDESCRIPTION':
      if (e.jsonLength !== undefined && be32(1) !== e.jsonLength) return mismatch(`vmdesc length ${e.jsonLength}`, `${be32(1)}`);
      break;
  }
  if (e.footerOffset !== undefined) {
    const f = readBytes(stream, e.footerOffset, 5);
    const sid = f.length === 5 ? ((f[1] << 24) | (f[2] << 16) | (f[3] << 8) | f[4]) >>> 0 : -1;
    if (f[0] !== SectionType.FOOTER || sid !== e.sectionId) {
      return new DirectoryRejected(e.footerOffset, `the footer 7e ${hex(e.sectionId ?? 0, 8)} of ${e.type} at ${hex(e.offset)}`, 'other bytes');
    }
  }
  return undefined;
}

function checkRunBounds(dir: SectionDirectory, streamLength: number): DirectoryRejected | undefined {
  const [block, element, offset, count, stride, length] = (['block', 'element', 'dataOffset', 'count', 'stride', 'dataLength'] as const).map((c) => runColumn(dir, c));
  const blocks = dir.facts.ramBlocks.length;
  for (let i = 0; i < block.length; i++) {
    const last = offset[i] + (count[i] - 1) * stride[i] + length[i];
    if (block[i] >= blocks || element[i] >= dir.elements.length || count[i] < 1 || last > streamLength) {
      return new DirectoryRejected(dir.offset, `page run ${i} inside the stream, in a known block and element`, `block ${block[i]}, element ${element[i]}, data up to ${hex(last)}`);
    }
  }
  return undefined;
}

/** The record header in front of a sample of PAGE and ZERO runs must name the run's first page. */
function checkRunRecords(dir: SectionDirectory, stream: ByteSource): DirectoryRejected | undefined {
  const kind = runColumn(dir, 'kind');
  const n = kind.length;
  if (n === 0) return undefined;
  const pageSize = dir.facts.pageSize;
  const checked = new Set<number>();
  for (let k = 0; k <= SAMPLES; k++) checked.add(Math.round((k * (n - 1)) / SAMPLES));
  for (const i of checked) {
    const flag = kind[i] === PageKind.PAGE ? RamFlag.PAGE : kind[i] === PageKind.ZERO ? RamFlag.ZERO : 0;
    if (!flag) continue;
    const dataOffset = runColumn(dir, 'dataOffset')[i];
    const addr = runColumn(dir, 'firstPage')[i] * pageSize;
    const id = dir.facts.ramBlocks[runColumn(dir, 'block')[i]].id;
    const idLength = utf8Encode(id).length;
    const continued = recordHeader(stream, dataOffset - 8, pageSize);
    if (continued.addr === addr && continued.flags & flag && continued.flags & RamFlag.CONTINUE) continue;
    const named = recordHeader(stream, dataOffset - 9 - idLength, pageSize);
    const name = readBytes(stream, dataOffset - idLength, idLength);
    if (named.addr === addr && named.flags & flag && !(named.flags & RamFlag.CONTINUE) && utf8Decode(name) === id) continue;
    return new DirectoryRejected(dataOffset, `a RAM ${kind[i] === PageKind.PAGE ? 'page' : 'zero page'} record for page ${addr / pageSize} of ${id} before ${hex(dataOffset)}`, 'other bytes');
  }
  return undefined;
}

function recordHeader(stream: ByteSource, at: number, pageSize: number): { addr: number; flags: number } {
  if (at < 0) return { addr: -1, flags: 0 };
  const b = readBytes(stream, at, 8);
  if (b.length < 8) return { addr: -1, flags: 0 };
  const hi = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const lo = ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
  const flags = lo & (pageSize - 1);
  return { addr: hi * 0x1_0000_0000 + (lo - flags), flags };
}
