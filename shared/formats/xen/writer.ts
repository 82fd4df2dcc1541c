import { readBytes, type ByteSource } from '../../io/byte-source';
import { IMAGE_SOURCE, PieceTable, bytesPiece, rangePiece, type JournalSource, type Piece } from '../../edit/pieces';
import type { FieldNode } from '../qemu-stream/vmstate-decode';
import { LibxcRecord, LibxlRecord, RECORD_HEADER_BYTES, XL_HEADER_BYTES } from './constants';
import { decodeLayout, encodeNodes, type Layout } from './layout';
import { LIBXC_DOMAIN_HEADER, LIBXC_IMAGE_HEADER, LIBXL_HEADER, LEGACY_HVM_MAGIC_PFNS, LEGACY_PARAM, LEGACY_TSC_INFO, XL_HEADER } from './layouts';
import type { XenStreamModel } from './model';
import { decodeRecordBody, recordHeaderFields } from './records';
import { paddingOf } from './wire';

/**
 * Writes a parsed stream back out from its model: every header and every structured record
 * body is encoded again from its decoded fields; page data, emulator blobs, padding and
 * bytes the parser could not place are copied as ranges of the source. The result equals
 * the original byte for byte exactly when the index accounts for every byte and the field
 * decoders lose nothing, which is what the round-trip tests check (`encoded` vs `copied`).
 */
export interface WrittenStream {
  pieces: Piece[];
  /** Bytes produced by encoding decoded fields. */
  encoded: number;
  /** Bytes copied as ranges, by why. */
  copied: Record<CopyReason, number>;
}

export type CopyReason = 'page-data' | 'emulator-blob' | 'large-body' | 'padding' | 'trailing' | 'damaged' | 'legacy-data';

export function rewriteXen(model: XenStreamModel, source: ByteSource): WrittenStream {
  const w = new PieceWriter(source);
  if (model.xl) w.xl(model);
  if (model.legacy) w.legacy(model);
  else w.v2(model);
  w.copyTo(source.size, 'trailing');
  return w.result();
}

/** A ByteSource over pieces of `source` and new bytes. */
export function piecesSource(source: ByteSource, pieces: Piece[], donors: ReadonlyMap<string, ByteSource> = new Map()): JournalSource {
  return new PieceTable(new Map([[IMAGE_SOURCE, source], ...donors]), pieces).snapshot();
}

class PieceWriter {
  private readonly pieces: Piece[] = [];
  private pos = 0;
  private encoded = 0;
  private readonly copied: Record<CopyReason, number> = { 'page-data': 0, 'emulator-blob': 0, 'large-body': 0, padding: 0, trailing: 0, damaged: 0, 'legacy-data': 0 };

  constructor(private readonly source: ByteSource) {}

  result(): WrittenStream {
    return { pieces: this.pieces, encoded: this.encoded, copied: this.copied };
  }

  /** Encodes fields covering [at, at + length) of the source; anything they leave out is copied as damage. */
  private encode(nodes: readonly FieldNode[], at: number, length: number): void {
    if (length <= 0) return;
    this.copyTo(at, 'damaged');
    const out = new Uint8Array(length);
    const covered = coverage(nodes, at, length);
    if (!encodeNodes(nodes, out, at) || covered < length) {
      this.copyTo(at + length, 'damaged');
      return;
    }
    this.pieces.push(bytesPiece(out));
    this.encoded += length;
    this.pos = at + length;
  }

  private layout(layout: Layout, at: number, length: number, le: boolean): void {
    this.encode(decodeLayout(readBytes(this.source, at, length), at, layout, le).nodes, at, length);
  }

  /** Copies source bytes from the current position up to `end`. */
  copyTo(end: number, why: CopyReason): void {
    const to = Math.min(end, this.source.size);
    if (to <= this.pos) return;
    this.pieces.push(rangePiece(IMAGE_SOURCE, this.pos, to - this.pos));
    this.copied[why] += to - this.pos;
    this.pos = to;
  }

  xl(model: XenStreamModel): void {
    const xl = model.xl!;
    this.layout(XL_HEADER, 0, Math.min(XL_HEADER_BYTES, this.source.size), xl.littleEndian);
    if (xl.optionalDataLength >= 4 && xl.bodyOffset <= this.source.size) {
      this.layout([{ name: 'config_len', type: 'uint32' }], XL_HEADER_BYTES, 4, xl.littleEndian);
      const rest = xl.optionalDataLength - 4;
      this.layout([{ name: 'config', type: 'text', size: rest }], XL_HEADER_BYTES + 4, rest, true);
    }
  }

  v2(model: XenStreamModel): void {
    if (model.libxl) this.layout(LIBXL_HEADER, model.libxl.offset, Math.min(16, this.source.size - model.libxl.offset), false);
    // Image headers sit between records (after LIBXC_CONTEXT): write everything in file order.
    const items = [...model.images.map((_, i) => ({ offset: model.images[i].offset, image: i })), ...model.records.map((rec) => ({ offset: rec.offset, rec }))];
    items.sort((a, b) => a.offset - b.offset);
    for (const item of items) {
      if ('image' in item) this.libxcHeaders(model, item.image);
      else this.record(model, item.rec);
    }
  }

  private libxcHeaders(model: XenStreamModel, i: number): void {
    const img = model.images[i];
    this.layout(LIBXC_IMAGE_HEADER, img.offset, Math.min(24, this.source.size - img.offset), false);
    this.layout(LIBXC_DOMAIN_HEADER, img.offset + 24, Math.min(16, this.source.size - img.offset - 24), img.littleEndian);
  }

  private record(model: XenStreamModel, rec: XenStreamModel['records'][number]): void {
    this.copyTo(rec.offset, 'damaged');
    if (rec.resynced) {
      this.copyTo(rec.offset + rec.length, 'damaged');
      return;
    }
    this.encode(recordHeaderFields(this.source, model, rec), rec.offset, Math.min(RECORD_HEADER_BYTES, rec.length));
    const at = rec.offset + RECORD_HEADER_BYTES;
    const available = Math.max(0, Math.min(rec.bodyLength, this.source.size - at));
    const body = decodeRecordBody(this.source, model, rec);
    const end = at + available;
    if (rec.layer === 'libxc' && rec.type === LibxcRecord.PAGE_DATA) {
      const listEnd = body.length ? Math.min(end, body[body.length - 1].offset + body[body.length - 1].size) : at;
      this.encode(body, at, listEnd - at);
      this.copyTo(end, 'page-data');
    } else if (rec.layer === 'libxl' && rec.type === LibxlRecord.EMULATOR_CONTEXT) {
      this.encode(body.filter((n) => n.name !== 'emulator_ctx'), at, Math.min(8, available));
      this.copyTo(end, 'emulator-blob');
    } else if (available > 1 << 20) {
      this.copyTo(end, 'large-body');
    } else {
      this.encode(body, at, available);
    }
    if (!rec.truncated) this.copyTo(rec.offset + RECORD_HEADER_BYTES + rec.bodyLength + paddingOf(rec.bodyLength), 'padding');
  }

  legacy(model: XenStreamModel): void {
    const m = model.legacy!;
    const w = m.width;
    const ulong = (name: string): Layout => [{ name, type: w === 8 ? 'uint64' : 'uint32' }];
    this.layout(ulong('p2m_size'), m.offset, w, true);
    if (m.extendedInfo) {
      const e = m.extendedInfo;
      this.layout([...ulong('marker'), { name: 'total_length', type: 'uint32' }], e.offset, w + 4, true);
      for (const b of e.blocks) {
        this.layout([{ name: 'id', type: 'text', size: 4 }, { name: 'size', type: 'uint32' }], b.offset, 8, true);
        this.copyTo(b.dataOffset + b.size, 'legacy-data');
      }
    }
    if (m.p2mFrameList) this.layout([{ name: 'p2m_frames', type: w === 8 ? 'uint64' : 'uint32', count: m.p2mFrameList.count }], m.p2mFrameList.offset, m.p2mFrameList.length, true);
    for (const cp of m.checkpoints) {
      for (const c of cp.chunks) {
        this.layout([{ name: 'marker', type: 'int32' }], c.offset, 4, true);
        if (c.kind === 'param') this.layout(LEGACY_PARAM, c.offset + 4, 12, true);
        else if (c.kind === 'tsc') this.layout(LEGACY_TSC_INFO, c.offset + 4, 20, true);
        else if (c.kind === 'pages' || c.kind === 'pfns') {
          this.layout([{ name: 'pfn', type: w === 8 ? 'uint64' : 'uint32', count: c.entries }], c.offset + 4, (c.entries ?? 0) * w, true);
          this.copyTo(c.offset + c.length, 'page-data');
        } else if (c.kind === 'toolstack' || c.kind === 'compressed') {
          this.layout([{ name: 'length', type: 'uint32' }], c.offset + 4, 4, true);
          this.copyTo(c.offset + c.length, 'legacy-data');
        }
        this.copyTo(c.offset + c.length, 'legacy-data');
      }
      const t = cp.tail;
      if (t?.magicPfns) {
        this.layout(LEGACY_HVM_MAGIC_PFNS, t.offset, 24, true);
        this.layout([{ name: 'context_length', type: 'uint32' }], t.offset + 24, 4, true);
      }
      if (t) this.copyTo(t.offset + t.length, 'legacy-data');
      if (cp.qemu) {
        this.layout([{ name: 'signature', type: 'text', size: 21 }], cp.qemu.offset, 21, true);
        if (cp.qemu.data.offset > cp.qemu.offset + 21) this.layout([{ name: 'length', type: 'uint32' }], cp.qemu.offset + 21, 4, true);
        this.copyTo(cp.qemu.offset + cp.qemu.length, 'emulator-blob');
      }
    }
  }
}

/** Bytes of [at, at + length) that leaf nodes cover. */
function coverage(nodes: readonly FieldNode[], at: number, length: number): number {
  let n = 0;
  const visit = (list: readonly FieldNode[]) => {
    for (const x of list) {
      if (x.children) visit(x.children);
      else if (x.offset >= at && x.offset + x.size <= at + length) n += x.size;
    }
  };
  visit(nodes);
  return n;
}
