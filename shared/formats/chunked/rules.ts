import { DiagnosticSink, hex } from '../../diagnostics';
import { carriesStream, chunkProperties, describeProperties, knownChunkType, type ChunkTypeRow } from './chunk-types';
import { FORMAT_MAJOR } from './header';
import type { ChunkRecord } from './layer';
import { crcOk } from './layer';

/**
 * The container's rules (docs/chunked-container.md §6), checked chunk by chunk in file order,
 * for the random-access reader and the streaming unpacker alike. Each break is a diagnostic
 * at the chunk's file offset; nothing stops the walk.
 */
export class ChunkRules {
  private count = 0;
  private sawHeader = false;
  private sawEnd = false;
  private sawStream = false;
  private previous?: ChunkRecord;
  private afterStreamEnd?: ChunkRecord;
  private readonly once = new Set<string>();

  constructor(private readonly sink: DiagnosticSink) {}

  /** Checks one chunk; `leading` holds the first bytes of its data (for the type-byte check). */
  check(c: ChunkRecord, leading: Uint8Array): void {
    const row = knownChunkType(c.type);
    const p = chunkProperties(c.type);
    const at = hex(c.offset);
    if (this.count++ === 0 && c.type !== 'MHDR') {
      this.sink.error('chunked-header-not-first', c.offset, {
        expected: 'the MHDR chunk right after the signature',
        found: `${c.type} chunk`,
        message: 'The container does not start with its header chunk',
        hint: 'The first chunk was damaged or removed; the chunks after it are still read.',
      });
    }
    if (this.sawEnd) return;
    if (!p.reservedClear) {
      this.sink.error('chunked-reserved-bit', c.offset + 6, {
        length: 1,
        expected: 'an uppercase third letter (the reserved bit clear)',
        found: `chunk type ${c.type}`,
        message: `Chunk ${c.type} at ${at} has the reserved bit set: it is no chunk of this version of the format`,
        hint: p.critical ? 'It is critical, so the file cannot be read correctly; it may be damaged or made by a later version.' : 'It is ancillary and is ignored.',
      });
    }
    if (!row || !p.reservedClear) this.unknown(c, p.critical, p.public);
    else this.known(c, row, leading);
    this.previous = c;
  }

  /** The walk reached the end of the file. */
  finish(fileSize: number): void {
    if (!this.sawHeader && this.count === 0) {
      this.sink.error('chunked-no-chunks', Math.max(0, fileSize - 1), {
        expected: 'chunks after the signature',
        found: 'none',
        message: 'The container holds no chunks',
      });
    }
    if (!this.sawEnd) {
      this.sink.error('chunked-end-missing', Math.max(0, fileSize - 1), {
        expected: 'the MEND chunk as the last chunk',
        found: 'the end of the file',
        message: 'The container has no end chunk: the file was cut short or its end is damaged',
        hint: 'Everything up to the damage is still read. If the stream is complete, "migwb unpack --force" writes it.',
      });
    }
  }

  private unknown(c: ChunkRecord, critical: boolean, isPublic: boolean): void {
    if (critical) {
      this.sink.error('chunked-unknown-critical', c.offset, {
        length: 8 + c.present,
        expected: 'critical chunks this version knows (MHDR, QEVM, CONF, STRT, PART, ENDS, FULL, CMND, QEOF, MORE, DATA, MEND)',
        found: `critical chunk ${c.type} of ${c.length} bytes`,
        message: `cannot be loaded: unknown critical chunk ${c.type} at ${hex(c.offset)}`,
        hint: 'A reader must understand every critical chunk, so this file cannot be loaded as it is (migwb unpack refuses it). The stream shown is made of the chunks that are known; delete the chunk only if you know what it held.',
      });
    } else if (isPublic) {
      this.sink.warning('chunked-reserved-type', c.offset, {
        expected: 'a public ancillary chunk type of this version',
        found: `${c.type} (${describeProperties(chunkProperties(c.type))})`,
        message: `Ancillary chunk ${c.type} at ${hex(c.offset)} is of a public type this version does not define (a later version's?); it is ignored`,
      });
    } else {
      this.sink.info('chunked-private-chunk', c.offset, {
        expected: 'a chunk type this version defines',
        found: `private ancillary chunk ${c.type} (${describeProperties(chunkProperties(c.type))})`,
        message: `Private chunk ${c.type} at ${hex(c.offset)} is ignored`,
      });
    }
  }

  private known(c: ChunkRecord, row: ChunkTypeRow, leading: Uint8Array): void {
    const at = hex(c.offset);
    if (row.once) {
      if (this.once.has(c.type)) {
        this.sink[row.role === 'header' || row.role === 'end' ? 'error' : 'warning']('chunked-duplicate', c.offset, {
          expected: `one ${c.type} chunk`,
          found: `another at ${at}`,
          message: `A second ${c.type} chunk at ${at}; the first one is used`,
        });
      }
      this.once.add(c.type);
    }
    if (row.role === 'header') this.sawHeader = true;
    if (row.role === 'end') {
      this.sawEnd = true;
      return;
    }
    if (!carriesStream(row.role)) return;
    const prev = this.previous;
    if (!this.sawStream && c.type !== 'QEVM') {
      this.sink.error('chunked-stream-start', c.offset, {
        expected: 'the stream to start with a QEVM chunk (magic and file version)',
        found: `${c.type} chunk`,
        message: 'The first stream chunk is not the stream header',
        hint: 'The QEVM chunk is missing or damaged.',
      });
    }
    this.sawStream = true;
    const continues = row.role === 'continuation' || (row.role === 'after-stream' && prev?.type === c.type);
    if (row.role === 'continuation' && (!prev || !carriesStream(knownChunkType(prev.type)?.role ?? 'about'))) {
      this.sink.error('chunked-orphan-continuation', c.offset, {
        expected: 'MORE right after the stream chunk it continues',
        found: prev ? `it follows ${prev.type} at ${hex(prev.offset)}` : 'it follows nothing',
        message: `MORE chunk at ${at} continues no stream chunk`,
        hint: 'Its data is still read as the next stream bytes.',
      });
    }
    if (row.role === 'after-stream') this.afterStreamEnd ??= c;
    else if (this.afterStreamEnd && row.role !== 'continuation') {
      this.sink.error('chunked-order', c.offset, {
        expected: `no critical stream chunk after ${this.afterStreamEnd.type} at ${hex(this.afterStreamEnd.offset)}, which lies past the stream's end`,
        found: `${c.type} chunk`,
        message: `Critical stream chunk ${c.type} at ${at} comes after the end of the stream`,
      });
    }
    if (!continues && row.leadingBytes && crcOk(c) !== false && c.present > 0) {
      const want = row.leadingBytes;
      const got = leading.subarray(0, want.length);
      if (got.length < want.length || want.some((b, i) => got[i] !== b)) {
        this.sink.error('chunked-type-mismatch', c.offset + 8, {
          length: want.length,
          expected: `a ${c.type} chunk's data to start with ${hexBytes(want)} (${row.title})`,
          found: hexBytes(got),
          message: `Chunk ${c.type} at ${at} holds something else than its type says`,
          hint: 'Its CRC is right, so the writer made it this way; the stream inside is read as it is.',
        });
      }
    }
  }
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ') || 'no bytes';
}

/** The CRC diagnostic: what the chunk holds, both CRCs, and that the rest still reads. */
export function crcMismatch(sink: DiagnosticSink, c: ChunkRecord): void {
  const holds = c.stream !== undefined ? ` (stream bytes ${hex(c.stream)}–${hex(c.stream + c.present)})` : '';
  sink.error('chunked-crc', c.offset + 8 + c.present, {
    length: 4,
    section: c.key,
    expected: `CRC-32 ${hex(c.computedCrc!, 8)} (computed over the chunk's type and data)`,
    found: `${hex(c.storedCrc!, 8)} stored`,
    message: `${c.type} chunk at ${hex(c.offset)}${holds} is damaged: its CRC does not match`,
    hint: `Something in ${c.key}${c.detail ? ` (${c.detail})` : ''} changed after it was written; every other chunk is unaffected. Replace or repair what it holds, or recompute its CRC once you have checked it.`,
  });
}

/** The header's version. */
export function checkHeaderVersion(sink: DiagnosticSink, c: ChunkRecord, major: number, minor: number): void {
  if (major !== FORMAT_MAJOR) {
    sink.error('chunked-version', c.offset + 8, {
      length: 2,
      expected: `format version ${FORMAT_MAJOR}.x`,
      found: `version ${major}.${minor}`,
      message: `The container is of format version ${major}.${minor}, which this version cannot read`,
      hint: 'A later version of migwb may read it.',
    });
  }
}
