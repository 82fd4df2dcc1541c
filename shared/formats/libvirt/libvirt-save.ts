import { strFromU8 } from 'fflate';
import { DiagnosticSink, hex } from '../../diagnostics';
import { readBytes, type ByteSource } from '../../io/byte-source';
import type { HeaderField, LibvirtCompression, LibvirtSaveLayer, ParsedContainer } from '../container-model';

/**
 * libvirt's QEMU save image (`virsh save`, managedsave), qemu_saveimage.h/.c:
 *
 *   [0, 92)            virQEMUSaveHeader: magic[16], then five u32 in the saving host's
 *                      byte order (version, data_len, was_running, format, cookieOffset)
 *                      and 14 unused u32
 *   [92, 92+xml_len)   domain XML + NUL (xml_len = cookieOffset, or data_len without cookie)
 *   […, 92+data_len)   save cookie XML + NUL, then zero padding (64 KiB of slack)
 *   [92+data_len, EOF) the QEMU migration stream, raw or compressed whole by `format`
 */
export const LIBVIRT_HEADER_SIZE = 92;
const MAGIC_SAVE = 'LibvirtQemudSave';
const MAGIC_PART = 'LibvirtQemudPart';
/** The newest header version (QEMU_SAVE_VERSION); libvirt byte-swaps a header whose version is larger. */
const NEWEST_VERSION = 2;
/** The XML and cookie are a few kilobytes; never decode more than this from a damaged length. */
const MAX_TEXT = 16 << 20;

export const LIBVIRT_COMPRESSIONS: readonly LibvirtCompression[] = ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'];

/** The first bytes each compressor writes, to check `format` against the data. */
export const COMPRESSION_MAGIC: Readonly<Record<Exclude<LibvirtCompression, 'sparse'>, number[]>> = {
  raw: [0x51, 0x45, 0x56, 0x4d], // "QEVM"
  gzip: [0x1f, 0x8b],
  bzip2: [0x42, 0x5a, 0x68], // "BZh"
  xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  lzop: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a],
  zstd: [0x28, 0xb5, 0x2f, 0xfd],
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
  const magic = strFromU8(head.subarray(0, 16), true);
  const complete = magic !== MAGIC_PART;
  if (!complete) {
    sink.error('libvirt-save-incomplete', 0, {
      length: 16,
      expected: `magic "${MAGIC_SAVE}"`,
      found: `"${MAGIC_PART}"`,
      message: 'Unfinished libvirt save image: libvirt had not finished writing it',
      hint: 'libvirt writes "Part" first and rewrites the magic when QEMU has finished; the save was interrupted, so the QEMU stream is probably cut short. virsh restore refuses it ("save image is incomplete").',
    });
  } else if (magic !== MAGIC_SAVE) {
    sink.error('libvirt-bad-magic', 0, { length: 16, expected: `magic "${MAGIC_SAVE}"`, found: JSON.stringify(magic), message: 'Not a libvirt save image header' });
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
  const view = new DataView(padded.buffer);
  // libvirt reads the header natively and byte-swaps it when the version is too large:
  // a header written on the other byte order has its version in the other end of the word.
  const le = view.getUint32(16, true);
  const be = view.getUint32(16, false);
  const little = le >= 1 && le <= NEWEST_VERSION ? true : be >= 1 && be <= NEWEST_VERSION ? false : true;
  const u32 = (at: number) => view.getUint32(at, little);
  const version = u32(16);
  if (version < 1 || version > NEWEST_VERSION) {
    sink.error('libvirt-version', 16, {
      length: 4,
      expected: `header version 1 or ${NEWEST_VERSION} (in either byte order)`,
      found: `${version}`,
      message: `Unknown libvirt save header version ${version}; reading it as version ${NEWEST_VERSION}`,
      hint: 'virsh rejects this ("image version is not supported"); the version word is damaged or the image comes from a newer libvirt.',
    });
  }
  const dataLen = u32(20);
  const wasRunning = u32(24);
  // Version 1 predates compression (the word was unused and is zero) and the cookie.
  const formatCode = version === 1 ? 0 : u32(28);
  const cookieOffset = version === 1 ? 0 : u32(32);
  const compression: LibvirtSaveLayer['compression'] = formatCode < LIBVIRT_COMPRESSIONS.length ? LIBVIRT_COMPRESSIONS[formatCode] : 'unknown';
  const fields: HeaderField[] = [
    { name: 'magic', offset: 0, length: 16, value: complete ? 1 : 0 },
    { name: 'version', offset: 16, length: 4, value: version },
    { name: 'data_len', offset: 20, length: 4, value: dataLen },
    { name: 'was_running', offset: 24, length: 4, value: wasRunning },
    { name: 'format', offset: 28, length: 4, value: formatCode },
    { name: 'cookieOffset', offset: 32, length: 4, value: cookieOffset },
  ];
  if (compression === 'unknown') {
    sink.error('libvirt-format', 28, {
      length: 4,
      expected: `a format code 0-${LIBVIRT_COMPRESSIONS.length - 1} (${LIBVIRT_COMPRESSIONS.join(', ')})`,
      found: `${formatCode}`,
      message: `Unknown compression format ${formatCode} in the libvirt header`,
      hint: 'virsh restore refuses it ("Invalid compressed save format"); the data after the header is examined to guess the real format.',
    });
  }
  const nonZeroUnused = padded.subarray(36).some((b) => b !== 0);
  if (nonZeroUnused) {
    sink.warning('libvirt-unused-nonzero', 36, {
      length: 56,
      expected: 'zero in the 14 unused header words',
      found: 'non-zero bytes',
      message: 'The unused part of the libvirt header is not zero',
      hint: 'A newer libvirt may use these words, or the header is damaged.',
    });
  }

  const streamOffset = LIBVIRT_HEADER_SIZE + dataLen;
  if (streamOffset > file.size) {
    sink.error('libvirt-data-len', 20, {
      length: 4,
      expected: `data_len within the file (at most ${Math.max(0, file.size - LIBVIRT_HEADER_SIZE)})`,
      found: `${dataLen}`,
      message: 'The libvirt header says the XML area ends past the end of the file',
      hint: 'The file is truncated or data_len is damaged; there is no QEMU stream to read.',
    });
  }
  const xmlLength = Math.min(cookieOffset || dataLen, dataLen);
  if (cookieOffset > dataLen) {
    sink.error('libvirt-cookie-offset', 32, {
      length: 4,
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
  return { text: strFromU8(bytes.subarray(0, end)), length: nul < 0 ? bytes.length : nul + 1, terminated: nul >= 0 };
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
