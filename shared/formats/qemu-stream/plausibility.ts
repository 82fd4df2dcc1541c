import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';
import { SectionType } from './constants';

/** A START/FULL section header read without consuming it. */
export interface SectionHeader {
  type: number;
  sectionId: number;
  idstr: string;
  instanceId: number;
  versionId: number;
  /** Bytes from the type byte to the first payload byte. */
  length: number;
}

/** Bounds no real QEMU stream comes near; values outside them mean we are not at a header. */
const MAX_SECTION_ID = 0xffff;
const MAX_INSTANCE_ID = 0xffff;
const MAX_VERSION_ID = 0xfff;
/** The longest element header: a START/FULL with a 255-byte idstr. */
export const MAX_HEADER = 1 + 4 + 1 + 255 + 8;

export function isPrintableIdstr(bytes: Uint8Array, start: number, len: number): boolean {
  if (len === 0) return false;
  for (let k = start; k < start + len; k++) if (bytes[k] < 0x20 || bytes[k] > 0x7e) return false;
  return true;
}

/** Parses a START/FULL header at `at` of `buf` if every field is plausible. */
export function headerIn(buf: Uint8Array, at: number, typeOverride?: number): SectionHeader | undefined {
  if (at + 14 > buf.length) return undefined;
  const type = typeOverride ?? buf[at];
  const sectionId = ((buf[at + 1] << 24) | (buf[at + 2] << 16) | (buf[at + 3] << 8) | buf[at + 4]) >>> 0;
  if (sectionId > MAX_SECTION_ID) return undefined;
  const len = buf[at + 5];
  if (at + 6 + len + 8 > buf.length || !isPrintableIdstr(buf, at + 6, len)) return undefined;
  let idstr = '';
  for (let k = at + 6; k < at + 6 + len; k++) idstr += String.fromCharCode(buf[k]);
  const p = at + 6 + len;
  const instanceId = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  const versionId = ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
  if (instanceId > MAX_INSTANCE_ID || versionId > MAX_VERSION_ID) return undefined;
  return { type, sectionId, idstr, instanceId, versionId, length: 6 + len + 8 };
}

export function peekHeader(source: ByteSource, at: number, typeOverride?: number): SectionHeader | undefined {
  return headerIn(readBytes(source, at, MAX_HEADER), 0, typeOverride);
}

/** What a scan may accept as the start of the next element. */
export interface ElementExpectations {
  /** Section ids of open iterable sections (valid PART/END targets). */
  iterableIds: ReadonlySet<number>;
  /** Offset of the vmdesc record, if located: QEMU_VM_EOF sits right before it. */
  vmdescOffset?: number;
  /** Accept any 0x00 as QEMU_VM_EOF (used right after a matching footer when there is no vmdesc). */
  eofAnywhere?: boolean;
  /** Accept a FULL/START header only if this returns true (e.g. "matches the vmdesc"). */
  acceptHeader?: (h: SectionHeader) => boolean;
}

/**
 * True if a plausible element (section header, EOF before the vmdesc, command) starts at
 * buf[i] (file offset `fileOffset` of a file of `fileSize` bytes; Infinity while a stream is
 * still arriving). `buf` must hold MAX_HEADER bytes from i, or run to the end of the file.
 */
export function elementIn(buf: Uint8Array, i: number, fileOffset: number, fileSize: number, x: ElementExpectations): boolean {
  switch (buf[i]) {
    case SectionType.EOF:
      if (x.vmdescOffset !== undefined) return fileOffset + 1 === x.vmdescOffset;
      // Not where more sections follow: that 0x00 is section data (or a damaged type byte).
      if (x.eofAnywhere) return !elementIn(buf, i + 1, fileOffset + 1, fileSize, { ...x, eofAnywhere: false });
      // Without a located vmdesc: EOF is the last byte, or a vmdesc record ("06 len {") follows.
      return fileOffset + 1 === fileSize || (buf[i + 1] === SectionType.VMDESCRIPTION && buf[i + 6] === 0x7b);
    case SectionType.START:
    case SectionType.FULL: {
      const h = headerIn(buf, i);
      return !!h && (!x.acceptHeader || x.acceptHeader(h));
    }
    case SectionType.PART:
    case SectionType.END: {
      if (i + 5 > buf.length) return false;
      const sid = ((buf[i + 1] << 24) | (buf[i + 2] << 16) | (buf[i + 3] << 8) | buf[i + 4]) >>> 0;
      return x.iterableIds.has(sid);
    }
    case SectionType.COMMAND: {
      if (i + 5 > buf.length) return false;
      const cmd = (buf[i + 1] << 8) | buf[i + 2];
      const len = (buf[i + 3] << 8) | buf[i + 4];
      return cmd >= 1 && cmd <= 11 && len <= 4096;
    }
    default:
      return false;
  }
}

export function isElementStart(source: ByteSource, at: number, x: ElementExpectations): boolean {
  if (at >= source.size) return false;
  return elementIn(readBytes(source, at, MAX_HEADER), 0, at, source.size, x);
}

const CHUNK = 1 << 20;

/**
 * Finds the footer (0x7e + be32 section id) that closes a section whose payload starts at
 * `from`: the first such footer followed by a plausible next element. Returns the offset
 * of the 0x7e byte, or -1.
 */
export function findFooter(source: ByteSource, from: number, sectionId: number, x: ElementExpectations): number {
  const s0 = sectionId >>> 24, s1 = (sectionId >>> 16) & 0xff, s2 = (sectionId >>> 8) & 0xff, s3 = sectionId & 0xff;
  for (let base = from; base < source.size; base += CHUNK) {
    const buf = readBytes(source, base, CHUNK + MAX_HEADER);
    const stop = Math.min(CHUNK, source.size - base);
    for (let i = 0; i < stop; i++) {
      if (buf[i] !== SectionType.FOOTER || buf[i + 1] !== s0 || buf[i + 2] !== s1 || buf[i + 3] !== s2 || buf[i + 4] !== s3) continue;
      const next = base + i + 5;
      if (next === source.size || elementIn(buf, i + 5, next, source.size, x)) return base + i;
    }
  }
  return -1;
}

/**
 * The first damaged footer of section `sectionId` in [from, end): five bytes followed by a
 * plausible element that are the 0x7e marker with another section id, or the section id
 * behind another marker byte. Returns the offset of its first byte, or -1.
 */
export function findDamagedFooter(source: ByteSource, from: number, end: number, sectionId: number, x: ElementExpectations): number {
  for (let base = from; base < end; base += CHUNK) {
    const buf = readBytes(source, base, CHUNK + MAX_HEADER);
    const stop = Math.min(CHUNK, end - base);
    for (let i = 0; i < stop; i++) {
      const marker = buf[i] === SectionType.FOOTER;
      const idMatches = (((buf[i + 1] << 24) | (buf[i + 2] << 16) | (buf[i + 3] << 8) | buf[i + 4]) >>> 0) === sectionId;
      if (marker !== idMatches && i + 5 <= buf.length && elementIn(buf, i + 5, base + i + 5, source.size, x)) return base + i;
    }
  }
  return -1;
}

/** Finds the next plausible element start at or after `from`, or -1. */
export function findNextElement(source: ByteSource, from: number, x: ElementExpectations): number {
  for (let base = from; base < source.size; base += CHUNK) {
    const buf = readBytes(source, base, CHUNK + MAX_HEADER);
    const stop = Math.min(CHUNK, source.size - base);
    for (let i = 0; i < stop; i++) {
      const t = buf[i];
      // Most bytes are rejected here; zero bytes (common in RAM) only matter right before the vmdesc.
      if (t > SectionType.FULL && t !== SectionType.COMMAND) continue;
      if (t === SectionType.EOF && x.vmdescOffset !== undefined && base + i + 1 !== x.vmdescOffset) continue;
      if (elementIn(buf, i, base + i, source.size, x)) return base + i;
    }
  }
  return -1;
}
