import { inflateSync } from 'fflate';
import { utf8Decode } from '../../util/text-bytes';
import { decompress as zstdDecompress } from 'fzstd';
import type { StreamPiece } from '../../api/offset-map';
import { DiagnosticSink, hex } from '../../diagnostics';
import { readBytes, type ByteSource } from '../../io/byte-source';
import type { HeaderField, ParsedContainer } from '../container-model';
import { headerFieldsOf, isLittleEndian, layoutField, readHeaderFields, readUint } from '../field-table';
import { QCOW2_HEADER, QCOW2_MAGIC } from './header';
import type { Qcow2Layer, Qcow2Snapshot } from './layer';

/**
 * qcow2 internal snapshots (QEMU docs/interop/qcow2.txt, block/qcow2*.c). `savevm` writes
 * the QEMU stream into the snapshot's "vmstate area": virtual offsets starting at
 * qcow2_vm_state_offset() = the disk size rounded up to what one L1 entry covers, mapped
 * through the snapshot's own L1/L2 tables like disk data. All integers are big-endian.
 */
const SNAPSHOT_ENTRY_FIXED = 40;
const L1_OFFSET_MASK = 0x00fffffffffffe00n;
const L2_OFFSET_MASK = 0x00fffffffffffe00n;
const L2_COMPRESSED = 1n << 62n;
const L2_ZERO = 1n;
const INCOMPAT_EXTERNAL_DATA = 1n << 2n;
const INCOMPAT_COMPRESSION_TYPE = 1n << 3n;
const INCOMPAT_EXTENDED_L2 = 1n << 4n;
/** Snapshot tables are small; never read more than this from a damaged header. */
const MAX_SNAPSHOT_TABLE = 64 << 20;

const VERSION = layoutField(QCOW2_HEADER, 'version');
const INCOMPATIBLE = layoutField(QCOW2_HEADER, 'incompatible_features');
const COMPRESSION_TYPE = layoutField(QCOW2_HEADER, 'compression_type');
const CLUSTER_BITS = layoutField(QCOW2_HEADER, 'cluster_bits');
/** A version 2 header ends after its last field; version 3 says its length (header_length). */
const V2_HEADER_LENGTH = Math.max(...QCOW2_HEADER.fields.filter((f) => !f.since).map((f) => f.offset + f.size));

interface Qcow2Header {
  version: number;
  clusterBits: number;
  virtualSize: number;
  cryptMethod: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: bigint;
  compressionType: number;
  fields: HeaderField[];
  headerLength: number;
}

/** Where one virtual cluster of the vmstate lives. */
export type ClusterMapping =
  | { kind: 'data'; hostOffset: number }
  | { kind: 'zero' | 'unallocated' }
  | { kind: 'compressed'; hostOffset: number; compressedLength: number }
  | { kind: 'subclusters'; hostOffset: number; allocated: number; zero: number };

/** What parseQcow2 found besides the layer: where the file holds the open vmstate as it is, or why none is open. */
export interface ParsedQcow2 extends ParsedContainer<Qcow2Layer> {
  /** The open vmstate's data clusters (set when a vmstate is open). */
  pieces?: StreamPiece[];
  problem?: string;
}

/** Parses the qcow2 header and snapshot table, picks the snapshot to open and maps its vmstate's clusters once. */
export function parseQcow2(file: ByteSource, choose?: string): ParsedQcow2 {
  const sink = new DiagnosticSink();
  const h = readHeader(file, sink);
  const clusterSize = 2 ** h.clusterBits;
  const extendedL2 = (h.incompatible & INCOMPAT_EXTENDED_L2) !== 0n;
  const snapshots = readSnapshotTable(file, h, bytesPerL1Entry(clusterSize, extendedL2), sink);
  const tableLength = snapshots.length ? snapshots[snapshots.length - 1].entryEnd - h.snapshotsOffset : 0;
  const layer: Qcow2Layer = {
    kind: 'qcow2',
    version: h.version,
    clusterSize,
    virtualSize: h.virtualSize,
    header: { offset: 0, length: h.headerLength, fields: h.fields },
    snapshotTable: { offset: h.snapshotsOffset, length: tableLength },
    snapshots: snapshots.map(({ entryEnd: _, ...s }) => s),
    selected: -1,
    vmStateClusters: { data: 0, zero: 0, unallocated: 0, compressed: 0 },
    compressionType: h.compressionType === 1 ? 'zstd' : 'zlib',
    extendedL2,
  };
  const unsupported =
    h.cryptMethod !== 0 ? `the image is encrypted (crypt method ${h.cryptMethod})` : (h.incompatible & INCOMPAT_EXTERNAL_DATA) !== 0n ? 'its clusters live in an external data file' : undefined;
  if (unsupported) return { layer, diagnostics: sink.finish(file.size), problem: `this qcow2 image cannot be read: ${unsupported}` };
  const withState = layer.snapshots.filter((s) => s.vmStateSize > 0);
  if (withState.length === 0) {
    return { layer, diagnostics: sink.finish(file.size), problem: layer.snapshots.length ? `none of its ${layer.snapshots.length} snapshots has a VM state (disk-only snapshots)` : 'it has no internal snapshots, so it holds no VM state' };
  }
  const picked = choose === undefined ? newest(withState) : layer.snapshots.find((s) => s.name === choose) ?? layer.snapshots.find((s) => s.id === choose);
  if (!picked) {
    return { layer, diagnostics: sink.finish(file.size), problem: `it has no snapshot named or numbered ${JSON.stringify(choose)} (snapshots: ${layer.snapshots.map((s) => `${s.id} "${s.name}"`).join(', ')})` };
  }
  if (picked.vmStateSize === 0) return { layer, diagnostics: sink.finish(file.size), problem: `snapshot ${picked.id} "${picked.name}" has no VM state (a disk-only snapshot)` };
  layer.selected = picked.index;
  const reach = vmStateReach(file, layer);
  if (picked.vmStateSize > reach) {
    sink.error('qcow2-vmstate-size', picked.entryOffset + 32, {
      expected: `a VM state size the snapshot's L1 table can map (at most ${reach} bytes)`,
      found: `${picked.vmStateSize} bytes`,
      message: `Snapshot "${picked.name}" claims more VM state than its tables can hold; reading ${reach} bytes`,
      hint: 'The snapshot table entry (vm_state_size) or its L1 table size is damaged.',
    });
  }
  const survey = openVmstate(file, layer, sink).survey();
  layer.vmStateClusters = survey.counts;
  return { layer, diagnostics: sink.finish(file.size), pieces: survey.pieces };
}

/**
 * The open snapshot's vmstate as a ByteSource, from the layer parseQcow2 made (no table is
 * read until bytes are). Problems found while reading go to `sink`.
 */
export function openVmstate(file: ByteSource, layer: Qcow2Layer, sink: DiagnosticSink): Qcow2VmstateSource {
  const picked = layer.snapshots[layer.selected];
  const clusterBits = Math.log2(layer.clusterSize);
  return new Qcow2VmstateSource(file, { ...picked, vmStateSize: Math.min(picked.vmStateSize, vmStateReach(file, layer)) }, clusterBits, layer.extendedL2, layer.compressionType, sink);
}

/** How many vmstate bytes the open snapshot's L1 table can map (and its L1 table inside the file). */
function vmStateReach(file: ByteSource, layer: Qcow2Layer): number {
  const picked = layer.snapshots[layer.selected];
  const perEntry = bytesPerL1Entry(layer.clusterSize, layer.extendedL2);
  const l1Entries = Math.min(picked.l1Size, Math.floor(Math.max(0, file.size - picked.l1TableOffset) / 8));
  return Math.max(0, l1Entries * perEntry - picked.vmStateOffset);
}

function bytesPerL1Entry(clusterSize: number, extendedL2: boolean): number {
  return clusterSize * (clusterSize / (extendedL2 ? 16 : 8));
}

function newest(snapshots: Qcow2Snapshot[]): Qcow2Snapshot {
  return snapshots.reduce((a, b) => (b.dateSec > a.dateSec || (b.dateSec === a.dateSec && b.dateNsec >= a.dateNsec) ? b : a));
}

function readHeader(file: ByteSource, sink: DiagnosticSink): Qcow2Header {
  const bytes = new Uint8Array(QCOW2_HEADER.size);
  bytes.set(readBytes(file, 0, QCOW2_HEADER.size));
  const v = new DataView(bytes.buffer);
  if (v.getUint32(0) !== QCOW2_MAGIC) sink.error('qcow2-magic', 0, { length: 4, expected: 'QFI\\xfb', found: hex(v.getUint32(0), 8), message: 'Not a qcow2 header' });
  const little = isLittleEndian(QCOW2_HEADER);
  const version = readUint(bytes, VERSION, little);
  if (version !== 2 && version !== 3) sink.error('qcow2-version', VERSION.offset, { length: VERSION.size, expected: 'qcow2 version 2 or 3', found: `${version}`, message: `Unknown qcow2 version ${version}` });
  const values = readHeaderFields(bytes, QCOW2_HEADER, little, version);
  // Feature bits are tested on the exact 64-bit word.
  const incompatible = version >= (INCOMPATIBLE.since ?? 0) ? v.getBigUint64(INCOMPATIBLE.offset, little) : 0n;
  const headerLength = values.header_length ?? V2_HEADER_LENGTH;
  const hasCompressionType = (incompatible & INCOMPAT_COMPRESSION_TYPE) !== 0n && headerLength > COMPRESSION_TYPE.offset;
  const compressionType = hasCompressionType ? values.compression_type : 0;
  const present = QCOW2_HEADER.fields.filter((f) => f.name in values && (f !== COMPRESSION_TYPE || hasCompressionType));
  const fields = headerFieldsOf(present, (f) => (f === INCOMPATIBLE ? Number(incompatible) : values[f.name]));
  const clusterBits = values.cluster_bits;
  if (clusterBits < 9 || clusterBits > 21) {
    sink.error('qcow2-cluster-bits', CLUSTER_BITS.offset, { length: CLUSTER_BITS.size, expected: 'cluster_bits between 9 and 21', found: `${clusterBits}`, message: 'Impossible qcow2 cluster size' });
  }
  return {
    version,
    clusterBits: Math.min(21, Math.max(9, clusterBits)),
    virtualSize: values.size,
    cryptMethod: values.crypt_method,
    nbSnapshots: values.nb_snapshots,
    snapshotsOffset: values.snapshots_offset,
    incompatible,
    compressionType,
    fields,
    headerLength,
  };
}

function readSnapshotTable(file: ByteSource, h: Qcow2Header, bytesPerL1Entry: number, sink: DiagnosticSink): (Qcow2Snapshot & { entryEnd: number })[] {
  const out: (Qcow2Snapshot & { entryEnd: number })[] = [];
  if (h.nbSnapshots === 0) return out;
  const table = readBytes(file, h.snapshotsOffset, MAX_SNAPSHOT_TABLE);
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  let at = 0;
  for (let i = 0; i < h.nbSnapshots; i++) {
    const entryOffset = h.snapshotsOffset + at;
    if (at + SNAPSHOT_ENTRY_FIXED > table.length) {
      sink.error('qcow2-snapshot-table', entryOffset, {
        expected: `${h.nbSnapshots} snapshot table entries`,
        found: `the end of the ${at + SNAPSHOT_ENTRY_FIXED > MAX_SNAPSHOT_TABLE ? 'readable table' : 'file'} after ${i}`,
        message: 'The qcow2 snapshot table is cut short',
      });
      break;
    }
    const idSize = v.getUint16(at + 12);
    const nameSize = v.getUint16(at + 14);
    const extraSize = v.getUint32(at + 36);
    const extra = at + SNAPSHOT_ENTRY_FIXED;
    const vmStateSize = extraSize >= 8 ? Number(v.getBigUint64(extra)) : v.getUint32(at + 32);
    const diskSize = extraSize >= 16 ? Number(v.getBigUint64(extra + 8)) : h.virtualSize;
    const strings = extra + extraSize;
    const end = strings + idSize + nameSize;
    if (end > table.length) {
      sink.error('qcow2-snapshot-entry', entryOffset, { expected: 'a snapshot entry inside the file', found: `an entry ending at ${hex(h.snapshotsOffset + end)}`, message: `qcow2 snapshot entry ${i} is cut short` });
      break;
    }
    out.push({
      index: i,
      id: utf8Decode(table.subarray(strings, strings + idSize)),
      name: utf8Decode(table.subarray(strings + idSize, end)),
      entryOffset,
      entryEnd: h.snapshotsOffset + ((end + 7) & ~7),
      l1TableOffset: Number(v.getBigUint64(at)),
      l1Size: v.getUint32(at + 8),
      vmStateSize,
      diskSize,
      dateSec: v.getUint32(at + 16),
      dateNsec: v.getUint32(at + 20),
      vmClockNsec: Number(v.getBigUint64(at + 24)),
      icount: extraSize >= 24 ? Number(v.getBigInt64(extra + 16)) : undefined,
      vmStateOffset: Math.ceil(diskSize / bytesPerL1Entry) * bytesPerL1Entry,
    });
    at = (end + 7) & ~7;
  }
  return out;
}

/**
 * A snapshot's vmstate as a ByteSource: virtual offsets are mapped through the snapshot's
 * L1/L2 tables to host clusters on every read, so nothing is copied. Zero and unallocated
 * clusters read as zeros; compressed clusters are inflated (one cluster cached).
 */
export class Qcow2VmstateSource implements ByteSource {
  readonly size: number;
  private readonly clusterSize: number;
  private readonly l2Entries: number;
  private readonly entryBytes: number;
  private l1?: DataView;
  private readonly l2Cache = new Map<number, { offset: number; view: DataView } | null>();
  private lastCompressed?: { hostOffset: number; data: Uint8Array };

  constructor(
    private readonly file: ByteSource,
    readonly snapshot: Qcow2Snapshot,
    private readonly clusterBits: number,
    private readonly extendedL2: boolean,
    private readonly compressionType: 'zlib' | 'zstd',
    private readonly sink: DiagnosticSink,
  ) {
    this.size = snapshot.vmStateSize;
    this.clusterSize = 2 ** clusterBits;
    this.entryBytes = extendedL2 ? 16 : 8;
    this.l2Entries = this.clusterSize / this.entryBytes;
  }

  /**
   * Counts the vmstate's clusters by kind, collects the data clusters as pieces of the
   * offset map (adjacent clusters joined) and reports bad tables, walking the tables rather
   * than the clusters: a range no L2 table covers is counted in one step, and an L2 table
   * that several L1 entries share is walked once (its clusters are placed in the file for
   * the first range only). The work is bounded by the file's size (its L1 entries and L2
   * tables), whatever size the snapshot claims.
   */
  survey(): { counts: Qcow2Layer['vmStateClusters']; pieces: StreamPiece[] } {
    const counts = { data: 0, zero: 0, unallocated: 0, compressed: 0 };
    const pieces: StreamPiece[] = [];
    if (this.size <= 0) return { counts, pieces };
    const first = Math.floor(this.snapshot.vmStateOffset / this.clusterSize);
    const end = Math.ceil((this.snapshot.vmStateOffset + this.size) / this.clusterSize);
    const walked = new Map<number, typeof counts>();
    for (let l1Index = Math.floor(first / this.l2Entries); l1Index * this.l2Entries < end; l1Index++) {
      const lo = Math.max(first, l1Index * this.l2Entries);
      const hi = Math.min(end, (l1Index + 1) * this.l2Entries);
      const table = this.l2Table(l1Index);
      if (!table) {
        counts.unallocated += hi - lo;
        continue;
      }
      const whole = hi - lo === this.l2Entries;
      const known = whole ? walked.get(table.offset) : undefined;
      const part = known ?? this.surveyTable(table, lo % this.l2Entries, hi - lo, lo, pieces);
      if (whole && !known) walked.set(table.offset, part);
      for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += part[k];
    }
    if (counts.unallocated > 0) {
      this.sink.warning('qcow2-vmstate-unallocated', this.snapshot.l1TableOffset, {
        expected: 'every vmstate cluster allocated',
        found: `${counts.unallocated} unallocated clusters`,
        message: 'Part of the snapshot VM state was never written; it reads as zeros',
        hint: 'savevm writes the whole vmstate, so its L1/L2 tables are probably damaged.',
      });
    }
    return { counts, pieces };
  }

  /** Counts `count` entries of one L2 table from entry `from`, adding its data clusters to `pieces`; clusters past the end of the file are one diagnostic per table. */
  private surveyTable(table: { offset: number; view: DataView }, from: number, count: number, firstCluster: number, pieces: StreamPiece[]): Qcow2Layer['vmStateClusters'] {
    const counts = { data: 0, zero: 0, unallocated: 0, compressed: 0 };
    let beyond = 0;
    let firstBeyond: { entry: number; host: number; cluster: number } | undefined;
    for (let i = 0; i < count; i++) {
      const m = this.mapEntry(table.view, from + i);
      const pos = (firstCluster + i) * this.clusterSize - this.snapshot.vmStateOffset;
      if (m.kind === 'subclusters') counts.data++;
      else counts[m.kind]++;
      if ((m.kind === 'data' || m.kind === 'subclusters') && m.hostOffset < this.file.size) {
        // A whole cluster maps, as QEMU would place any byte of it (no piece reaches past the file).
        const length = Math.min(this.clusterSize, this.file.size - m.hostOffset);
        const last = pieces[pieces.length - 1];
        if (last && last.stream + last.length === pos && last.file + last.length === m.hostOffset) last.length += length;
        else pieces.push({ stream: pos, file: m.hostOffset, length });
      }
      if ((m.kind === 'data' || m.kind === 'compressed') && m.hostOffset + (m.kind === 'data' ? this.clusterSize : m.compressedLength) > this.file.size) {
        // The last cluster of the vmstate may be partly used; only whole misses count for it.
        const used = m.kind === 'data' ? Math.min(this.clusterSize, this.size - pos) : m.compressedLength;
        if (m.hostOffset + used <= this.file.size) continue;
        beyond++;
        firstBeyond ??= { entry: table.offset + (from + i) * this.entryBytes, host: m.hostOffset, cluster: pos };
      }
    }
    if (firstBeyond) {
      this.sink.error('qcow2-cluster-beyond-file', firstBeyond.entry, {
        length: this.entryBytes,
        expected: 'host clusters inside the file',
        found: `${beyond} vmstate cluster${beyond === 1 ? '' : 's'} of this L2 table past the end of the file, the first at ${hex(firstBeyond.host)} for vmstate offset ${hex(firstBeyond.cluster)}; the file ends at ${hex(this.file.size)}`,
        message: 'vmstate clusters lie past the end of the qcow2 file',
        hint: 'The file is truncated or the L2 table is damaged; the missing part of the VM state reads as zeros.',
      });
    }
    return counts;
  }

  map(pos: number): ClusterMapping {
    const virtual = this.snapshot.vmStateOffset + pos;
    const cluster = Math.floor(virtual / this.clusterSize);
    const l1Index = Math.floor(cluster / this.l2Entries);
    const l2 = this.l2Table(l1Index);
    return l2 ? this.mapEntry(l2.view, cluster % this.l2Entries) : { kind: 'unallocated' };
  }

  /** What entry `index` of an L2 table maps its cluster to. */
  private mapEntry(l2: DataView, index: number): ClusterMapping {
    const at = index * this.entryBytes;
    const entry = l2.getBigUint64(at);
    if (entry & L2_COMPRESSED) {
      const offsetBits = 62 - (this.clusterBits - 8);
      const hostOffset = Number(entry & ((1n << BigInt(offsetBits)) - 1n));
      const sectors = Number((entry >> BigInt(offsetBits)) & ((1n << BigInt(62 - offsetBits)) - 1n)) + 1;
      return { kind: 'compressed', hostOffset, compressedLength: sectors * 512 - (hostOffset & 511) };
    }
    const hostOffset = Number(entry & L2_OFFSET_MASK);
    if (this.extendedL2) {
      const bitmap = l2.getBigUint64(at + 8);
      const allocated = Number(bitmap & 0xffffffffn);
      const zero = Number(bitmap >> 32n);
      return allocated === 0 ? { kind: zero !== 0 ? 'zero' : 'unallocated' } : { kind: 'subclusters', hostOffset, allocated, zero };
    }
    if (entry & L2_ZERO) return { kind: 'zero' };
    return hostOffset === 0 ? { kind: 'unallocated' } : { kind: 'data', hostOffset };
  }

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (position >= this.size || length <= 0) return 0;
    const n = Math.min(length, this.size - position);
    let done = 0;
    while (done < n) {
      const pos = position + done;
      const inCluster = pos % this.clusterSize;
      const take = Math.min(this.clusterSize - inCluster, n - done);
      this.readCluster(this.map(pos), inCluster, target.subarray(targetOffset + done, targetOffset + done + take));
      done += take;
    }
    return n;
  }

  private readCluster(m: ClusterMapping, inCluster: number, out: Uint8Array): void {
    switch (m.kind) {
      case 'zero':
      case 'unallocated':
        out.fill(0);
        return;
      case 'data':
        this.readHost(m.hostOffset + inCluster, out);
        return;
      case 'compressed':
        out.set(this.inflated(m).subarray(inCluster, inCluster + out.length));
        return;
      case 'subclusters': {
        const sub = this.clusterSize / 32;
        for (let done = 0; done < out.length; ) {
          const at = inCluster + done;
          const bit = Math.floor(at / sub);
          const take = Math.min(sub - (at % sub), out.length - done);
          const part = out.subarray(done, done + take);
          if ((m.allocated >>> bit) & 1 && !((m.zero >>> bit) & 1)) this.readHost(m.hostOffset + at, part);
          else part.fill(0);
          done += take;
        }
      }
    }
  }

  private readHost(offset: number, out: Uint8Array): void {
    let done = 0;
    while (done < out.length) {
      const got = this.file.readInto(out, done, out.length - done, offset + done);
      if (got <= 0) break;
      done += got;
    }
    out.fill(0, done);
  }

  private inflated(m: { hostOffset: number; compressedLength: number }): Uint8Array {
    if (this.lastCompressed?.hostOffset === m.hostOffset) return this.lastCompressed.data;
    const raw = readBytes(this.file, m.hostOffset, m.compressedLength);
    let data: Uint8Array;
    try {
      data = this.compressionType === 'zstd' ? zstdDecompress(raw) : inflateSync(raw, { out: new Uint8Array(this.clusterSize) });
    } catch (e) {
      this.sink.error('qcow2-compressed-cluster', m.hostOffset, {
        length: m.compressedLength,
        expected: `a ${this.compressionType}-compressed cluster`,
        found: (e as Error).message,
        message: 'A compressed vmstate cluster cannot be decompressed; it reads as zeros',
      });
      data = new Uint8Array(this.clusterSize);
    }
    if (data.length < this.clusterSize) {
      const full = new Uint8Array(this.clusterSize);
      full.set(data);
      data = full;
    }
    this.lastCompressed = { hostOffset: m.hostOffset, data };
    return data;
  }

  /** The L2 table entry `l1Index` of the L1 table points to; tables are cached by host offset, so L1 entries sharing one read it once. */
  private l2Table(l1Index: number): { offset: number; view: DataView } | null {
    const l1 = (this.l1 ??= this.readL1());
    if (l1Index >= this.snapshot.l1Size || (l1Index + 1) * 8 > l1.byteLength) return null;
    const offset = Number(l1.getBigUint64(l1Index * 8) & L1_OFFSET_MASK);
    if (offset === 0) return null;
    const cached = this.l2Cache.get(offset);
    if (cached !== undefined) return cached;
    let table: { offset: number; view: DataView } | null = null;
    const bytes = offset % this.clusterSize === 0 ? readBytes(this.file, offset, this.clusterSize) : new Uint8Array(0);
    if (bytes.length < this.clusterSize) {
      // Placed at the L1 entry holding the bad pointer: the pointer itself may lie far outside the file.
      this.sink.error('qcow2-l2-table', this.snapshot.l1TableOffset + l1Index * 8, {
        length: 8,
        expected: 'a cluster-aligned L2 table inside the file',
        found: `an L2 table at ${hex(offset)}${offset % this.clusterSize !== 0 ? ', not cluster-aligned' : ' past the end of the file'}`,
        message: `L1 entry ${l1Index} of snapshot "${this.snapshot.name}" points to an invalid L2 table`,
        hint: 'The vmstate clusters it covers read as zeros.',
      });
    } else table = { offset, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    if (this.l2Cache.size >= 64) this.l2Cache.delete(this.l2Cache.keys().next().value!);
    this.l2Cache.set(offset, table);
    return table;
  }

  private readL1(): DataView {
    const bytes = readBytes(this.file, this.snapshot.l1TableOffset, this.snapshot.l1Size * 8);
    if (bytes.length < this.snapshot.l1Size * 8) {
      this.sink.error('qcow2-l1-table', this.snapshot.l1TableOffset, {
        expected: `${this.snapshot.l1Size} L1 entries inside the file`,
        found: `${Math.floor(bytes.length / 8)}`,
        message: `The L1 table of snapshot "${this.snapshot.name}" is cut short`,
      });
    }
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}
