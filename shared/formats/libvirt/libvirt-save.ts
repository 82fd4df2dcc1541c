import { latin1Decode, utf8Decode } from '../../util/text-bytes';
import { DiagnosticSink, hex } from '../../diagnostics';
import { readBytes, type ByteSource } from '../../io/byte-source';
import type { ParsedContainer } from '../container-model';
import { headerFieldsOf, layoutField, readHeaderFields, readUint } from '../field-table';
import { be32 } from '../../io/bytes';
import { QEVM_MAGIC } from '../qemu-stream/constants';
import { LIBVIRT_HEADER, LIBVIRT_MAGIC_PART, LIBVIRT_MAGIC_SAVE, LIBVIRT_NEWEST_VERSION } from './header';
import type { LibvirtCompression, LibvirtSaveLayer } from './layer';
import { LZOP_MAGIC } from './lzop';

/**
 * libvirt's QEMU save image (`virsh save`, managedsave), qemu_saveimage.h/.c:
 *
 *   [0, 92)            virQEMUSaveHeader (LIBVIRT_HEADER)
 *   [92, 92+xml_len)   domain XML + NUL (xml_len = cookieOffset, or data_len without cookie)
 *   […, 92+data_len)   save cookie XML + NUL, then zero padding (64 KiB of slack)
 *   [92+data_len, EOF) the QEMU migration stream, raw or compressed whole by `format`
 */
export const LIBVIRT_HEADER_SIZE = LIBVIRT_HEADER.size;
/** The XML and cookie are a few kilobytes; never decode more than this from a damaged length. */
const MAX_TEXT = 16 << 20;

const MAGIC = layoutField(LIBVIRT_HEADER, 'magic');
const VERSION = layoutField(LIBVIRT_HEADER, 'version');
const DATA_LEN = layoutField(LIBVIRT_HEADER, 'data_len');
const FORMAT = layoutField(LIBVIRT_HEADER, 'format');
const COOKIE_OFFSET = layoutField(LIBVIRT_HEADER, 'cookieOffset');
/** The unused words: from the end of the last field to the end of the header. */
const UNUSED_FROM = Math.max(...LIBVIRT_HEADER.fields.map((f) => f.offset + f.size));

export const LIBVIRT_COMPRESSIONS: readonly LibvirtCompression[] = ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'];

/** The first bytes each compressor writes, to check `format` against the data. */
export const COMPRESSION_MAGIC: Readonly<Record<Exclude<LibvirtCompression, 'sparse'>, Uint8Array>> = {
  raw: be32(QEVM_MAGIC),
  gzip: Uint8Array.of(0x1f, 0x8b),
  bzip2: Uint8Array.of(0x42, 0x5a, 0x68), // "BZh"
  xz: Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00),
  lzop: LZOP_MAGIC,
  zstd: Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd),
};

/** Which compressor's magic `head` starts with, if any. */
export function sniffCompression(head: Uint8Array): Exclude<LibvirtCompression, 'sparse'> | undefined {
  for (const [name, magic] of Object.entries(COMPRESSION_MAGIC)) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name as Exclude<LibvirtCompression, 'sparse'>;
  }
  return undefined;
}

/** Parses the libvirt wrapper; never throws on bad input (every problem is a diagnostic). */
export function parseLibvirtSave(file: ByteSource): ParsedContainer<LibvirtSaveLayer> {
  const sink = new DiagnosticSink();
  const head = readBytes(file, 0, LIBVIRT_HEADER_SIZE);
  const magic = latin1Decode(head.subarray(MAGIC.offset, MAGIC.offset + MAGIC.size));
  const complete = magic !== LIBVIRT_MAGIC_PART;
  if (!complete) {
    sink.error('libvirt-save-incomplete', MAGIC.offset, {
      length: MAGIC.size,
      expected: `magic "${LIBVIRT_MAGIC_SAVE}"`,
      found: `"${LIBVIRT_MAGIC_PART}"`,
      message: 'Unfinished libvirt save image: libvirt had not finished writing it',
      hint: 'libvirt writes "Part" first and rewrites the magic when QEMU has finished; the save was interrupted, so the QEMU stream is probably cut short. virsh restore refuses it ("save image is incomplete").',
    });
  } else if (magic !== LIBVIRT_MAGIC_SAVE) {
    sink.error('libvirt-bad-magic', MAGIC.offset, { length: MAGIC.size, expected: `magic "${LIBVIRT_MAGIC_SAVE}"`, found: JSON.stringify(magic), message: 'Not a libvirt save image header' });
  }
  if (head.length < LIBVIRT_HEADER_SIZE) {
    sink.error('libvirt-header-truncated', 0, {
      length: head.length,
      expected: `a ${LIBVIRT_HEADER_SIZE}-byte header`,
      found: `${head.length} bytes`,
      message: 'The file ends inside the libvirt header',
      hint: 'virsh says "failed to read qemu header"; nothing of the domain or its memory survives.',
    });
  }
  const padded = new Uint8Array(LIBVIRT_HEADER_SIZE);
  padded.set(head);
  // libvirt reads the header natively and byte-swaps it when the version is too large:
  // a header written on the other byte order has its version in the other end of the word.
  const known = (v: number) => v >= 1 && v <= LIBVIRT_NEWEST_VERSION;
  const little = known(readUint(padded, VERSION, true)) || !known(readUint(padded, VERSION, false));
  const version = readUint(padded, VERSION, little);
  if (!known(version)) {
    sink.error('libvirt-version', VERSION.offset, {
      length: VERSION.size,
      expected: `header version 1 or ${LIBVIRT_NEWEST_VERSION} (in either byte order)`,
      found: `${version}`,
      message: `Unknown libvirt save header version ${version}; reading it as version ${LIBVIRT_NEWEST_VERSION}`,
      hint: 'virsh rejects this ("image version is not supported"); the version word is damaged or the image comes from a newer libvirt.',
    });
  }
  const values = readHeaderFields(padded, LIBVIRT_HEADER, little, known(version) ? version : LIBVIRT_NEWEST_VERSION);
  const dataLen = values.data_len;
  const wasRunning = values.was_running;
  // Fields a version 1 header lacks (format, cookieOffset) read as zero.
  const formatCode = values.format ?? 0;
  const cookieOffset = values.cookieOffset ?? 0;
  const compression: LibvirtSaveLayer['compression'] = formatCode < LIBVIRT_COMPRESSIONS.length ? LIBVIRT_COMPRESSIONS[formatCode] : 'unknown';
  const fields = headerFieldsOf(LIBVIRT_HEADER.fields, (f) => (f.name === 'magic' ? (complete ? 1 : 0) : values[f.name] ?? 0));
  if (compression === 'unknown') {
    sink.error('libvirt-format', FORMAT.offset, {
      length: FORMAT.size,
      expected: `a format code 0-${LIBVIRT_COMPRESSIONS.length - 1} (${LIBVIRT_COMPRESSIONS.join(', ')})`,
      found: `${formatCode}`,
      message: `Unknown compression format ${formatCode} in the libvirt header`,
      hint: 'virsh restore refuses it ("Invalid compressed save format"); the data after the header is examined to guess the real format.',
    });
  }
  const nonZeroUnused = padded.subarray(UNUSED_FROM).some((b) => b !== 0);
  if (nonZeroUnused) {
    sink.warning('libvirt-unused-nonzero', UNUSED_FROM, {
      length: LIBVIRT_HEADER_SIZE - UNUSED_FROM,
      expected: 'zero in the 14 unused header words',
      found: 'non-zero bytes',
      message: 'The unused part of the libvirt header is not zero',
      hint: 'A newer libvirt may use these words, or the header is damaged.',
    });
  }

  const streamOffset = LIBVIRT_HEADER_SIZE + dataLen;
  if (streamOffset > file.size) {
    sink.error('libvirt-data-len', DATA_LEN.offset, {
      length: DATA_LEN.size,
      expected: `data_len within the file (at most ${Math.max(0, file.size - LIBVIRT_HEADER_SIZE)})`,
      found: `${dataLen}`,
      message: 'The libvirt header says the XML area ends past the end of the file',
      hint: 'The file is truncated or data_len is damaged; there is no QEMU stream to read.',
    });
  }
  const xmlLength = Math.min(cookieOffset || dataLen, dataLen);
  if (cookieOffset > dataLen) {
    sink.error('libvirt-cookie-offset', COOKIE_OFFSET.offset, {
      length: COOKIE_OFFSET.size,
      expected: `cookieOffset at most data_len (${dataLen})`,
      found: `${cookieOffset}`,
      message: 'The cookie offset points past the XML area',
    });
  }
  const areaEnd = Math.min(streamOffset, file.size);
  const xml = readText(file, LIBVIRT_HEADER_SIZE, Math.min(xmlLength, areaEnd - LIBVIRT_HEADER_SIZE));
  if (xml && !xml.terminated) {
    sink.warning('libvirt-xml-unterminated', LIBVIRT_HEADER_SIZE, {
      length: xml.length,
      expected: 'the domain XML ended by a NUL byte',
      found: `no NUL in ${xml.length} bytes`,
      message: 'The domain XML is not NUL-terminated',
    });
  } else if (xml && !/^\s*<domain[\s>]/.test(xml.text)) {
    sink.warning('libvirt-xml', LIBVIRT_HEADER_SIZE, {
      length: xml.length,
      expected: 'a <domain> XML document',
      found: JSON.stringify(xml.text.slice(0, 40)),
      message: 'The XML area does not start with a <domain> element',
      hint: 'virsh save-image-dumpxml would fail to parse it; the XML area is damaged.',
    });
  }
  const cookieStart = LIBVIRT_HEADER_SIZE + cookieOffset;
  const cookie = cookieOffset > 0 && cookieStart < areaEnd ? readText(file, cookieStart, areaEnd - cookieStart) : undefined;
  const paddingStart = cookie ? cookieStart + cookie.length : LIBVIRT_HEADER_SIZE + (xml?.length ?? 0);
  const padding = paddingStart < areaEnd ? { offset: paddingStart, length: areaEnd - paddingStart, nonZeroBytes: countNonZero(file, paddingStart, areaEnd - paddingStart) } : undefined;
  if (padding && padding.nonZeroBytes > 0) {
    sink.info('libvirt-padding-nonzero', padding.offset, {
      length: padding.length,
      expected: 'zero padding after the XML and cookie',
      found: `${padding.nonZeroBytes} non-zero bytes`,
      message: 'The slack after the domain XML holds data',
      hint: 'Left over from a longer XML rewritten in place by virsh save-image-define, or damage.',
    });
  }

  const stream = { offset: streamOffset, length: Math.max(0, file.size - streamOffset) };
  const storedAs = stream.length > 0 ? checkStreamStart(file, stream.offset, compression, sink) : compression;
  if (stream.length === 0 && streamOffset <= file.size) {
    sink.error('libvirt-no-stream', Math.max(0, file.size - 1), {
      expected: 'a QEMU migration stream after the XML area',
      found: 'the end of the file',
      message: 'The libvirt save image holds no QEMU stream',
      hint: complete ? 'The file was cut after the header.' : 'The save was interrupted before QEMU wrote anything.',
    });
  }
  return {
    layer: {
      kind: 'libvirt-save',
      complete,
      byteOrder: little ? 'little' : 'big',
      header: { offset: 0, length: LIBVIRT_HEADER_SIZE, fields },
      version,
      wasRunning: wasRunning !== 0,
      compression,
      formatCode,
      storedAs,
      xml: xml && { offset: LIBVIRT_HEADER_SIZE, length: xml.length, text: xml.text },
      cookie: cookie && { offset: cookieStart, length: cookie.length, text: cookie.text },
      padding,
      stream,
    },
    diagnostics: sink.finish(file.size),
  };
}

/** The stored stream must start as its compressor (or QEMU) writes it. */
function checkStreamStart(file: ByteSource, offset: number, compression: LibvirtSaveLayer['compression'], sink: DiagnosticSink): LibvirtSaveLayer['storedAs'] {
  const head = readBytes(file, offset, 16);
  const actual = sniffCompression(head);
  const expected = compression === 'sparse' ? 'raw' : compression;
  if (actual === expected) return compression;
  const found = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  sink.error('libvirt-stream-start', offset, {
    length: 8,
    expected: expected === 'unknown' ? 'a QEMU stream or a known compressor' : `${expected === 'raw' ? 'a QEMU stream ("QEVM")' : `${expected} data`} at ${hex(offset)}`,
    found: actual ? `${actual === 'raw' ? 'a QEMU stream' : `${actual} data`} (${found})` : found,
    message: actual ? `The header says ${expected}, but the stream is ${actual === 'raw' ? 'uncompressed' : actual}` : 'The data after the XML area is neither a QEMU stream nor compressed data libvirt writes',
    hint: actual ? `It is read as ${actual}. Repair can set the header's format field to match.` : 'data_len is damaged or the stream was overwritten.',
  });
  return actual ?? compression;
}

function readText(file: ByteSource, offset: number, max: number): { text: string; length: number; terminated: boolean } | undefined {
  if (max <= 0) return undefined;
  const bytes = readBytes(file, offset, Math.min(max, MAX_TEXT));
  const nul = bytes.indexOf(0);
  const end = nul < 0 ? bytes.length : nul;
  return { text: utf8Decode(bytes.subarray(0, end)), length: nul < 0 ? bytes.length : nul + 1, terminated: nul >= 0 };
}

function countNonZero(file: ByteSource, offset: number, length: number): number {
  const chunk = new Uint8Array(Math.min(length, 1 << 20));
  let n = 0;
  for (let done = 0; done < length; ) {
    const got = file.readInto(chunk, 0, Math.min(chunk.length, length - done), offset + done);
    if (got <= 0) break;
    for (let i = 0; i < got; i++) if (chunk[i] !== 0) n++;
    done += got;
  }
  return n;
}
