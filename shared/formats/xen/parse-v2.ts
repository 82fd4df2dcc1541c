import { readBytes, type ByteSource } from '../../io/byte-source';
import { toHex } from '../../io/bytes';
import {
  DOMAIN_TYPE_NAMES,
  DomainType,
  LIBXC_DOMAIN_HEADER_BYTES,
  LIBXC_IDENT,
  LIBXC_IMAGE_HEADER_BYTES,
  LIBXC_OPT_BIG_ENDIAN,
  LIBXC_OPT_RESERVED,
  LIBXC_RECORD_NAMES,
  LIBXL_HEADER_BYTES,
  LIBXL_IDENT,
  LIBXL_OPT_BIG_ENDIAN,
  LIBXL_OPT_LEGACY,
  LIBXL_OPT_RESERVED,
  LIBXL_OPT_RESERVED_VERIFIED,
  LIBXL_RECORD_NAMES,
  LIBXL_VERSION,
  LibxcRecord,
  LibxlRecord,
  OPTIONAL_RECORD,
  PFN_MASK,
  PFN_TYPE_SHIFT,
  pfinfoHasData,
  REC_LENGTH_MAX,
  RECORD_HEADER_BYTES,
  XEN_PAGE_SHIFT,
  XEN_PAGE_SIZE,
} from './constants';
import { VERIFY, type Finding, type XenDiagnostics } from './diagnostics';
import type { EmulatorBlob, LibxcImage, LibxlHeader, RecordLayer, XenRecord } from './model';
import { NO_DATA, type XenPageIndex } from './page-index';
import { checkLibxcRecord, checkLibxlRecord, isKnownLibxcRecord, isKnownLibxlRecord, type RecordInput } from './record-rules';
import { isAllZero, paddingOf, XenBytes } from './wire';

const hex = (n: number, width = 0): string => '0x' + n.toString(16).padStart(width, '0');
const PFN_CHUNK = 8192;
/** How far a resynchronisation scans for the next record before giving up. */
const RESYNC_LIMIT = 256 << 20;
/** Records in a row that must frame correctly where reading resumes. */
const RESYNC_CHAIN = 3;

export interface V2State {
  source: ByteSource;
  diags: XenDiagnostics;
  records: XenRecord[];
  images: LibxcImage[];
  pages: XenPageIndex;
  emulators: EmulatorBlob[];
  /** Set when the outermost stream's END was read. */
  end?: number;
  checkpoints: number;
  libxl?: LibxlHeader;
  /** Offset of the first CHECKPOINT and of the last run added before it was completed. */
  lastCompleteCheckpointRun: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Reads a libxl stream (header, records, libxc images inline) or a bare libxc image from
 * `start`, following the record framing. Records are indexed, not read: only headers,
 * pfn lists and small bodies are looked at. Damage becomes diagnostics and reading goes on
 * at the next plausible record on the 8-byte framing.
 */
export function parseV2(state: V2State, start: number, layer: RecordLayer): number {
  return new V2Reader(state, start).read(layer);
}

class V2Reader {
  private readonly size: number;
  /** Records are aligned to 8 bytes from the start of the stream (an xl header need not be). */
  private readonly origin: number;
  private libxlLe = true;
  private image?: LibxcImage;
  private imageEnded = false;
  /** verify-stream-v2 does not hand back to libxl at a libxc CHECKPOINT: from there it reads libxl records as libxc ones. */
  private verifierStillInLibxc = false;
  private nextProgress = 0;

  constructor(private readonly s: V2State, start: number) {
    this.size = s.source.size;
    this.origin = start;
  }

  read(outer: RecordLayer): number {
    let pos = this.origin;
    if (outer === 'libxl') {
      pos = this.libxlHeader(pos);
    } else {
      pos = this.libxcHeaders(pos);
      if (this.image === undefined) return pos;
    }
    let layer: RecordLayer = outer;
    for (;;) {
      this.progress(pos);
      if (pos >= this.size) {
        this.missingEnd(pos, layer, outer);
        return pos;
      }
      const rec = this.readRecord(pos, layer);
      if (!rec) return this.size;
      const next = rec.offset + rec.length;
      if (rec.truncated) return this.size;
      if (layer === 'libxl') {
        switch (rec.type) {
          case LibxlRecord.LIBXC_CONTEXT: {
            if (this.image && !this.imageEnded) {
              this.s.diags.add(rec.offset, { severity: 'error', code: 'xen-libxc-context-twice', length: 8, expected: 'one LIBXC_CONTEXT per stream', found: 'a second LIBXC_CONTEXT while the libxc image is open', message: 'LIBXC_CONTEXT inside an unfinished libxc image' });
            }
            pos = this.libxcHeaders(next);
            if (this.image && !this.imageEnded) layer = 'libxc';
            continue;
          }
          case LibxlRecord.CHECKPOINT_END:
            if (this.image && !this.imageEnded) layer = 'libxc';
            break;
          case LibxlRecord.END:
            if (this.verifierStillInLibxc) this.verifierStillInLibxc = false;
            this.s.end = rec.offset;
            return next;
        }
      } else {
        if (rec.type === LibxcRecord.END) {
          this.imageEnded = true;
          if (outer === 'libxc') {
            this.s.end = rec.offset;
            return next;
          }
          layer = 'libxl';
        } else if (rec.type === LibxcRecord.CHECKPOINT) {
          this.s.checkpoints++;
          this.s.lastCompleteCheckpointRun = this.s.pages.runCount;
          if (outer === 'libxl') {
            layer = 'libxl';
            this.verifierStillInLibxc = true;
          }
        }
      }
      pos = next;
    }
  }

  private progress(pos: number): void {
    if (pos >= this.nextProgress) {
      this.s.onProgress?.(pos, this.size);
      this.nextProgress = pos + (64 << 20);
    }
  }

  // ---------------------------------------------------------------- headers

  private libxlHeader(at: number): number {
    const h = XenBytes.at(this.s.source, at, LIBXL_HEADER_BYTES, false);
    if (h.length < LIBXL_HEADER_BYTES) {
      this.s.diags.add(at, { severity: 'error', code: 'xen-truncated', expected: `a ${LIBXL_HEADER_BYTES}-byte libxl header`, found: `${h.length} bytes`, message: 'The file ends inside the libxl header', verifier: VERIFY.truncated() });
      return this.size;
    }
    const ident = String.fromCharCode(...h.sub(0, 8));
    const version = h.u32(8);
    const options = h.u32(12);
    this.libxlLe = (options & LIBXL_OPT_BIG_ENDIAN) === 0;
    this.s.libxl = { offset: at, length: LIBXL_HEADER_BYTES, version, options, littleEndian: this.libxlLe, legacy: (options & LIBXL_OPT_LEGACY) !== 0 };
    const d = this.s.diags;
    if (ident !== LIBXL_IDENT) {
      d.add(at, { severity: 'error', code: 'xen-bad-magic', length: 8, expected: `ident "${LIBXL_IDENT}"`, found: JSON.stringify(ident), message: 'Bad libxl stream ident', verifier: VERIFY.stream(`Bad image id: Expected 0x4c6962786c466d74, got 0x${h.u64big(0).toString(16)}`) });
    }
    if (version !== LIBXL_VERSION) {
      d.add(at, { severity: 'error', code: 'xen-version', at: 8, length: 4, expected: `libxl stream version ${LIBXL_VERSION}`, found: `${version}`, message: 'Unknown libxl stream version', hint: 'libxl refuses every version but 2.', verifier: VERIFY.stream(`Unknown image version: Expected ${LIBXL_VERSION}, got ${version}`) });
    }
    if (options & LIBXL_OPT_RESERVED) {
      d.add(at, {
        severity: 'error',
        code: 'xen-reserved',
        at: 12,
        length: 4,
        expected: 'options bits 2-31 clear',
        found: hex(options),
        message: 'Reserved bits set in the libxl header options',
        verifier: options & LIBXL_OPT_RESERVED_VERIFIED ? VERIFY.stream(`Reserved bits set in image options field: ${hex(options & LIBXL_OPT_RESERVED_VERIFIED)}`) : undefined,
      });
    }
    if (!this.libxlLe) {
      d.add(at, { severity: 'error', code: 'xen-big-endian', at: 12, length: 4, expected: 'a little-endian stream', found: 'the big-endian option bit', message: 'Big-endian libxl stream', hint: 'libxl refuses big-endian streams ("Unable to handle big endian streams"); the records are read big-endian here.' });
    }
    return at + LIBXL_HEADER_BYTES;
  }

  private libxcHeaders(at: number): number {
    const d = this.s.diags;
    const h = XenBytes.at(this.s.source, at, LIBXC_IMAGE_HEADER_BYTES, false);
    if (h.length < LIBXC_IMAGE_HEADER_BYTES) {
      d.add(at, { severity: 'error', code: 'xen-truncated', expected: `a ${LIBXC_IMAGE_HEADER_BYTES}-byte libxc image header`, found: `${h.length} bytes`, message: 'The file ends inside the libxc image header', verifier: VERIFY.truncated() });
      return this.size;
    }
    const marker = h.sub(0, 8);
    const ident = h.u32(8);
    const version = h.u32(12);
    const options = h.u16(16);
    const res1 = h.u16(18);
    const res2 = h.u32(20);
    const le = (options & LIBXC_OPT_BIG_ENDIAN) === 0;
    if (!marker.every((b) => b === 0xff)) {
      d.add(at, { severity: 'error', code: 'xen-bad-magic', length: 8, expected: 'marker 0xffffffffffffffff', found: `0x${toHex(marker)}`, message: 'Bad libxc image marker', hint: 'A zero bit in the first 8 bytes is what legacy (pre-4.6) images have.', verifier: VERIFY.stream(`Bad image marker: Expected 0xffffffffffffffff, got 0x${BigInt('0x' + toHex(marker)).toString(16)}`) });
    }
    if (ident !== LIBXC_IDENT) {
      d.add(at, { severity: 'error', code: 'xen-bad-magic', at: 8, length: 4, expected: `id ${hex(LIBXC_IDENT)} ("XENF")`, found: `${hex(ident)} (${JSON.stringify(String.fromCharCode(...h.sub(8, 4)))})`, message: 'Bad libxc image id', hint: 'Xen refuses the image; a repair writes "XENF".', verifier: VERIFY.stream(`Bad image id: Expected ${hex(LIBXC_IDENT)}, got ${hex(ident)}`) });
    }
    if (version < 2 || version > 3) {
      d.add(at, { severity: 'error', code: 'xen-version', at: 12, length: 4, expected: 'image version 2 or 3', found: `${version}`, message: 'Unknown libxc image version', verifier: VERIFY.stream(`Unknown image version: Expected 2 <= ver <= 3, got ${version}`) });
    }
    if (options & LIBXC_OPT_RESERVED) {
      d.add(at, { severity: 'error', code: 'xen-reserved', at: 16, length: 2, expected: 'options bits 1-15 clear', found: hex(options), message: 'Reserved bits set in the image options', verifier: VERIFY.stream(`Reserved bits set in image options field: ${hex(options & LIBXC_OPT_RESERVED)}`) });
    }
    if (res1 || res2) {
      d.add(at, { severity: 'error', code: 'xen-reserved', at: 18, length: 6, expected: 'reserved bytes 0', found: `${hex(res1, 4)}:${hex(res2, 8)}`, message: 'Reserved bits set in the image header', verifier: VERIFY.stream(`Reserved bits set in image header: ${hex(res1, 4)}:${hex(res2, 8)}`) });
    }
    if (!le) {
      d.add(at, { severity: 'error', code: 'xen-big-endian', at: 16, length: 2, expected: 'a little-endian image', found: 'the big-endian option bit', message: 'Big-endian libxc image', hint: 'Xen refuses big-endian images ("Unable to handle big endian streams"); the records are read big-endian here.' });
    }
    const dh = XenBytes.at(this.s.source, at + LIBXC_IMAGE_HEADER_BYTES, LIBXC_DOMAIN_HEADER_BYTES, le);
    const dat = at + LIBXC_IMAGE_HEADER_BYTES;
    if (dh.length < LIBXC_DOMAIN_HEADER_BYTES) {
      d.add(dat, { severity: 'error', code: 'xen-truncated', expected: `a ${LIBXC_DOMAIN_HEADER_BYTES}-byte domain header`, found: `${dh.length} bytes`, message: 'The file ends inside the domain header', verifier: VERIFY.truncated() });
      return this.size;
    }
    const type = dh.u32(0);
    const pageShift = dh.u16(4);
    const dres = dh.u16(6);
    if (type !== DomainType.X86_PV && type !== DomainType.X86_HVM) {
      const name = DOMAIN_TYPE_NAMES[type];
      d.add(dat, { severity: 'error', code: 'xen-domain-type', length: 4, expected: 'domain type 1 (x86 PV) or 2 (x86 HVM)', found: name ? `${type} (${name}, never specified for migration)` : `${type}`, message: 'Unrecognised domain type', verifier: VERIFY.stream(`Unrecognised domain type ${hex(type)}`) });
    }
    if (dres) d.add(dat, { severity: 'error', code: 'xen-reserved', at: 6, length: 2, expected: 'reserved 0', found: hex(dres, 4), message: 'Reserved bits set in the domain header', verifier: VERIFY.stream(`Reserved bits set in domain header ${hex(dres, 4)}`) });
    if (pageShift !== XEN_PAGE_SHIFT) d.add(dat, { severity: 'error', code: 'xen-page-shift', at: 4, length: 2, expected: `page_shift ${XEN_PAGE_SHIFT} (4 KiB pages)`, found: `${pageShift}`, message: 'Unsupported page size', verifier: VERIFY.stream(`Page shift expected to be 12.  Got ${pageShift}`) });
    this.image = {
      offset: at,
      length: LIBXC_IMAGE_HEADER_BYTES + LIBXC_DOMAIN_HEADER_BYTES,
      version,
      options,
      littleEndian: le,
      domainType: type,
      pageShift,
      xenMajor: dh.u32(8),
      xenMinor: dh.u32(12),
      firstRecord: this.s.records.length,
    };
    this.imageEnded = false;
    this.s.images.push(this.image);
    return at + LIBXC_IMAGE_HEADER_BYTES + LIBXC_DOMAIN_HEADER_BYTES;
  }

  // ---------------------------------------------------------------- records

  private le(layer: RecordLayer): boolean {
    return layer === 'libxl' ? this.libxlLe : this.image?.littleEndian ?? true;
  }

  private known(layer: RecordLayer, type: number): boolean {
    return layer === 'libxl' ? isKnownLibxlRecord(type) : isKnownLibxcRecord(type);
  }

  /** Reads the record at `pos`; returns undefined when the stream cannot go on. */
  private readRecord(pos: number, layer: RecordLayer): XenRecord | undefined {
    const d = this.s.diags;
    const le = this.le(layer);
    if (this.size - pos < RECORD_HEADER_BYTES) {
      d.add(pos, { severity: 'error', code: 'xen-truncated', length: this.size - pos, expected: 'an 8-byte record header', found: `${this.size - pos} bytes before the end of the file`, message: `The file ends inside a ${layer} record header`, hint: 'The stream was cut; a repair ends it cleanly after the last complete record.', verifier: VERIFY.truncated() });
      return undefined;
    }
    const h = XenBytes.at(this.s.source, pos, RECORD_HEADER_BYTES, le);
    const type = h.u32(0);
    const bodyLength = h.u32(4);
    const known = this.known(layer, type);
    const optional = (type & OPTIONAL_RECORD) !== 0;
    const fits = pos + RECORD_HEADER_BYTES + bodyLength + paddingOf(bodyLength) <= this.size;
    const names = layer === 'libxl' ? LIBXL_RECORD_NAMES : LIBXC_RECORD_NAMES;

    if (!known && !this.plausibleUnknown(pos, layer, type, bodyLength, fits)) {
      // Neither a record we know nor one that frames like a record: damage. Find the next record.
      const resumed = this.resync(pos + RECORD_HEADER_BYTES, layer);
      const length = (resumed ?? this.size) - pos;
      d.add(pos, {
        severity: 'error',
        code: 'xen-bad-record',
        length,
        expected: `a ${layer} record header (type ${layer === 'libxl' ? '0-5' : '0-0x12'}, or an optional type with bit 31 set, and a length within the file)`,
        found: `type ${hex(type, 8)}, length ${bodyLength}`,
        message: resumed === undefined ? `Unreadable ${layer} record; no further record found` : `Unreadable ${layer} record; ${length} bytes skipped to the next record at ${hex(resumed)}`,
        hint: 'The record header is damaged. Reading resumed on the 8-byte record framing.',
        verifier: layer === 'libxl' ? VERIFY.stream(`Unrecognised record type ${type.toString(16)}`) : VERIFY.stream(`Unrecognised record type ${hex(type)}`),
      });
      const rec: XenRecord = { index: this.s.records.length, layer, type, offset: pos, bodyLength, length, checkpoint: this.s.checkpoints, resynced: true };
      if (layer === 'libxc') rec.image = this.s.images.length - 1;
      this.s.records.push(rec);
      if (resumed === undefined) return undefined;
      return rec;
    }

    const rec: XenRecord = { index: this.s.records.length, layer, type, offset: pos, bodyLength, length: 0, checkpoint: this.s.checkpoints };
    if (layer === 'libxc') rec.image = this.s.images.length - 1;
    this.s.records.push(rec);
    const name = names[type] ?? hex(type, 8);
    const verifierName = `${layer === 'libxl' ? 'Libxl' : 'Libxc'} record`;

    if (this.verifierStillInLibxc && layer === 'libxl') this.verifierSeesLibxc(rec, h);

    if (!known) {
      d.add(pos, optional
        ? { severity: 'warning', code: 'xen-optional-record', length: 8, expected: 'a record type of the spec', found: `optional record type ${hex(type, 8)} (bit 31 set)`, message: `Unknown optional ${layer} record ${hex(type, 8)}, ignored`, hint: 'The spec lets a receiver ignore optional records, and Xen does; verify-stream-v2 rejects every type it does not know (stricter than the spec).', verifier: layer === 'libxl' ? VERIFY.stream(`Unrecognised record type ${type.toString(16)}`) : VERIFY.stream(`Unrecognised record type ${hex(type)}`) }
        : { severity: 'error', code: 'xen-unknown-record', length: 8, expected: `a known mandatory ${layer} record type`, found: hex(type, 8), message: `Unknown mandatory ${layer} record ${hex(type, 8)}`, hint: "Xen's restore fails on it (\"unrecognised mandatory record\").", verifier: layer === 'libxl' ? VERIFY.stream(`Unrecognised record type ${type.toString(16)}`) : VERIFY.stream(`Unrecognised record type ${hex(type)}`) },
      `${verifierName} ${name}`);
    }

    if (bodyLength > REC_LENGTH_MAX && layer === 'libxc') {
      d.add(pos, { severity: 'error', code: 'xen-record-too-long', at: 4, length: 4, expected: `at most ${REC_LENGTH_MAX} bytes (REC_LENGTH_MAX)`, found: `${bodyLength}`, message: `${name} record longer than Xen reads`, hint: 'libxc refuses records over 128 MiB.' });
    }

    if (!fits) {
      // A length past the end: the file was cut, or the length is damaged and records follow.
      const resumed = bodyLength > 0 ? this.resync(pos + RECORD_HEADER_BYTES, layer) : undefined;
      if (resumed !== undefined && this.size - pos > RECORD_HEADER_BYTES) {
        rec.length = resumed - pos;
        rec.resynced = true;
        d.add(pos, { severity: 'error', code: 'xen-record-length', at: 4, length: 4, expected: `a body length that ends within the file (at most ${this.size - pos - 8})`, found: `${bodyLength}`, message: `${name} record length runs past the end of the file, but a record follows at ${hex(resumed)}`, hint: 'The length field is damaged; reading resumed at the next record.', verifier: VERIFY.truncated() }, name);
        return rec;
      }
      rec.length = this.size - pos;
      rec.truncated = true;
      d.add(pos, { severity: 'error', code: 'xen-truncated', length: this.size - pos, expected: `${RECORD_HEADER_BYTES + bodyLength + paddingOf(bodyLength)} bytes of ${name}`, found: `${this.size - pos} bytes before the end of the file`, message: `The file ends inside the ${name} record`, hint: 'The stream was cut; a repair ends it cleanly after the last complete record.', verifier: VERIFY.truncated() }, name);
      this.indexRecord(rec, layer, le);
      return rec;
    }

    rec.length = RECORD_HEADER_BYTES + bodyLength + paddingOf(bodyLength);
    const pad = readBytes(this.s.source, pos + RECORD_HEADER_BYTES + bodyLength, paddingOf(bodyLength));
    if (!isAllZero(pad)) {
      d.add(pos, { severity: 'error', code: 'xen-padding', at: RECORD_HEADER_BYTES + bodyLength, length: pad.length, expected: 'zero padding', found: toHex(pad), message: `Non-zero padding after the ${name} record`, hint: 'The spec requires zeros; a repair clears them.', verifier: VERIFY.stream('Padding containing non0 bytes found') }, name);
    }
    if (known) {
      const input = this.recordInput(rec, le);
      const check = layer === 'libxl' ? checkLibxlRecord : checkLibxcRecord;
      for (const f of check(input)) d.add(pos + RECORD_HEADER_BYTES, f, name);
      if (layer === 'libxc') this.checkContext(rec);
    }
    this.indexRecord(rec, layer, le);
    return rec;
  }

  /** A record the reader does not know, but whose framing holds and after which the stream continues. */
  private plausibleUnknown(pos: number, layer: RecordLayer, type: number, bodyLength: number, fits: boolean): boolean {
    if (!fits || (type & OPTIONAL_RECORD) === 0 && type > 0xffff) return false;
    const next = pos + RECORD_HEADER_BYTES + bodyLength + paddingOf(bodyLength);
    if (!isAllZero(readBytes(this.s.source, pos + RECORD_HEADER_BYTES + bodyLength, paddingOf(bodyLength)))) return false;
    return next === this.size || this.plausibleAt(next, layer) || this.plausibleAt(next, layer === 'libxl' ? 'libxc' : 'libxl');
  }

  /** A known record type of `layer` whose body and padding fit in the file, with zero padding. */
  /** A known record of `layer` at `pos`: it fits in the file, its padding is zero and its body passes the record's checks. */
  private plausibleAt(pos: number, layer: RecordLayer): boolean {
    return this.plausibleEnd(pos, layer) !== undefined;
  }

  /** Where the plausible record at `pos` ends (see plausibleAt), or undefined. */
  private plausibleEnd(pos: number, layer: RecordLayer): number | undefined {
    if (pos + RECORD_HEADER_BYTES > this.size) return undefined;
    const le = this.le(layer);
    const h = XenBytes.at(this.s.source, pos, RECORD_HEADER_BYTES, le);
    const type = h.u32(0);
    const len = h.u32(4);
    if (!this.known(layer, type)) return undefined;
    const end = pos + RECORD_HEADER_BYTES + len + paddingOf(len);
    if (end > this.size || !isAllZero(readBytes(this.s.source, pos + RECORD_HEADER_BYTES + len, paddingOf(len)))) return undefined;
    const probe = { index: -1, layer, type, offset: pos, bodyLength: len, length: end - pos, checkpoint: 0 };
    const check = layer === 'libxl' ? checkLibxlRecord : checkLibxcRecord;
    return check(this.recordInput(probe, le)).some((f) => f.severity === 'error') ? undefined : end;
  }

  /**
   * The next offset on the record framing (8-byte aligned from the stream start) where a
   * record of `layer` frames correctly and is followed by another one or by the end.
   */
  private resync(from: number, layer: RecordLayer): number | undefined {
    let pos = this.origin + Math.ceil((from - this.origin) / 8) * 8;
    const limit = Math.min(this.size, from + RESYNC_LIMIT);
    for (; pos + RECORD_HEADER_BYTES <= limit; pos += 8) if (this.chainAt(pos, layer)) return pos;
    return undefined;
  }

  /**
   * Records that frame correctly one after another from `pos` (of either layer, as libxl
   * and libxc records alternate), RESYNC_CHAIN of them or up to the end of the file: page
   * data and blobs hold words that look like one record header, rarely like several in a row.
   */
  private chainAt(pos: number, layer: RecordLayer): boolean {
    let at = pos;
    for (let n = 0; n < RESYNC_CHAIN; n++) {
      if (at === this.size) return n > 0;
      const end = this.plausibleEnd(at, layer) ?? (n > 0 ? this.plausibleEnd(at, layer === 'libxl' ? 'libxc' : 'libxl') : undefined);
      if (end === undefined) return false;
      at = end;
    }
    return true;
  }

  private recordInput(rec: XenRecord, le: boolean): RecordInput {
    const bodyAt = rec.offset + RECORD_HEADER_BYTES;
    const source = this.s.source;
    let cached: XenBytes | undefined;
    return {
      type: rec.type,
      length: rec.bodyLength,
      littleEndian: le,
      version: this.image?.version ?? 3,
      head(n: number) {
        const want = Math.min(n, rec.bodyLength);
        if (!cached || cached.length < want) cached = XenBytes.at(source, bodyAt, want, le);
        return cached.length === want ? cached : new XenBytes(cached.data.subarray(0, want), le);
      },
    };
  }

  /** What the verifier makes of a libxl record it reads as a libxc one (see verifierStillInLibxc). */
  private verifierSeesLibxc(rec: XenRecord, h: XenBytes): void {
    const type = h.u32(0);
    const finding: Finding = {
      severity: 'info',
      code: 'xen-verifier-quirk',
      length: 8,
      expected: 'verify-stream-v2 to read the libxl records of a checkpoint as libxl records',
      found: `it reads ${LIBXL_RECORD_NAMES[type] ?? hex(type)} as libxc ${LIBXC_RECORD_NAMES[type] ?? hex(type)}`,
      message: 'verify-stream-v2 misreads checkpointed streams: it does not hand back to libxl at a libxc CHECKPOINT',
      hint: "libxl.py verifies the libxc image to its END; Xen's restore hands the stream back to libxl at every CHECKPOINT until CHECKPOINT_END.",
    };
    if (!isKnownLibxcRecord(type)) finding.verifier = VERIFY.stream(`Unrecognised record type ${hex(type)}`);
    else {
      const fits = rec.offset + RECORD_HEADER_BYTES + h.u32(4) + paddingOf(h.u32(4)) <= this.size;
      if (!fits) finding.verifier = VERIFY.truncated();
      else {
        const view = checkLibxcRecord(this.recordInput({ ...rec, type }, this.libxlLe)).find((f) => f.verifier);
        if (view) finding.verifier = view.verifier;
      }
    }
    if (finding.verifier) {
      this.s.diags.add(rec.offset, finding, LIBXL_RECORD_NAMES[type]);
      this.verifierStillInLibxc = false;
    }
    if (type === LibxcRecord.END) this.verifierStillInLibxc = false;
  }

  /** Checks that need the records before this one (what Xen's restore enforces beyond the verifier). */
  private checkContext(rec: XenRecord): void {
    const img = this.image;
    if (!img) return;
    const d = this.s.diags;
    const name = LIBXC_RECORD_NAMES[rec.type];
    const mine = this.s.records.slice(img.firstRecord, rec.index).filter((r) => r.layer === 'libxc');
    const seen = (t: number) => mine.some((r) => r.type === t);
    const hvm = img.domainType === DomainType.X86_HVM;
    const pv = img.domainType === DomainType.X86_PV;
    const pvOnly = [LibxcRecord.X86_PV_INFO, LibxcRecord.X86_PV_P2M_FRAMES, LibxcRecord.X86_PV_VCPU_BASIC, LibxcRecord.X86_PV_VCPU_EXTENDED, LibxcRecord.X86_PV_VCPU_XSAVE, LibxcRecord.X86_PV_VCPU_MSRS, LibxcRecord.SHARED_INFO] as number[];
    const hvmOnly = [LibxcRecord.HVM_CONTEXT, LibxcRecord.HVM_PARAMS] as number[];
    if ((hvm && pvOnly.includes(rec.type)) || (pv && hvmOnly.includes(rec.type))) {
      d.add(rec.offset, { severity: 'error', code: 'xen-record-for-other-domain-type', length: 8, expected: `records of an ${DOMAIN_TYPE_NAMES[img.domainType]} guest`, found: name, message: `${name} in an ${DOMAIN_TYPE_NAMES[img.domainType]} image`, hint: "Xen's restore refuses records of the other guest type (\"Invalid record type for domain\")." }, name);
    }
    const memoryOrState = rec.type === LibxcRecord.PAGE_DATA || rec.type === LibxcRecord.X86_PV_P2M_FRAMES;
    if (img.version >= 3 && memoryOrState && !seen(LibxcRecord.STATIC_DATA_END) && !mine.some((r) => r.type === rec.type)) {
      d.add(rec.offset, { severity: 'error', code: 'xen-missing-static-data-end', length: 8, expected: 'STATIC_DATA_END before the first memory record of a v3 image', found: `${name} first`, message: 'No STATIC_DATA_END before the guest memory', hint: 'Version 3 requires it (spec "STATIC_DATA_END"); Xen 4.14+ restore fails without it. Insert the record, or mark the image version 2.' });
    }
    if (rec.type === LibxcRecord.STATIC_DATA_END && seen(LibxcRecord.STATIC_DATA_END)) {
      d.add(rec.offset, { severity: 'error', code: 'xen-duplicate-record', length: 8, expected: 'one STATIC_DATA_END', found: 'a second one', message: 'STATIC_DATA_END appears twice' }, name);
    }
    if (pv && rec.type === LibxcRecord.X86_PV_P2M_FRAMES && !seen(LibxcRecord.X86_PV_INFO)) {
      d.add(rec.offset, { severity: 'error', code: 'xen-record-order', length: 8, expected: 'X86_PV_INFO before X86_PV_P2M_FRAMES (spec "Layout")', found: 'X86_PV_P2M_FRAMES first', message: 'X86_PV_P2M_FRAMES before X86_PV_INFO', hint: "Xen's restore needs the guest width to read the p2m." }, name);
    }
    if (pv && rec.type === LibxcRecord.PAGE_DATA && !seen(LibxcRecord.X86_PV_P2M_FRAMES) && !seen(LibxcRecord.PAGE_DATA)) {
      d.add(rec.offset, { severity: 'error', code: 'xen-record-order', length: 8, expected: 'X86_PV_P2M_FRAMES before PAGE_DATA (spec "Layout")', found: 'PAGE_DATA first', message: 'PV page data before the p2m frames' }, name);
    }
    if (hvm && rec.type === LibxcRecord.HVM_PARAMS && seen(LibxcRecord.HVM_CONTEXT) && !mine.some((r) => r.type === LibxcRecord.HVM_PARAMS)) {
      d.add(rec.offset, { severity: 'info', code: 'xen-record-order', length: 8, expected: 'HVM_PARAMS before HVM_CONTEXT (spec "Layout")', found: 'HVM_CONTEXT first', message: 'HVM_PARAMS after HVM_CONTEXT, as Xen\'s own writer puts them', hint: 'Xen buffers HVM_CONTEXT and applies it at the end, so restore works (xg_sr_save_x86_hvm.c writes this order).' }, name);
    }
  }

  /** Pages, emulator blobs: what later reads need, taken from the record as it is framed. */
  private indexRecord(rec: XenRecord, layer: RecordLayer, le: boolean): void {
    const bodyAt = rec.offset + RECORD_HEADER_BYTES;
    const available = Math.min(rec.bodyLength, this.size - bodyAt);
    if (layer === 'libxc' && rec.type === LibxcRecord.PAGE_DATA && available >= 8) {
      const count = XenBytes.at(this.s.source, bodyAt, 8, le).u32(0);
      const listed = Math.min(count, Math.floor((available - 8) / 8));
      let data = bodyAt + 8 + count * 8;
      const end = bodyAt + available;
      for (let i = 0; i < listed; i += PFN_CHUNK) {
        const n = Math.min(PFN_CHUNK, listed - i);
        const b = XenBytes.at(this.s.source, bodyAt + 8 + i * 8, n * 8, le);
        for (let k = 0; k < n; k++) {
          const entry = b.u64big(k * 8);
          const type = Number(entry >> PFN_TYPE_SHIFT);
          const pfn = Number(entry & PFN_MASK);
          if (pfinfoHasData(type)) {
            // A page cut off by the end of the file (or of the record) is not indexed as data.
            this.s.pages.add(pfn, type, data + XEN_PAGE_SIZE <= end ? data : NO_DATA, rec.index);
            data += XEN_PAGE_SIZE;
          } else this.s.pages.add(pfn, type, NO_DATA, rec.index);
        }
      }
    }
    if (layer === 'libxl' && rec.type === LibxlRecord.EMULATOR_CONTEXT && available >= 8) {
      const h = XenBytes.at(this.s.source, bodyAt, 12, le);
      const blobAt = bodyAt + 8;
      const blobLength = available - 8;
      this.s.emulators.push({
        offset: blobAt,
        length: blobLength,
        record: rec.index,
        emulatorId: h.u32(0),
        index: h.u32(4),
        checkpoint: rec.checkpoint,
        qemu: blobLength >= 4 && String.fromCharCode(...h.sub(8, 4)) === 'QEVM',
      });
    }
  }

  private missingEnd(pos: number, layer: RecordLayer, outer: RecordLayer): void {
    const what = layer === 'libxc' ? 'the libxc END record' : outer === 'libxl' ? 'the libxl END record' : 'an END record';
    const cut = this.s.checkpoints > 0 ? ` The stream holds ${this.s.checkpoints} checkpoint${this.s.checkpoints === 1 ? '' : 's'}: a Remus/COLO stream that stops here is a failover; Xen restores the last completed checkpoint.` : '';
    this.s.diags.add(pos, { severity: 'error', code: 'xen-missing-end', expected: what, found: 'the end of the file', message: `The stream ends without ${what}`, hint: `The file was cut or its writer stopped.${cut} A repair appends the missing END record${layer === 'libxc' && outer === 'libxl' ? 's' : ''}.`, verifier: VERIFY.truncated() });
  }
}


/** Exposed for the model summary. */
export function isV2Body(head: Uint8Array): 'libxl' | 'libxc' | undefined {
  if (head.length >= 8 && String.fromCharCode(...head.subarray(0, 8)) === LIBXL_IDENT) return 'libxl';
  // A libxl header with one damaged ident byte is still one when its version is 2.
  if (head.length >= 12 && [...LIBXL_IDENT].filter((c, i) => head[i] !== c.charCodeAt(0)).length === 1 && head[8] === 0 && head[9] === 0 && head[10] === 0 && head[11] === 2) return 'libxl';
  // A libxc image with a damaged marker still has its id and version.
  if (head.length >= 16 && String.fromCharCode(...head.subarray(8, 12)) === 'XENF' && head[12] === 0 && head[13] === 0 && head[14] === 0 && (head[15] === 2 || head[15] === 3)) return 'libxc';
  // The marker (never all ones in a legacy stream) and a version of 2 or 3: a libxc image, even with a damaged id.
  if (head.length >= 16 && head.subarray(0, 8).every((b) => b === 0xff) && head[12] === 0 && head[13] === 0 && head[14] === 0 && (head[15] === 2 || head[15] === 3)) return 'libxc';
  if (head.length >= 12 && head.subarray(0, 8).every((b) => b === 0xff) && String.fromCharCode(...head.subarray(8, 12)) === 'XENF') return 'libxc';
  return undefined;
}

export type { Finding };
