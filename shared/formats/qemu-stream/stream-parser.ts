import { DiagnosticSink, hex } from '../../diagnostics';
import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';
import { Cursor, OutOfDataError } from '../../io/cursor';
import { readConfiguration } from './configuration';
import { COMMAND_NAMES, CPU_IDSTR, QEVM_FILE_VERSION, QEVM_FILE_VERSION_COMPAT, QEVM_MAGIC, RAM_IDSTR, SECTION_TYPE_NAMES, SectionType } from './constants';
import type { ElementType } from './constants';
import type { QemuStreamModel, RamBlock, StreamElement } from './model';
import { describeSection, emptyPageCounts } from './model';
import { readHashPageTable, readStorageAttributes } from './other-iterables';
import { PageIndex } from './page-index';
import { DesyncError, type ParseContext } from './parse-context';
import { findDamagedFooter, findFooter, findNextElement, headerIn, isElementStart, peekHeader, type ElementExpectations, type SectionHeader } from './plausibility';
import { readRamRecords } from './ram-section';
import { isLegacyEntry, locateVmdesc, readVmdesc, type Vmdesc, type VmdescDevice, type VmdescLocation } from './vmdesc';
import { skipVmstate } from './vmstate-measure';
import { describeNotSent, pagesNotSent } from './summary';
import { describedSize, nullPointerArrayQuirk } from './vmdesc-fit';

export interface ParseOptions {
  /** Called every few tens of megabytes with the current offset; may throw to cancel. */
  onProgress?: (done: number, total: number) => void;
  maxDiagnostics?: number;
  /**
   * The stream is a device model's state only (Xen's EMULATOR_CONTEXT: QEMU saved with
   * xen-save-devices-state, whose vCPUs and RAM are Xen's): no CPU state is expected.
   */
  devicesOnly?: boolean;
  /**
   * Called with the data of every PAGE record of a known block (a view of the read window,
   * valid during the call) and the stream offset it is stored at, so a caller can work on
   * the pages during the one scan instead of reading them again (migwb diff fingerprints
   * them, search searches them). Records later in the stream come later.
   */
  onPageData?: (block: RamBlock, page: number, data: Uint8Array, dataOffset: number) => void;
}

/**
 * Parses a QEMU migration stream ("QEVM", file version 3, as QEMU 7.2 to 10.x write it)
 * into a model with exact byte ranges. Never throws on bad input: every problem becomes a
 * diagnostic and parsing resumes at the next plausible element.
 */
export function parseQemuStream(source: ByteSource, options: ParseOptions = {}): QemuStreamModel {
  return new StreamParser(source, options).parse();
}

class StreamParser implements ParseContext {
  readonly cur: Cursor;
  readonly sink: DiagnosticSink;
  pageSize = 4096;
  pageSizeSource: QemuStreamModel['pageSizeSource'] = 'default';
  readonly capabilities = new Set<string>();
  readonly ramBlocks: RamBlock[] = [];
  readonly ramBlockByName = new Map<string, number>();
  currentRamBlock = -1;
  readonly pages = new PageIndex();
  readonly elements: StreamElement[] = [];
  readonly iterables = new Map<number, StreamElement>();
  vmdescLocation?: VmdescLocation;
  footers?: boolean;

  private vmdesc?: Vmdesc;
  private vmdescPartial = false;
  private fileVersion = 0;
  private configuration?: StreamElement;
  private nextDevice = 0;
  private readonly usedDevices = new Set<number>();
  private readonly seenSections = new Set<string>();
  private seenEnd = false;
  private sawEof = false;
  private trailing?: { offset: number; length: number };

  readonly onPageData: ParseOptions['onPageData'];

  constructor(private readonly source: ByteSource, private readonly options: ParseOptions) {
    this.cur = new Cursor(source);
    this.onPageData = options.onPageData;
    this.sink = new DiagnosticSink(options.maxDiagnostics);
  }

  reportProgress(): void {
    this.options.onProgress?.(this.cur.pos, this.source.size);
  }

  parse(): QemuStreamModel {
    if (this.readFileHeader()) {
      this.readVmdesc();
      try {
        if (this.cur.peekU8() === SectionType.CONFIGURATION) this.readConfigurationElement();
        this.readElements();
        if (this.sawEof && !this.options.devicesOnly) this.checkCpuState();
      } catch (e) {
        if (!(e instanceof OutOfDataError)) throw e;
        this.truncated(e);
      }
    }
    this.reportProgress();
    return {
      format: 'qemu-migration-stream',
      size: this.source.size,
      fileVersion: this.fileVersion,
      machineType: this.configuration?.machine,
      pageSize: this.pageSize,
      pageSizeSource: this.pageSizeSource,
      capabilities: [...this.capabilities],
      sectionFooters: this.footers === true,
      configuration: this.configuration,
      elements: this.elements,
      ramBlocks: this.ramBlocks,
      pages: this.pages,
      vmdesc: this.vmdesc,
      vmdescLocation: this.vmdescLocation,
      trailing: this.trailing,
      sawEof: this.sawEof,
      diagnostics: this.sink.finish(this.source.size),
    };
  }

  // ---------------------------------------------------------------- file header

  /** Magic and version. Returns false if this is not a QEMU stream at all. */
  private readFileHeader(): boolean {
    const head = readBytes(this.source, 0, 9);
    if (head.length < 8) {
      this.sink.error('not-qemu-stream', 0, {
        expected: 'at least 8 bytes: "QEVM" and the file version',
        found: `${head.length} bytes`,
        message: 'The file is too short to be a QEMU migration stream',
      });
      return false;
    }
    const magic = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    const version = ((head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7]) >>> 0;
    this.fileVersion = version;
    const found = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    if (magic !== QEVM_MAGIC) {
      // A damaged magic in front of an intact stream is still worth reading.
      const streamFollows = version === QEVM_FILE_VERSION && (head[8] === SectionType.CONFIGURATION || head[8] === SectionType.START);
      this.sink.error('bad-magic', 0, {
        length: 4,
        expected: '"QEVM" (51 45 56 4d)',
        found,
        message: streamFollows ? 'The file magic is damaged, but a QEMU stream follows it' : 'This is not a QEMU migration stream',
        hint: streamFollows ? 'Repair can restore the magic.' : 'Open a file written by QEMU "migrate" or "savevm", or a container that holds one (libvirt save, qcow2).',
      });
      if (!streamFollows) return false;
    }
    if (version !== QEVM_FILE_VERSION) {
      this.sink.error('file-version', 4, {
        length: 4,
        expected: `file version ${QEVM_FILE_VERSION}`,
        found: `${version}`,
        message: version === QEVM_FILE_VERSION_COMPAT ? 'QEMU rejects file version 2 ("SaveVM v2 format is obsolete")' : `Unknown file version ${version}; reading it as version 3`,
      });
    }
    this.cur.pos = 8;
    return true;
  }

  // ---------------------------------------------------------------- vmdesc

  private readVmdesc(): void {
    const loc = locateVmdesc(this.source);
    if (!loc) return;
    this.vmdescLocation = loc;
    const result = readVmdesc(this.source, loc);
    if (result.problem) {
      this.sink.error(loc.complete ? 'vmdesc-invalid' : 'vmdesc-truncated', loc.complete ? loc.jsonOffset + (result.problemAt ?? 0) : Math.min(loc.jsonOffset + (result.problemAt ?? 0), this.source.size - 1), {
        section: 'vmdesc',
        expected: `${loc.jsonLength} bytes of vmdesc JSON at ${hex(loc.jsonOffset)}`,
        found: result.problem,
        message: result.vmdesc
          ? `The vmdesc is damaged; the first ${result.vmdesc.devices.length} device descriptions were recovered`
          : 'The vmdesc is damaged and could not be used',
        hint: 'QEMU ignores the vmdesc when loading, so the image may still load. Sections it no longer describes are delimited by their footers. Repair can rebuild the vmdesc.',
      });
    }
    if (!result.vmdesc) return;
    this.vmdesc = result.vmdesc;
    this.vmdescPartial = result.partial;
    const ps = result.vmdesc.page_size;
    if (ps !== undefined) {
      if (ps >= 512 && (ps & (ps - 1)) === 0) {
        this.pageSize = ps;
        this.pageSizeSource = 'vmdesc';
      } else {
        this.sink.error('vmdesc-page-size', loc.jsonOffset, {
          section: 'vmdesc',
          expected: 'a power-of-two page size',
          found: `${ps}`,
          message: 'The vmdesc page size is invalid; using 4096',
        });
      }
    }
  }

  // ---------------------------------------------------------------- configuration

  private readConfigurationElement(): void {
    const e = this.push('CONFIGURATION', SectionType.CONFIGURATION, this.cur.pos);
    this.configuration = e;
    try {
      readConfiguration(this, e, this.vmdesc);
    } catch (err) {
      if (!(err instanceof DesyncError)) throw err;
      this.desync(err, e);
      return;
    }
    if (this.vmdesc?.configuration) e.inVmdesc = true;
    for (const sub of e.subsections ?? []) {
      for (const c of sub.capabilities ?? []) this.capabilities.add(c);
      if (sub.targetPageBits !== undefined) {
        const size = 2 ** sub.targetPageBits;
        if (this.pageSizeSource === 'vmdesc' && size !== this.pageSize) {
          this.sink.warning('page-size-mismatch', sub.offset, {
            section: 'configuration',
            expected: `target page size ${this.pageSize} (vmdesc)`,
            found: `target-page-bits ${sub.targetPageBits} (${size})`,
            message: 'The configuration and the vmdesc disagree on the page size; using the vmdesc',
          });
        } else if (sub.targetPageBits >= 9 && sub.targetPageBits <= 20) {
          this.pageSize = size;
          this.pageSizeSource = 'target-page-bits';
        }
      }
    }
  }

  // ---------------------------------------------------------------- elements

  private readElements(): void {
    const cur = this.cur;
    while (!cur.atEnd()) {
      const start = cur.pos;
      const raw = cur.u8();
      let type = raw;
      if (SECTION_TYPE_NAMES[raw] === undefined || raw === SectionType.VMDESCRIPTION || raw === SectionType.CONFIGURATION) {
        const recovered = this.recoverTypeByte(start, raw);
        if (recovered === undefined) {
          this.resync(start, 'unknown-section-type', 'a section type (0x00-0x04, 0x08)', `byte ${hex(raw, 2)}`);
          continue;
        }
        type = recovered;
      } else if (!this.plausibleAs(raw, start)) {
        // A valid type byte whose element makes no sense here (a FULL header's 0x04 flipped to
        // 0x00 reads as QEMU_VM_EOF): a damaged type byte if another type fits what follows.
        type = this.recoverTypeByte(start, raw) ?? raw;
      }
      try {
        switch (type) {
          case SectionType.EOF:
            if (this.readEof(start, raw)) return;
            break;
          case SectionType.START:
          case SectionType.FULL:
            this.readSectionWithHeader(start, type, raw);
            break;
          case SectionType.PART:
          case SectionType.END:
            this.readPartOrEnd(start, type, raw);
            break;
          case SectionType.COMMAND:
            this.readCommand(start, raw);
            break;
        }
      } catch (err) {
        if (!(err instanceof DesyncError)) throw err;
        const e = this.elements.length && this.elements[this.elements.length - 1].offset === start ? this.elements[this.elements.length - 1] : undefined;
        this.desync(err, e);
      }
    }
    this.sink.error('missing-eof', Math.max(0, this.source.size - 1), {
      expected: 'QEMU_VM_EOF (0x00) after the last section',
      found: 'the end of the file',
      message: 'The stream has no end marker',
      hint: 'The image was cut short. Repair can end the stream cleanly after the last complete section.',
    });
  }

  private push(type: ElementType, typeCode: number, offset: number): StreamElement {
    const e: StreamElement = { index: this.elements.length, type, typeCode, offset, length: 0 };
    this.elements.push(e);
    return e;
  }

  private expectations(strict: boolean): ElementExpectations {
    return {
      iterableIds: new Set(this.iterables.keys()),
      vmdescOffset: this.vmdescLocation?.offset,
      acceptHeader: (h) => {
        // QEMU writes START only for live (iterable) handlers, never for a device with a vmdesc entry.
        if (h.type === SectionType.START) return !this.iterables.has(h.sectionId) && !this.describedByVmdesc(h.idstr, h.instanceId);
        if (this.vmdesc && this.findDevice(h.idstr, h.instanceId, false) >= 0) return true;
        // A complete vmdesc describes every FULL section; a cut one only the first few.
        if (this.vmdesc && !this.vmdescPartial) return false;
        return !strict || !this.seenSections.has(`${h.idstr}\u0000${h.instanceId}`);
      },
    };
  }

  private describedByVmdesc(idstr: string, instanceId: number): boolean {
    return !!this.vmdesc?.devices.some((d) => d.name === idstr && d.instance_id === instanceId);
  }

  /** Can an element of the valid type `raw` start at `start`, given what follows and what is open? */
  private plausibleAs(raw: number, start: number): boolean {
    // A FULL header that is well formed is one, even where the vmdesc disagrees (diagnosed where it is read).
    if (raw === SectionType.FULL) return peekHeader(this.source, start) !== undefined;
    return isElementStart(this.source, start, this.expectations(false));
  }

  private readSectionWithHeader(start: number, type: number, raw: number): void {
    const cur = this.cur;
    const sectionId = cur.be32();
    const idLength = cur.u8();
    const idBytes = cur.bytes(idLength);
    const instanceId = cur.be32();
    const versionId = cur.be32();
    const e = this.push(type === SectionType.START ? 'START' : 'FULL', raw, start);
    e.sectionId = sectionId;
    e.idstr = String.fromCharCode(...idBytes);
    e.instanceId = instanceId;
    e.versionId = versionId;
    e.payloadOffset = cur.pos;
    if (raw !== type) e.damaged = true;
    if (idLength === 0 || !idBytes.every((b) => b >= 0x20 && b <= 0x7e)) {
      e.damaged = true;
      this.sink.error('bad-idstr', start + 5, {
        length: 1 + idLength,
        section: describeSection(e),
        expected: 'a printable section name',
        found: JSON.stringify(e.idstr),
        message: 'Section name is damaged',
      });
    }
    const key = `${e.idstr}\u0000${instanceId}`;
    if (type === SectionType.START) {
      if (this.iterables.has(sectionId)) {
        this.sink.warning('duplicate-start', start, {
          section: describeSection(e),
          expected: 'one START per iterable section',
          found: `a second START for section id ${sectionId}`,
          message: 'Iterable section started twice',
        });
      }
      this.iterables.set(sectionId, e);
      this.readIterablePayload(e, e);
    } else {
      e.phase = this.seenEnd ? 'complete' : 'setup';
      const duplicate = this.seenSections.has(key);
      this.readFullPayload(e);
      if (duplicate) this.duplicateSection(e);
    }
    this.seenSections.add(key);
    this.readFooter(e);
    e.length = cur.pos - start;
  }

  private readPartOrEnd(start: number, type: number, raw: number): void {
    const cur = this.cur;
    const sectionId = cur.be32();
    const owner = this.iterables.get(sectionId);
    const e = this.push(type === SectionType.PART ? 'PART' : 'END', raw, start);
    e.sectionId = sectionId;
    e.payloadOffset = cur.pos;
    if (raw !== type) e.damaged = true;
    if (type === SectionType.END) this.seenEnd = true;
    if (!owner) {
      throw new DesyncError(start + 1, 'unknown-section-id', `the id of a section opened by START (${[...this.iterables.keys()].join(', ') || 'none open'})`, `section id ${sectionId}`, 'QEMU rejects this stream ("Unknown savevm section"); the id is damaged.');
    }
    e.idstr = owner.idstr;
    this.readIterablePayload(e, owner);
    this.readFooter(e);
    e.length = cur.pos - start;
  }

  private readIterablePayload(e: StreamElement, owner: StreamElement): void {
    switch (owner.idstr) {
      case RAM_IDSTR:
        if (owner.versionId !== 4 && e === owner) {
          this.sink.warning('ram-version', e.offset, {
            section: describeSection(e),
            expected: 'ram section version 4',
            found: `version ${owner.versionId}`,
            message: 'Unexpected RAM section version; reading it as version 4',
          });
        }
        e.pages = emptyPageCounts();
        readRamRecords(this, e);
        return;
      case 's390-storage_attributes':
        readStorageAttributes(this);
        return;
      case 'spapr/htab':
        readHashPageTable(this);
        return;
      default:
        this.sink.info('iterable-not-decoded', e.offset, {
          section: describeSection(e),
          expected: 'an iterable section this workbench decodes (ram, s390-storage_attributes, spapr/htab)',
          found: JSON.stringify(owner.idstr),
          message: `The data of iterable section ${owner.idstr} is not decoded; its end was found by its footer`,
        });
        this.delimitOpaque(e, undefined);
    }
  }

  private readFullPayload(e: StreamElement): void {
    let device: VmdescDevice | undefined;
    if (this.vmdesc) {
      let index = this.findDevice(e.idstr!, e.instanceId!, true);
      const expected = this.vmdesc.devices[this.nextDevice];
      if (index < 0 && !expected && this.vmdescPartial) {
        // The cut vmdesc no longer describes this section; delimited by its footer instead.
      } else if (index < 0) {
        // The idstr follows the type byte, be32 section id and u8 length.
        this.sink.error(expected ? 'section-name-mismatch' : 'section-not-in-vmdesc', e.offset + 6, {
          length: e.payloadOffset! - 8 - (e.offset + 6),
          section: describeSection(e),
          expected: expected ? `section ${JSON.stringify(expected.name)} instance ${expected.instance_id} (next in the vmdesc)` : 'a section described by the vmdesc',
          found: `${JSON.stringify(e.idstr)} instance ${e.instanceId}`,
          message: expected ? `Section header names ${JSON.stringify(e.idstr)} where the vmdesc expects ${JSON.stringify(expected.name)}` : `Section ${JSON.stringify(e.idstr)} is not described by the vmdesc`,
          hint: expected ? `QEMU rejects this ("Unknown savevm section or instance"). Repair can restore the name ${JSON.stringify(expected.name)} from the vmdesc.` : undefined,
        });
        if (expected) {
          index = this.nextDevice;
          e.damaged = true;
        }
      }
      if (index >= 0) {
        device = this.vmdesc.devices[index];
        this.usedDevices.add(index);
        this.nextDevice = Math.max(this.nextDevice, index + 1);
        e.deviceIndex = index;
        // A legacy save_state section's entry states no version: nothing to compare.
        if (device.version !== undefined && device.version !== e.versionId) {
          e.damaged = true;
          this.sink.error('version-mismatch', e.payloadOffset! - 4, {
            length: 4,
            section: describeSection(e),
            expected: `version ${device.version} (vmdesc)`,
            found: `version ${e.versionId}`,
            message: `Section header says version ${e.versionId}, the vmdesc says ${device.version}`,
            hint: `QEMU rejects this ("unsupported version ${e.versionId}"). Repair can restore version ${device.version}.`,
          });
        }
      }
    }
    this.delimitOpaque(e, device);
  }

  private duplicateSection(e: StreamElement): void {
    const device = e.deviceIndex !== undefined ? this.vmdesc?.devices[e.deviceIndex] : undefined;
    if (device && isLegacyEntry(device)) {
      // QEMU 7.x's slirp (one per user-mode netdev) registers every backend as instance 0.
      this.sink.warning('duplicate-legacy-instance', e.offset, {
        section: describeSection(e),
        expected: 'each device section once',
        found: `another FULL section ${JSON.stringify(e.idstr)} instance ${e.instanceId} before it`,
        message: `QEMU quirk: the legacy save handler ${JSON.stringify(e.idstr)} saves every instance as instance ${e.instanceId} (in QEMU 7.x one slirp section per user-mode network backend)`,
        hint: 'QEMU wrote it so and loads it: both sections go to the first instance (the second wins) and the other instances start fresh. Nothing to repair.',
      });
      return;
    }
    this.sink.warning('duplicate-section', e.offset, {
      section: describeSection(e),
      expected: 'each device section once',
      found: 'a second FULL section with the same name and instance',
      message: 'Device section appears twice; QEMU loads both, the second wins',
    });
  }

  /** Index of the vmdesc device for (idstr, instance); prefers the next in order. */
  private findDevice(idstr: string, instanceId: number, preferNext: boolean): number {
    const devices = this.vmdesc?.devices ?? [];
    const next = devices[this.nextDevice];
    if (preferNext && next && next.name === idstr && next.instance_id === instanceId) return this.nextDevice;
    for (let i = 0; i < devices.length; i++) {
      if (!this.usedDevices.has(i) && devices[i].name === idstr && devices[i].instance_id === instanceId) return i;
    }
    return -1;
  }

  /**
   * Finds the end of a section payload the parser cannot read field by field: by the vmdesc
   * sizes, else by its footer, else by the next plausible section header.
   */
  private delimitOpaque(e: StreamElement, device: VmdescDevice | undefined): void {
    const cur = this.cur;
    const payload = cur.pos;
    if (device) {
      let problem: string;
      let described = -1;
      try {
        skipVmstate(cur, device);
        // The described size ends the payload even where the footer after it is damaged (readFooter
        // reports it), or, without footers, where the next header is damaged (it is reported there).
        if (this.closesSection(cur.pos, e) || (this.footers === true && this.footerSlot(cur.pos, e) !== 'none') || (this.footers === false && this.damagedHeaderAt(cur.pos))) {
          e.delimitedBy = 'vmdesc';
          return;
        }
        described = cur.pos - payload;
        problem = `the ${described} bytes the vmdesc describes are not followed by ${this.footers === false ? 'a section header' : 'the section footer'}`;
      } catch (err) {
        if (!(err instanceof DesyncError) && !(err instanceof OutOfDataError)) throw err;
        problem = err instanceof DesyncError ? `${err.expected} was expected at ${hex(err.offset)}, found ${err.found}` : 'the described size runs past the end of the file';
      }
      cur.pos = payload;
      if (this.footers !== false && e.sectionId !== undefined) {
        const q = findFooter(this.source, payload, e.sectionId, { ...this.expectations(false), eofAnywhere: !this.vmdescLocation });
        const quirk = q >= 0 ? nullPointerArrayQuirk(this.source, payload, q - payload, device) : undefined;
        if (quirk) {
          // QEMU wrote this vmdesc wrongly, not the section: a warning naming the quirk.
          this.sink.warning('vmdesc-null-pointer-array', payload, {
            section: describeSection(e),
            expected: `the ${describedSize(device)} bytes the vmdesc describes`,
            found: `${q - payload} bytes up to the section footer at ${hex(q)}; the array ${JSON.stringify(quirk.field)} (${quirk.arrayLength} elements) is described with the size of its first element, a NULL pointer written as one byte 0x30 at ${hex(payload + quirk.offset)}`,
            message: `QEMU ≤ 9.x vmdesc quirk: the NULL-pointer array ${quirk.field} of ${e.idstr} is described as ${quirk.arrayLength} × 1 byte, so its fields are not decoded from the vmdesc`,
            hint: 'QEMU 10.0 fixed how it describes such arrays (type "nullptr"); the section itself is intact and QEMU loads it. It was delimited by its footer.',
          });
          cur.pos = q;
          e.delimitedBy = 'footer-scan';
          return;
        }
      }
      this.sink.error('vmdesc-size-mismatch', payload, {
        section: describeSection(e),
        expected: described >= 0 ? `the ${described} bytes the vmdesc describes` : 'the payload size the vmdesc describes',
        found: problem,
        message: `The vmdesc does not match the data of ${e.idstr}; fields are not decoded from it`,
        hint: 'The section or its vmdesc entry is damaged. QEMU ignores the vmdesc when loading, so if only the vmdesc is wrong the image still loads.',
      });
    }
    if (this.footers !== false && e.sectionId !== undefined) {
      // Without a vmdesc to pin QEMU_VM_EOF down, a footer followed by 0x00 ends the last section.
      const q = findFooter(this.source, payload, e.sectionId, { ...this.expectations(false), eofAnywhere: !this.vmdescLocation });
      // A footer with a damaged id or marker before it ends the section (readFooter reports it),
      // else the scan would run on to another section's footer. Unless a section header comes
      // first: then the footer is missing, and the header scan below ends the section there.
      const damaged = findDamagedFooter(this.source, payload, q < 0 ? this.source.size : q, e.sectionId, { ...this.expectations(true), iterableIds: new Set() });
      const header = damaged >= 0 ? findNextElement(this.source, payload, this.expectations(true)) : -1;
      const end = damaged >= 0 ? (header >= 0 && header < damaged ? -1 : damaged) : q;
      if (end >= 0) {
        cur.pos = end;
        e.delimitedBy = 'footer-scan';
        return;
      }
    }
    let q = findNextElement(this.source, payload, this.expectations(true));
    // A 0x00 as the file's last byte, in a stream with footers, after a section that has none:
    // the file was cut inside this section (its last byte happens to be zero), not ended there
    // by QEMU, which would have written the section's footer before QEMU_VM_EOF.
    if (q === this.source.size - 1 && this.footers === true && readBytes(this.source, q, 1)[0] === SectionType.EOF) q = -1;
    if (q < 0 && this.footers === true) {
      // No footer and nothing after it: the section runs into the end of the file.
      throw new OutOfDataError(payload, this.source.size - payload + 1, this.source.size);
    }
    if (q < 0) {
      throw new DesyncError(payload, 'section-not-delimited', `the end of section ${describeSection(e)}`, 'no footer and no following section header', 'Without a vmdesc or section footers the end of this section cannot be found, so the elements after it are not read; everything before it is shown.');
    }
    cur.pos = q;
    e.delimitedBy = 'header-scan';
    this.sink.warning('section-delimited-heuristically', payload, {
      section: describeSection(e),
      expected: 'a vmdesc entry or a section footer giving the end of the section',
      found: `neither; the next section header was found at ${hex(q)}`,
      message: `The end of ${e.idstr} was found by scanning for the next section header`,
      hint: 'The boundary is very likely right, but it is inferred, not described by the stream.',
    });
  }

  /** Does the section payload end at `at`? (its footer, or the next element when there are none). */
  private closesSection(at: number, e: StreamElement): boolean {
    if (this.footers !== false && this.footerAt(at, e.sectionId!)) return true;
    if (this.footers !== true) return at === this.source.size || isElementStart(this.source, at, this.expectations(false));
    return false;
  }

  /**
   * What sits where the footer of `e` should be: the footer; a footer with another section id
   * or a damaged marker byte (either followed by the next element); five damaged bytes and then
   * the next element; the next element itself (no footer at all); or none of these.
   */
  private footerSlot(at: number, e: StreamElement): 'footer' | 'wrong-id' | 'damaged-marker' | 'damaged' | 'missing' | 'none' {
    const b = readBytes(this.source, at, 5);
    const marker = b[0] === SectionType.FOOTER;
    const idMatches = b.length === 5 && (((b[1] << 24) | (b[2] << 16) | (b[3] << 8) | b[4]) >>> 0) === e.sectionId;
    if (marker && idMatches) return 'footer';
    if (!marker && isElementStart(this.source, at, this.expectations(false))) return 'missing';
    const next = at + 5;
    if (b.length < 5 || !(next === this.source.size || isElementStart(this.source, next, this.expectations(false)))) return 'none';
    return marker ? 'wrong-id' : idMatches ? 'damaged-marker' : 'damaged';
  }

  private footerAt(at: number, sectionId: number): boolean {
    const b = readBytes(this.source, at, 5);
    return b.length === 5 && b[0] === SectionType.FOOTER && (((b[1] << 24) | (b[2] << 16) | (b[3] << 8) | b[4]) >>> 0) === sectionId;
  }

  private readFooter(e: StreamElement): void {
    const cur = this.cur;
    if (this.footers === undefined) {
      // The first footer decides whether the stream has footers. One with a damaged id or marker
      // still does (a footer-less stream has the next element's header here): else one damaged
      // byte in the first footer would turn every later footer into an unknown element.
      const first = this.footerSlot(cur.pos, e);
      this.footers = first === 'footer' || first === 'wrong-id' || first === 'damaged-marker';
    }
    if (!this.footers) return;
    const at = cur.pos;
    const slot = this.footerSlot(at, e);
    // Where the footer must be (the end is known from the vmdesc or the records), five damaged bytes are it.
    const sizeKnown = e.delimitedBy === undefined || e.delimitedBy === 'vmdesc';
    if (slot === 'damaged-marker' || (slot === 'damaged' && sizeKnown)) {
      const bytes = readBytes(this.source, at, 5);
      e.damaged = true;
      e.footerOffset = at;
      this.sink.error('footer-missing', at, {
        length: slot === 'damaged' ? 5 : 1,
        section: describeSection(e),
        expected: `section footer 7e ${hex(e.sectionId!, 8)}`,
        found: slot === 'damaged' ? `${Array.from(bytes, (x) => hex(x, 2).slice(2)).join(' ')}, then the next element` : `${hex(bytes[0], 2)} ${hex(e.sectionId!, 8)}: the section id after a damaged marker byte`,
        message: slot === 'damaged' ? `The footer of ${e.idstr} is damaged` : `The footer of ${e.idstr} has a damaged marker byte`,
        hint: slot === 'damaged' ? 'QEMU rejects this ("Missing section footer"). The bytes where the footer should be are damaged, or the section data is longer or shorter than the vmdesc says.' : 'QEMU rejects this ("Missing section footer"). Repair can restore the marker.',
      });
      cur.skip(5);
      return;
    }
    if (cur.peekU8() !== SectionType.FOOTER) {
      e.damaged = true;
      this.sink.error('footer-missing', Math.min(at, this.source.size - 1), {
        section: describeSection(e),
        expected: `section footer 7e ${hex(e.sectionId!, 8)}`,
        found: at < this.source.size ? `byte ${hex(cur.peekU8(), 2)}` : 'the end of the file',
        message: `Missing section footer for ${e.idstr}`,
        hint: 'QEMU rejects this ("Missing section footer"). The section data or its end is damaged.',
      });
      return;
    }
    cur.skip(1);
    const sid = cur.be32();
    e.footerOffset = at;
    if (sid !== e.sectionId) {
      e.damaged = true;
      this.sink.error('footer-mismatch', at + 1, {
        length: 4,
        section: describeSection(e),
        expected: `section id ${e.sectionId}`,
        found: `section id ${sid}`,
        message: `Section footer of ${e.idstr} carries the wrong section id`,
        hint: 'QEMU rejects this ("Mismatched section id in footer"). Repair can restore the footer.',
      });
    }
  }

  private readCommand(start: number, raw: number): void {
    const cur = this.cur;
    const e = this.push('COMMAND', raw, start);
    const cmd = cur.be16();
    const len = cur.be16();
    e.cmd = cmd;
    e.cmdName = COMMAND_NAMES[cmd] ?? `UNKNOWN(${cmd})`;
    e.dataLength = len;
    if (cmd === 7 && len === 4) {
      // PACKAGED: a nested stream of the announced size follows the command.
      const nested = cur.be32();
      cur.skip(nested);
      this.sink.info('packaged-stream', start, {
        expected: 'a plain precopy stream',
        found: `a packaged (postcopy) stream of ${nested} bytes at ${hex(start + 9)}`,
        message: 'The nested packaged stream is shown as one element and not decoded',
      });
    } else {
      cur.skip(len);
    }
    if (COMMAND_NAMES[cmd] === undefined) {
      this.sink.warning('unknown-command', start, {
        expected: 'a known QEMU_VM_COMMAND (0-11)',
        found: `command ${cmd}, ${len} bytes`,
        message: `Unknown migration command ${cmd} skipped`,
      });
    }
    e.length = cur.pos - start;
  }

  // ---------------------------------------------------------------- end of stream

  /** Handles QEMU_VM_EOF; returns false if it turned out to be a stray byte inside the stream. */
  /** `raw` is the type byte as read: a damaged one (recovered as EOF) stays visible to repair. */
  private readEof(start: number, raw: number): boolean {
    const cur = this.cur;
    const loc = this.vmdescLocation;
    const after = start + 1;
    if ((!loc || loc.offset > after) && isElementStart(this.source, after, this.expectations(true))) {
      this.sink.error('stray-eof', start, {
        length: 1,
        expected: loc ? `QEMU_VM_EOF right before the vmdesc at ${hex(loc.offset)}` : 'QEMU_VM_EOF after the last section',
        found: 'a 0x00 type byte followed by more sections',
        message: 'A section type byte reads as QEMU_VM_EOF in the middle of the stream',
        hint: 'QEMU would stop loading here. Repair can restore the section type.',
      });
      return false;
    }
    const e = this.push('EOF', raw, start);
    e.length = 1;
    this.sawEof = true;
    if (loc && loc.offset > after) {
      this.sink.warning('data-before-vmdesc', after, {
        length: loc.offset - after,
        expected: `the vmdesc (0x06) right after QEMU_VM_EOF`,
        found: `${loc.offset - after} other bytes first (starting with ${hex(readBytes(this.source, after, 1)[0] ?? 0, 2)})`,
        message: 'Unknown data between QEMU_VM_EOF and the vmdesc',
        hint: 'QEMU prints "Expected vmdescription section" and ignores the rest; the device state still loads.',
      });
      const gap = this.push('UNKNOWN', readBytes(this.source, after, 1)[0] ?? 0, after);
      gap.length = loc.offset - after;
    }
    if (loc && loc.offset >= after) {
      const v = this.push('VMDESCRIPTION', SectionType.VMDESCRIPTION, loc.offset);
      v.jsonOffset = loc.jsonOffset;
      v.jsonLength = loc.jsonLength;
      v.length = Math.min(5 + loc.jsonLength, this.source.size - loc.offset);
      if (this.vmdesc?.configuration) v.hasConfiguration = true;
      if (!loc.complete) v.damaged = true;
      cur.pos = loc.offset + v.length;
    } else if (loc) {
      this.sink.error('walk-desync', start, {
        expected: `QEMU_VM_EOF right before the vmdesc at ${hex(loc.offset)}`,
        found: `QEMU_VM_EOF at ${hex(start)}, after the vmdesc's position`,
        message: 'The sections did not end where the vmdesc begins',
        hint: 'Some section was delimited wrongly; its diagnostics above say which.',
      });
      cur.pos = after;
    } else {
      cur.pos = after;
      if (after < this.source.size && readBytes(this.source, after, 1)[0] === SectionType.VMDESCRIPTION) {
        this.sink.error('vmdesc-unreadable', after, {
          section: 'vmdesc',
          expected: 'a vmdesc record (0x06, be32 length, JSON)',
          found: 'a 0x06 byte whose length or JSON is not valid',
          message: 'The vmdesc after QEMU_VM_EOF could not be read',
        });
      } else if (after === this.source.size) {
        this.sink.info('no-vmdesc', start, {
          expected: 'a vmdesc after QEMU_VM_EOF',
          found: 'none (machine property suppress-vmdesc, Xen, or postcopy)',
          message: 'The stream has no vmdesc, so device sections are shown as raw bytes',
          hint: 'To decode their fields, borrow the vmdesc of a sibling image saved by the same QEMU with the same machine type and devices: migwb dump IMAGE --vmdesc-from SIBLING.',
        });
      }
    }
    if (cur.pos < this.source.size) {
      this.trailing = { offset: cur.pos, length: this.source.size - cur.pos };
      this.sink.warning('trailing-data', cur.pos, {
        length: this.source.size - cur.pos,
        expected: 'the end of the file after the stream',
        found: `${this.source.size - cur.pos} more bytes`,
        message: 'Data follows the end of the migration stream',
        hint: 'QEMU ignores it, but analyze-migration.py fails on it. It may be a section directory or leftover data.',
      });
    }
    return true;
  }

  /**
   * A complete stream without any vCPU state loads in QEMU, but the guest restarts from
   * reset: what a cut file ended by a repair without a donor looks like. Says so, with the
   * guest pages the stream never sent.
   */
  private checkCpuState(): void {
    const fulls = this.elements.filter((e) => e.type === 'FULL');
    if (fulls.some((e) => e.idstr === CPU_IDSTR)) return;
    // A stream with errors is refused by QEMU anyway, and its errors say why (a damaged "cpu"
    // header is reported as such): this is for a stream that loads.
    if (this.sink.items.some((d) => d.severity === 'error')) return;
    const eof = this.elements.find((e) => e.type === 'EOF')!;
    this.sink.warning('no-cpu-state', eof.offset, {
      expected: 'a "cpu" section for each vCPU, as QEMU writes for every machine',
      found: [
        fulls.length ? `${fulls.length} device section${fulls.length === 1 ? '' : 's'}, none of them "cpu"` : 'no device sections at all',
        ...pagesNotSent(this).map((b) => `${describeNotSent(b)} never sent`),
      ].join('; '),
      message: 'The stream holds no CPU state: QEMU loads it, but the guest cannot resume as it was (its vCPUs and missing devices start from reset)',
      hint: 'This is what a cut image ended by a repair without a donor looks like. Repair the cut original with --donor (an intact save of the same VM configuration) to take the lost sections and pages from it.',
    });
  }

  // ---------------------------------------------------------------- damage

  /**
   * An unknown type byte: if a valid type one or two bits away makes the bytes after it a
   * plausible element (the usual result of a flipped bit), read it as that type.
   */
  private recoverTypeByte(start: number, raw: number): number | undefined {
    const found = this.plausibleType(start, raw);
    if (!found) return undefined;
    const { type: t, what } = found;
    this.sink.error('damaged-section-type', start, {
      length: 1,
      expected: `section type ${hex(t, 2)} (${SECTION_TYPE_NAMES[t]})`,
      found: `${hex(raw, 2)}`,
      message: `Unknown section type ${hex(raw, 2)}; ${what}, so it is read as ${SECTION_TYPE_NAMES[t]}`,
      hint: `${SECTION_TYPE_NAMES[raw] === undefined || (raw >= SectionType.VMDESCRIPTION && raw <= SectionType.CONFIGURATION) ? `QEMU rejects this ("Unknown savevm section type ${raw}")` : `QEMU reads this as ${SECTION_TYPE_NAMES[raw]} and fails on what follows`}. Repair can restore the type byte.`,
    });
    return t;
  }

  /** The valid type one or two bits away from `raw` that makes the bytes after `start` a plausible element. */
  private plausibleType(start: number, raw: number): { type: number; what: string } | undefined {
    const candidates = [SectionType.FULL, SectionType.START, SectionType.PART, SectionType.END, SectionType.COMMAND, SectionType.EOF]
      .filter((t) => t !== raw && popcount(t ^ raw) <= 2)
      .sort((a, b) => popcount(a ^ raw) - popcount(b ^ raw));
    const x = this.expectations(true);
    const head = readBytes(this.source, start, 270);
    for (const t of candidates) {
      let ok = false;
      let what = '';
      if (t === SectionType.FULL || t === SectionType.START) {
        const h: SectionHeader | undefined = headerIn(head, 0, t);
        ok = !!h && x.acceptHeader!(h);
        if (h) what = `the header of ${JSON.stringify(h.idstr)} instance ${h.instanceId} follows`;
      } else if (t === SectionType.PART || t === SectionType.END) {
        const sid = head.length >= 5 ? ((head[1] << 24) | (head[2] << 16) | (head[3] << 8) | head[4]) >>> 0 : -1;
        ok = x.iterableIds.has(sid);
        what = `section id ${sid} of an open iterable section follows`;
      } else if (t === SectionType.EOF) {
        ok = x.vmdescOffset === start + 1;
        what = 'the vmdesc follows';
      } else {
        const cmd = head.length >= 3 ? (head[1] << 8) | head[2] : -1;
        ok = cmd >= 1 && cmd <= 11;
        what = `command ${cmd} follows`;
      }
      if (ok) return { type: t, what };
    }
    return undefined;
  }

  /**
   * Without section footers, the next section header follows a section directly. When the
   * vmdesc's size of a section ends where a header with one damaged field starts (a type
   * byte a bit or two away from a valid one, or a FULL header whose name is a byte or two
   * away from the section the vmdesc lists next), the size is right and the damage is in
   * that header: it is reported and repaired there, instead of being swallowed by a scan.
   */
  private damagedHeaderAt(at: number): boolean {
    const raw = readBytes(this.source, at, 1)[0];
    if (raw === undefined) return false;
    if (SECTION_TYPE_NAMES[raw] === undefined || raw === SectionType.VMDESCRIPTION || raw === SectionType.CONFIGURATION) return this.plausibleType(at, raw) !== undefined;
    const next = this.vmdesc?.devices[this.nextDevice];
    if (raw !== SectionType.FULL || !next) return false;
    const head = readBytes(this.source, at, 6 + next.name.length + 8);
    if (head.length < 6 + next.name.length + 8 || head[5] !== next.name.length) return false;
    const p = 6 + next.name.length;
    const instanceId = ((head[p] << 24) | (head[p + 1] << 16) | (head[p + 2] << 8) | head[p + 3]) >>> 0;
    const versionId = ((head[p + 4] << 24) | (head[p + 5] << 16) | (head[p + 6] << 8) | head[p + 7]) >>> 0;
    if (instanceId !== next.instance_id || (next.version !== undefined && versionId !== next.version)) return false;
    let differing = 0;
    for (let k = 0; k < next.name.length; k++) if (head[6 + k] !== next.name.charCodeAt(k)) differing++;
    return differing > 0 && differing <= 2;
  }

  /** Records a desync, then continues at the next plausible element. */
  private desync(err: DesyncError, element: StreamElement | undefined): void {
    if (element) element.damaged = true;
    const start = element?.offset ?? err.offset;
    this.sink.error(err.code, Math.min(err.offset, this.source.size - 1), {
      section: element ? describeSection(element) : undefined,
      expected: err.expected,
      found: err.found,
      message: `Cannot read ${element ? describeSection(element) : 'the stream'} past ${hex(err.offset)}: expected ${err.expected}`,
      hint: err.hint,
    });
    this.skipTo(start, element);
  }

  /** Unknown type byte at `start`: diagnose, then skip to the next plausible element. */
  private resync(start: number, code: string, expected: string, found: string): void {
    this.sink.error(code, start, {
      length: 1,
      expected,
      found,
      message: `Unknown section type ${found.replace('byte ', '')} at ${hex(start)}`,
      hint: 'QEMU rejects this ("Unknown savevm section type"). The parser skipped to the next recognisable section.',
    });
    const e = this.push('UNKNOWN', readBytes(this.source, start, 1)[0] ?? 0, start);
    e.damaged = true;
    this.skipTo(start, e);
  }

  private skipTo(start: number, element: StreamElement | undefined): void {
    const next = findNextElement(this.source, start + 1, this.expectations(true));
    const end = next < 0 ? this.source.size : next;
    if (element) element.length = end - element.offset;
    if (next < 0) {
      this.sink.error('no-resync', start, {
        length: this.source.size - start,
        expected: 'another recognisable section after the damage',
        found: 'none up to the end of the file',
        message: `The last ${this.source.size - start} bytes could not be parsed`,
      });
    } else {
      this.sink.info('resynchronised', next, {
        expected: 'a section header',
        found: `one at ${hex(next)}, ${next - start} bytes after the damage`,
        message: `Parsing resumed at ${hex(next)}`,
      });
    }
    this.cur.pos = end;
  }

  private truncated(err: OutOfDataError): void {
    // The element being read when the data ran out has not had its length set yet.
    const last = this.elements[this.elements.length - 1];
    const open = last && last.length === 0 ? last : undefined;
    if (open) {
      open.damaged = true;
      open.length = this.source.size - open.offset;
    }
    const missing = [
      open ? `the rest of ${open.type} ${describeSection(open)}` : undefined,
      this.sawEof ? undefined : 'any later sections and QEMU_VM_EOF',
      this.vmdescLocation || this.sawEof ? undefined : 'the vmdesc',
    ].filter(Boolean);
    this.sink.error('truncated', Math.max(0, Math.min(err.offset, this.source.size - 1)), {
      section: open ? describeSection(open) : undefined,
      expected: `${err.needed} bytes at ${hex(err.offset)}`,
      found: `the file ends at ${hex(this.source.size)}`,
      message: `The file ends inside ${open ? `${open.type} ${describeSection(open)}` : 'the stream'}; missing from ${hex(Math.min(err.offset, this.source.size))}: ${missing.join(', ') || 'the end of the element'}`,
      hint: 'The image was cut short (interrupted save or copy). Repair can end the stream after the last complete section, or take the missing sections from a donor image of the same VM.',
    });
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}
