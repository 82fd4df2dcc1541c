import type { ByteSource } from '../../io/byte-source';
import { HVM_ONLY_CHUNKS, LEGACY_CHUNK_NAMES, LEGACY_MAX_BATCH, LegacyChunk } from './constants';
import { SeqReader, XenBytes } from './wire';

/**
 * Tells a legacy (pre-4.6) stream, its toolstack word size and its guest type from its
 * first bytes, where Xen's convert-legacy-stream must be told them (-w, -g). The rules are
 * the spec's ("Legacy Images"): octets 4-7 are zero for a 64-bit toolstack (p2m_size is
 * below 2^32); a 32-bit PV image has the extended-info marker 0xffffffff there, a 32-bit
 * HVM image a chunk type or page count. A PV image carries extended info (since Xen 3.0),
 * an HVM image starts its chunks at once. The first chunks are walked to be sure.
 */
export interface LegacyShape {
  width: 4 | 8;
  widthEvidence: string;
  guest: 'pv' | 'hvm';
  guestEvidence: string;
  p2mSize: number;
}

const EXT_INFO_IDS = new Set(['vcpu', 'extv', 'xcnt']);
/** The largest p2m a real guest had: 2^36 pages is 256 TiB. */
const MAX_P2M = 2 ** 36;
const CHUNKS_TO_WALK = 4;

export function sniffLegacy(source: ByteSource, at: number): LegacyShape | undefined {
  const head = XenBytes.at(source, at, 24, true);
  if (head.length < 16) return undefined;
  const width: 4 | 8 = head.u32(4) === 0 ? 8 : 4;
  const widthEvidence = width === 8 ? 'octets 4-7 are zero (p2m_size is a 64-bit word below 2^32)' : `octets 4-7 are ${hexWord(head.u32(4))}, ${describeOctets(head.u32(4))}`;
  const p2mSize = head.ulong(0, width);
  if (p2mSize === 0 || p2mSize > MAX_P2M) return undefined;
  const after = at + width;
  const ones = width === 8 ? head.u32(8) === 0xffffffff && head.u32(12) === 0xffffffff : head.u32(4) === 0xffffffff;
  if (ones) {
    const b = XenBytes.at(source, after + width, 8, true);
    const id = b.length === 8 ? String.fromCharCode(...b.sub(4, 4)) : '';
    if (EXT_INFO_IDS.has(id)) {
      return { width, widthEvidence, guest: 'pv', guestEvidence: `the extended-info marker ~0 and block "${id}" follow p2m_size (only PV saves carry extended info)`, p2mSize };
    }
  }
  const walk = walkChunks(source, after, width);
  if (!walk) return undefined;
  return { width, widthEvidence, guest: 'hvm', guestEvidence: walk, p2mSize };
}

function hexWord(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

function describeOctets(v: number): string {
  if (v === 0xffffffff) return 'the 32-bit extended-info marker';
  const s = v | 0;
  return s < 0 ? `chunk ${s} (${LEGACY_CHUNK_NAMES[s] ?? 'unknown'}) of a 32-bit stream` : `a page batch of ${s} of a 32-bit stream`;
}

/**
 * Walks the first chunks of an HVM body; returns why it is an HVM stream, or undefined if
 * the bytes do not read as chunks.
 */
function walkChunks(source: ByteSource, at: number, width: 4 | 8): string | undefined {
  const r = new SeqReader(source, at, true);
  let batches = 0;
  try {
    for (let n = 0; n < CHUNKS_TO_WALK; n++) {
      const marker = r.i32();
      if (marker === LegacyChunk.END) return batches || n ? 'its body chunks start right after p2m_size and end with chunk 0' : undefined;
      if (marker > 0) {
        if (marker > LEGACY_MAX_BATCH) return undefined;
        const pfns = r.take(marker * width);
        let pages = 0;
        for (let k = 0; k < marker; k++) {
          const e = pfns.ulong(k * width, width);
          if (width === 8 && e > 0xffffffff) return undefined;
          if ((e >>> 28) < 0xd) pages++;
        }
        r.skip(pages * 4096);
        batches++;
        continue;
      }
      if (LEGACY_CHUNK_NAMES[marker] === undefined) return undefined;
      if (HVM_ONLY_CHUNKS.has(marker)) return `chunk ${marker} (${LEGACY_CHUNK_NAMES[marker]}) is one only HVM saves write`;
      if (!skipChunk(r, marker)) return batches ? `page batches start right after p2m_size (a PV save has extended info there)` : undefined;
    }
  } catch {
    return undefined;
  }
  return batches ? 'page batches start right after p2m_size (a PV save has extended info there)' : undefined;
}

/** Skips the body of a simple chunk; false for chunks too involved to walk while sniffing. */
function skipChunk(r: SeqReader, marker: number): boolean {
  switch (marker) {
    case LegacyChunk.ENABLE_VERIFY_MODE:
    case LegacyChunk.LAST_CHECKPOINT:
    case LegacyChunk.ENABLE_COMPRESSION:
      return true;
    case LegacyChunk.VCPU_INFO: {
      const max = r.i32();
      if (max < 0 || max > 4095) throw new Error('implausible');
      r.skip(8 * (Math.floor(max / 64) + 1));
      return true;
    }
    case LegacyChunk.TSC_INFO:
      r.skip(20);
      return true;
    case LegacyChunk.TOOLSTACK:
    case LegacyChunk.COMPRESSED_DATA:
      r.skip(r.u32());
      return true;
    default:
      return false;
  }
}
