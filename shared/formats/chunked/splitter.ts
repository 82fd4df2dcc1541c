import { hex } from '../../diagnostics';
import { readBe32 } from '../../io/bytes';
import { ENCODING_FLAG_XBZRLE, RAM_IDSTR, RamFlag, SectionType } from '../qemu-stream/constants';
import { elementIn, headerIn, MAX_HEADER, type ElementExpectations } from '../qemu-stream/plausibility';
import { looksLikeDirectoryHeader } from '../section-directory/section-directory';
import { DEFAULT_CHUNK_SIZE, ELEMENT_CHUNK } from './chunk-types';

/** A chunk of stream bytes begins at stream offset `offset` with type `type`; it ends where the next begins. */
export interface StreamCut {
  offset: number;
  type: string;
}

/** What the first bytes of the stream said (the container header is written from these). */
export interface StreamFacts {
  fileVersion?: number;
  machineType?: string;
  pageSize: number;
  pageSizeFrom: 'target-page-bits' | 'default';
  capabilities: string[];
}

/** Where the splitter could not follow the stream and cut by a weaker rule. */
export interface SplitNote {
  offset: number;
  message: string;
}

const PAGE_KINDS = RamFlag.ZERO | RamFlag.PAGE | RamFlag.XBZRLE | RamFlag.COMPRESS_PAGE;
/** A configuration longer than this is not one (a name of at most 255 bytes and three small subsections). */
const MAX_CONFIGURATION = 64 << 10;
/** A MEM_SIZE block list longer than this is read as damage. */
const MAX_BLOCK_LIST = 1 << 20;

type State =
  | { kind: 'stream-header' }
  | { kind: 'first-element' }
  | { kind: 'element' }
  | { kind: 'ram'; sectionId: number; blockListAllowed: boolean }
  | { kind: 'footer'; sectionId: number }
  | { kind: 'footer-scan'; sectionId: number }
  | { kind: 'header-scan' }
  | { kind: 'opaque'; until: number; then: State }
  | { kind: 'after-eof' }
  | { kind: 'after-vmdesc' }
  | { kind: 'tail' };

/** Returned by a step that needs bytes past what it was given. */
const NEED_MORE = false;

/**
 * Finds the QEMU elements of a stream in one forward pass, as its bytes arrive, and decides
 * where the chunks of a chunked container begin (docs/chunked-container.md §2.1): one chunk
 * per element, RAM page records packed into chunks of at most `chunkSize` bytes and cut
 * between records, anything longer cut at `chunkSize` into MORE chunks.
 *
 * It cannot look ahead to the vmdesc, so device sections end at their footer (followed by
 * a plausible element), or, in streams without footers, at the next plausible section
 * header. Where it loses track (damage, an element it does not know) it keeps going with
 * those scans and notes where; the chunks' data is the stream byte for byte whatever it
 * decides, so a wrong guess costs only a less useful cut.
 *
 * Feeding: `feed(bytes, at, final)` takes stream bytes starting at stream offset `at` and
 * returns the offset from which it wants bytes next time; the caller keeps the bytes from
 * there on and passes them again in front of the next ones (never more than one element
 * header or RAM record). Cuts accumulate in `cuts` in stream order.
 */
export class ElementSplitter {
  readonly cuts: StreamCut[] = [];
  readonly notes: SplitNote[] = [];
  readonly facts: StreamFacts = { pageSize: 4096, pageSizeFrom: 'default', capabilities: [] };
  /** The configuration is read (or known to be absent): the container header can be written. */
  factsKnown = false;

  private state: State = { kind: 'stream-header' };
  private pos = 0;
  private chunkStart = 0;
  private continuation = 'MORE';
  private footers: boolean | undefined;
  private readonly iterables = new Map<number, string>();
  private readonly seenSections = new Set<string>();
  private currentSection = '';

  // The bytes of the current feed.
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  private end = 0;
  private final = false;
  private resumeAt = 0;

  constructor(private readonly chunkSize = DEFAULT_CHUNK_SIZE) {}

  feed(bytes: Uint8Array, at: number, final: boolean): number {
    if (at > this.pos || at + bytes.length < this.pos) throw new RangeError(`the splitter needs bytes from ${this.pos}; it was given ${at}..${at + bytes.length}`);
    // One array type for every feed (a Buffer from a file, a Uint8Array joined by the packer): its byte reads stay monomorphic.
    this.buf = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    this.base = at;
    this.end = at + bytes.length;
    this.final = final;
    this.resumeAt = this.pos;
    while (this.step());
    if (final) this.factsKnown = true;
    return this.resumeAt;
  }

  // ------------------------------------------------------------------ cutting

  private cut(offset: number, type: string): void {
    this.cuts.push({ offset, type });
    this.chunkStart = offset;
  }

  private beginElement(offset: number, type: string, continuation = 'MORE'): void {
    this.cut(offset, type);
    this.continuation = continuation;
  }

  /** The current element goes on to `to` (≤ the bytes received): cut it wherever a chunk would exceed the chunk size. */
  private extend(to: number): void {
    while (to > this.chunkStart + this.chunkSize) this.cut(this.chunkStart + this.chunkSize, this.continuation);
    this.pos = Math.max(this.pos, to);
  }

  // ------------------------------------------------------------------ bytes

  /** `n` bytes from pos are here; else (unless the stream ended) wait for them from `from`. */
  private have(n: number, from = this.pos): boolean {
    if (this.end - this.pos >= n) return true;
    this.resumeAt = from;
    return false;
  }

  private u8(at: number): number {
    return this.buf[at - this.base];
  }

  private be32(at: number): number {
    return readBe32(this.buf, at - this.base);
  }

  private be16(at: number): number {
    return (this.u8(at) << 8) | this.u8(at + 1);
  }

  // ------------------------------------------------------------------ states

  /** One step of the current state; false when it needs more bytes (or the stream ended). */
  private step(): boolean {
    const s = this.state;
    switch (s.kind) {
      case 'stream-header':
        return this.streamHeader();
      case 'first-element':
        if (!this.have(1)) return this.atEnd();
        if (this.u8(this.pos) === SectionType.CONFIGURATION) return this.configuration();
        this.factsKnown = true;
        this.state = { kind: 'element' };
        return true;
      case 'element':
        return this.element();
      case 'ram':
        return this.ramRecord(s.sectionId, s.blockListAllowed);
      case 'footer':
        return this.footer(s.sectionId);
      case 'footer-scan':
        return this.footerScan(s.sectionId);
      case 'header-scan':
        return this.headerScan();
      case 'opaque':
        if (s.until > this.end) {
          this.extend(this.end);
          this.resumeAt = this.end;
          return NEED_MORE;
        }
        this.extend(s.until);
        this.state = s.then;
        return true;
      case 'after-eof':
      case 'after-vmdesc':
        return this.afterEof(s.kind === 'after-eof');
      case 'tail':
        this.extend(this.end);
        this.resumeAt = this.end;
        return NEED_MORE;
    }
  }

  /** The stream ended where a state waited for bytes: the last chunk runs to the end. */
  private atEnd(): boolean {
    if (this.final) {
      this.extend(this.end);
      this.resumeAt = this.end;
    }
    return NEED_MORE;
  }

  private streamHeader(): boolean {
    if (!this.have(8)) {
      if (this.final) this.beginElement(0, ELEMENT_CHUNK.HEADER);
      return this.atEnd();
    }
    this.beginElement(0, ELEMENT_CHUNK.HEADER);
    this.facts.fileVersion = this.be32(4);
    this.extend(8);
    this.state = { kind: 'first-element' };
    return true;
  }

  /** QEMU_VM_CONFIGURATION: be32 length + machine type, then subsections (05, u8 n, name, be32 version, body). */
  private configuration(): boolean {
    const start = this.pos;
    const len = (n: number) => (this.end - start >= n ? true : undefined);
    let p = start + 1;
    const waitOrLost = (): boolean => {
      if (this.final || this.end - start > MAX_CONFIGURATION) return this.lost(start, 'the configuration section could not be read');
      this.resumeAt = start;
      return NEED_MORE;
    };
    if (!len(p - start + 4)) return waitOrLost();
    const nameLength = this.be32(p);
    if (nameLength > 255) return this.lost(start, `the configuration names a machine type of ${nameLength} bytes`);
    p += 4;
    if (!len(p - start + nameLength + 1)) return waitOrLost();
    const machine = String.fromCharCode(...this.buf.subarray(p - this.base, p - this.base + nameLength));
    p += nameLength;
    const pageBits: number[] = [];
    const capabilities: string[] = [];
    while (this.u8(p) === SectionType.SUBSECTION) {
      if (!len(p - start + 2)) return waitOrLost();
      const n = this.u8(p + 1);
      if (!len(p - start + 2 + n + 4 + 1)) return waitOrLost();
      const name = String.fromCharCode(...this.buf.subarray(p + 2 - this.base, p + 2 + n - this.base));
      let q = p + 2 + n + 4;
      if (name === 'configuration/target-page-bits') {
        if (!len(q - start + 4 + 1)) return waitOrLost();
        pageBits.push(this.be32(q));
        q += 4;
      } else if (name === 'configuration/capabilities') {
        if (!len(q - start + 4)) return waitOrLost();
        const count = this.be32(q);
        q += 4;
        if (count > 256) return this.lost(start, `the configuration lists ${count} capabilities`);
        for (let i = 0; i < count; i++) {
          if (!len(q - start + 1)) return waitOrLost();
          const c = this.u8(q);
          if (!len(q - start + 1 + c + 1)) return waitOrLost();
          capabilities.push(String.fromCharCode(...this.buf.subarray(q + 1 - this.base, q + 1 + c - this.base)));
          q += 1 + c;
        }
        if (!len(q - start + 1)) return waitOrLost();
      } else if (name === 'configuration/uuid') {
        q += 16;
        if (!len(q - start + 1)) return waitOrLost();
      } else {
        // A subsection this reader does not know: the configuration ends where the next element begins.
        this.noteConfiguration(machine, pageBits, capabilities);
        this.beginElement(start, ELEMENT_CHUNK.CONFIGURATION);
        this.notes.push({ offset: p, message: `configuration subsection ${JSON.stringify(name)} is not known; the configuration was delimited by the next section header` });
        this.extend(p);
        this.state = { kind: 'header-scan' };
        return true;
      }
      p = q;
    }
    this.noteConfiguration(machine, pageBits, capabilities);
    this.beginElement(start, ELEMENT_CHUNK.CONFIGURATION);
    this.extend(p);
    this.state = { kind: 'element' };
    return true;
  }

  private noteConfiguration(machine: string, pageBits: number[], capabilities: string[]): void {
    this.facts.machineType = machine;
    this.facts.capabilities = capabilities;
    const bits = pageBits[0];
    if (bits !== undefined && bits >= 9 && bits <= 20) {
      this.facts.pageSize = 2 ** bits;
      this.facts.pageSizeFrom = 'target-page-bits';
    }
    this.factsKnown = true;
  }

  private element(): boolean {
    if (!this.have(1)) return this.atEnd();
    const at = this.pos;
    const t = this.u8(at);
    switch (t) {
      case SectionType.EOF:
        this.beginElement(at, ELEMENT_CHUNK.EOF);
        this.extend(at + 1);
        this.state = { kind: 'after-eof' };
        return true;
      case SectionType.START:
      case SectionType.FULL: {
        if (!this.have(6)) return this.final ? this.lost(at, 'the stream ends inside a section header') : NEED_MORE;
        const idLength = this.u8(at + 5);
        if (!this.have(6 + idLength + 8)) return this.final ? this.lost(at, 'the stream ends inside a section header') : NEED_MORE;
        const h = headerIn(this.buf, at - this.base);
        if (!h) return this.lost(at, `no plausible section header follows type byte ${hex(t, 2)}`);
        this.beginElement(at, t === SectionType.START ? ELEMENT_CHUNK.START : ELEMENT_CHUNK.FULL);
        this.extend(at + h.length);
        this.currentSection = h.idstr;
        if (t === SectionType.START) {
          this.iterables.set(h.sectionId, h.idstr);
          this.state = h.idstr === RAM_IDSTR ? { kind: 'ram', sectionId: h.sectionId, blockListAllowed: true } : this.payloadScan(h.sectionId);
        } else {
          this.seenSections.add(`${h.idstr}\u0000${h.instanceId}`);
          this.state = this.payloadScan(h.sectionId);
        }
        return true;
      }
      case SectionType.PART:
      case SectionType.END: {
        if (!this.have(5)) return this.final ? this.lost(at, 'the stream ends inside a section header') : NEED_MORE;
        const sectionId = this.be32(at + 1);
        const idstr = this.iterables.get(sectionId);
        if (idstr === undefined) return this.lost(at, `section id ${sectionId} was not opened by a START`);
        this.beginElement(at, t === SectionType.PART ? ELEMENT_CHUNK.PART : ELEMENT_CHUNK.END);
        this.extend(at + 5);
        this.currentSection = idstr;
        this.state = idstr === RAM_IDSTR ? { kind: 'ram', sectionId, blockListAllowed: false } : this.payloadScan(sectionId);
        return true;
      }
      case SectionType.COMMAND: {
        if (!this.have(5)) return this.final ? this.lost(at, 'the stream ends inside a command') : NEED_MORE;
        const cmd = this.be16(at + 1);
        const len = this.be16(at + 3);
        let end = at + 5 + len;
        if (cmd === 7 && len === 4) {
          // PACKAGED: a nested stream of the announced size follows the command.
          if (!this.have(9)) return this.final ? this.lost(at, 'the stream ends inside a command') : NEED_MORE;
          end = at + 9 + this.be32(at + 5);
        }
        this.beginElement(at, ELEMENT_CHUNK.COMMAND);
        this.state = { kind: 'opaque', until: end, then: { kind: 'element' } };
        return true;
      }
      default:
        return this.lost(at, `byte ${hex(t, 2)} is no section type`);
    }
  }

  /** How a section payload the splitter does not read record by record is delimited. */
  private payloadScan(sectionId: number): State {
    return this.footers === false ? { kind: 'header-scan' } : { kind: 'footer-scan', sectionId };
  }

  /**
   * One RAM page record of a "ram" section (migration/ram.c; qemu-format.md §2): the be64
   * header's low bits are flags; block id unless CONTINUE; then a fill byte, a page, an
   * XBZRLE delta or a zlib page. EOS ends the section's data; the footer follows.
   */
  private ramRecord(sectionId: number, blockListAllowed: boolean): boolean {
    const at = this.pos;
    if (!this.have(8)) return this.atEnd();
    const pageSize = this.facts.pageSize;
    const lo = this.be32(at + 4);
    let flags = lo & (pageSize - 1);
    let length = 8;
    if (flags & RamFlag.MEM_SIZE) {
      if (!blockListAllowed || this.facts.capabilities.includes('mapped-ram')) return this.lostRecords(at, sectionId, 'a RAM block list this splitter does not read');
      const listLength = this.blockListLength(at + 8, this.be32(at) * 0x1_0000_0000 + (lo - flags));
      if (listLength === undefined) return NEED_MORE;
      if (listLength < 0) return this.lostRecords(at, sectionId, 'a RAM block list that does not add up');
      length += listLength;
      flags &= ~RamFlag.MEM_SIZE;
    }
    flags &= ~RamFlag.MULTIFD_FLUSH;
    const kind = flags & PAGE_KINDS;
    if (kind !== 0) {
      if (kind & (kind - 1)) return this.lostRecords(at, sectionId, `RAM record flags ${hex(flags)}`);
      if (!(flags & RamFlag.CONTINUE)) {
        if (!this.have(length + 1)) return this.atEnd();
        length += 1 + this.u8(at + length);
      }
      if (kind === RamFlag.ZERO) length += 1;
      else if (kind === RamFlag.PAGE) length += pageSize;
      else if (kind === RamFlag.XBZRLE) {
        if (!this.have(length + 3)) return this.atEnd();
        if (this.u8(at + length) !== ENCODING_FLAG_XBZRLE) return this.lostRecords(at, sectionId, 'an XBZRLE record with an unknown encoding');
        length += 3 + this.be16(at + length + 1);
      } else {
        if (!this.have(length + 4)) return this.atEnd();
        const compressed = this.be32(at + length);
        if (compressed > pageSize * 2 + 64) return this.lostRecords(at, sectionId, `a compressed page of ${compressed} bytes`);
        length += 4 + compressed;
      }
      flags &= ~(kind | RamFlag.CONTINUE);
    }
    const eos = (flags & RamFlag.EOS) !== 0;
    flags &= ~RamFlag.EOS;
    if (flags !== 0) return this.lostRecords(at, sectionId, `RAM record flags ${hex(flags)}`);
    // Records stay whole: a chunk that this record would overflow ends before it.
    if (at > this.chunkStart && at + length - this.chunkStart > this.chunkSize) this.cut(at, this.continuation);
    const next: State = eos ? { kind: 'footer', sectionId } : this.state;
    // A whole record is skipped at once: a 1 GiB stream has a quarter million of them.
    if (at + length <= this.end) {
      this.extend(at + length);
      this.state = next;
    } else this.state = { kind: 'opaque', until: at + length, then: next };
    return true;
  }

  /** Bytes of the MEM_SIZE block list at `at` whose lengths add up to `total`; undefined: wait; -1: not a list. */
  private blockListLength(at: number, total: number): number | undefined {
    const ignoreShared = this.facts.capabilities.includes('x-ignore-shared');
    let p = at;
    let remaining = total;
    while (remaining > 0) {
      if (p - at > MAX_BLOCK_LIST) return -1;
      if (this.end - p < 1) return this.waitFor(at - 8);
      const n = this.u8(p);
      if (n === 0) return -1;
      if (this.end - p < 1 + n + 8 + 1) return this.waitFor(at - 8);
      const used = this.be32(p + 1 + n) * 0x1_0000_0000 + this.be32(p + 1 + n + 4);
      p += 1 + n + 8;
      remaining -= used;
      // Postcopy adds a be64 host page size (recognisable only when another block follows: it starts with 0).
      if (!ignoreShared && remaining > 0 && this.u8(p) === 0) p += 8;
      if (ignoreShared) p += 8;
    }
    return remaining === 0 ? p - at : -1;
  }

  private waitFor(from: number): undefined | -1 {
    if (this.final) return -1;
    this.resumeAt = from;
    return undefined;
  }

  /** After a RAM section's EOS: its footer, when the stream has them (learnt here on the first section). */
  private footer(sectionId: number): boolean {
    const at = this.pos;
    if (this.footers === false) {
      this.state = { kind: 'element' };
      return true;
    }
    if (!this.have(5)) {
      if (!this.final) return NEED_MORE;
      this.footers ??= false;
      this.state = { kind: 'element' };
      return true;
    }
    const matches = this.u8(at) === SectionType.FOOTER && this.be32(at + 1) === sectionId;
    this.footers ??= matches;
    if (matches) this.extend(at + 5);
    this.state = { kind: 'element' };
    return true;
  }

  /** The rest of a RAM section cannot be read record by record: find its end by its footer. */
  private lostRecords(at: number, sectionId: number, what: string): boolean {
    this.notes.push({ offset: at, message: `${what} at ${hex(at)} in section ${this.currentSection}; the rest of the section was delimited by its footer` });
    this.state = this.payloadScan(sectionId);
    return true;
  }

  /** Bytes that are no element this splitter can read: a DATA chunk up to the next plausible element. */
  private lost(at: number, why: string): boolean {
    this.notes.push({ offset: at, message: `${why} (at ${hex(at)}); the bytes up to the next recognisable element are kept in DATA chunks` });
    this.factsKnown = true;
    this.beginElement(at, ELEMENT_CHUNK.UNKNOWN);
    this.extend(Math.min(at + 1, this.end));
    this.state = { kind: 'header-scan' };
    return true;
  }

  private expectations(strict: boolean): ElementExpectations {
    return {
      iterableIds: new Set(this.iterables.keys()),
      eofAnywhere: !strict,
      acceptHeader: (h) => (h.type === SectionType.START ? !this.iterables.has(h.sectionId) : !strict || !this.seenSections.has(`${h.idstr}\u0000${h.instanceId}`)),
    };
  }

  /** Enough bytes after `at` to judge an element there: a full header, or the end of the stream. */
  private canJudge(at: number): boolean {
    return this.final || this.end - at >= MAX_HEADER;
  }

  /** Scans for `7e <section id>` followed by a plausible element: the section's footer. */
  private footerScan(sectionId: number): boolean {
    const buf = this.buf;
    const x = this.expectations(false);
    const size = this.final ? this.end : Infinity;
    for (let i = this.pos - this.base; ; i++) {
      i = buf.indexOf(SectionType.FOOTER, i);
      if (i < 0 || i + 5 > buf.length) {
        // The bytes before a possible footer at the end are payload; the rest is looked at next time.
        const stop = i < 0 ? this.end : this.base + i;
        this.extend(stop);
        this.resumeAt = stop;
        if (this.final) return this.unterminated();
        return NEED_MORE;
      }
      if (readBe32(buf, i + 1) !== sectionId) continue;
      const next = this.base + i + 5;
      if (!this.canJudge(next)) {
        this.extend(this.base + i);
        this.resumeAt = this.base + i;
        return NEED_MORE;
      }
      if (next === this.end || elementIn(buf, i + 5, next, size, x)) {
        this.footers ??= true;
        this.extend(next);
        this.state = { kind: 'element' };
        return true;
      }
    }
  }

  /** Scans for the next plausible element (no footers, or after damage). */
  private headerScan(): boolean {
    const buf = this.buf;
    const x = this.expectations(true);
    const size = this.final ? this.end : Infinity;
    for (let i = this.pos - this.base; i < buf.length; i++) {
      const t = buf[i];
      if (t > SectionType.FULL && t !== SectionType.COMMAND) continue;
      const at = this.base + i;
      if (at === this.pos && this.cuts[this.cuts.length - 1]?.offset === at) continue; // the element being delimited
      if (!this.canJudge(at)) {
        this.extend(at);
        this.resumeAt = at;
        return NEED_MORE;
      }
      if (elementIn(buf, i, at, size, x)) {
        this.extend(at);
        this.state = { kind: 'element' };
        return true;
      }
    }
    this.extend(this.end);
    this.resumeAt = this.end;
    return this.final ? this.unterminated() : NEED_MORE;
  }

  private unterminated(): boolean {
    this.notes.push({ offset: this.chunkStart, message: `the stream ends before the end of the element at or before ${hex(this.chunkStart)} was found` });
    this.state = { kind: 'tail' };
    return NEED_MORE;
  }

  /** After QEMU_VM_EOF: the vmdesc, a section directory, or other bytes QEMU never reads. */
  private afterEof(rightAfterEof: boolean): boolean {
    const at = this.pos;
    if (!this.have(1)) return this.atEnd();
    if (rightAfterEof && this.u8(at) === SectionType.VMDESCRIPTION) {
      if (!this.have(5)) {
        if (!this.final) return NEED_MORE;
      } else {
        this.beginElement(at, ELEMENT_CHUNK.VMDESCRIPTION, ELEMENT_CHUNK.VMDESCRIPTION);
        this.state = { kind: 'opaque', until: at + 5 + this.be32(at + 1), then: { kind: 'after-vmdesc' } };
        return true;
      }
    }
    if (!this.have(9) && !this.final) return NEED_MORE;
    const directory = looksLikeDirectoryHeader(this.buf.subarray(at - this.base, at - this.base + 9));
    const type = directory ? ELEMENT_CHUNK.DIRECTORY : 'tAIL';
    this.beginElement(at, type, type);
    this.state = { kind: 'tail' };
    return true;
  }
}
