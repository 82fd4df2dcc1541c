import { DecodeOverrun, type FieldNode } from '../vmstate-decode';
import { NodeReader, type LayoutField } from './node-reader';
import { bitNames, F_VERSION_1, readNetDeviceMultiqueue, STATUS_BITS, TRANSPORT_FEATURES, VIRTIO_DEVICES, type VirtioDeviceKind } from './virtio-devices';

/**
 * A virtio device's state as virtio_save (hw/virtio/virtio.c) writes it into the one
 * "virtio" field the vmdesc shows as an opaque blob: the transport's config (virtio-pci:
 * the PCI device, MSI-X table and vectors), status, ISR, queue_sel, the low 32 feature
 * bits, the device config space, the queue count and each queue's ring size, descriptor
 * table address and last_avail_idx, then the device's own state, then the "virtio/…"
 * subsections (64-bit features, the vring addresses, the transport's extra state). Every
 * part becomes named fields with offsets. The decoding must account for every byte of the
 * blob, or it is not used.
 */
export interface VirtioContext {
  /** The section's vmsd name ("virtio-net", "virtio-blk", "virtio-console", …). */
  device: string;
  /** The section's idstr: a PCI address before the slash means the virtio-pci transport. */
  idstr: string;
  /** Guest-physical memory, for the ring indexes QEMU reads from the rings when it loads the device. */
  guest?: (gpa: number, length: number) => Uint8Array | undefined;
}

export interface DecodedVirtio {
  children?: FieldNode[];
  problem?: string;
}

/** VIRTIO_QUEUE_MAX: the subsections carry an entry for every possible queue. */
const QUEUE_MAX = 1024;
/** VIRTIO_PCI_VRING_ALIGN, the legacy ring alignment. */
const LEGACY_VRING_ALIGN = 4096;
const PCI_CAP_ID_MSIX = 0x11;
const PCI_CAP_ID_EXP = 0x10;
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\//;
/** A channel-subsystem bus id: "/fe.0.0001/virtio-net". */
const CCW_BUS_ID = /^\/[0-9a-f]+\.[0-7]\.[0-9a-f]{4}\//;

const be16 = (name: string): LayoutField => ({ name, type: 'uint16' });
const be32 = (name: string): LayoutField => ({ name, type: 'uint32' });
const be64 = (name: string): LayoutField => ({ name, type: 'uint64' });

interface Transport {
  /** The transport's part at the start (or undefined to search for where the common part starts). */
  read?: (r: NodeReader) => FieldNode[];
  /** virtio-pci with MSI-X: a be16 vector follows each queue. */
  queueVector: boolean;
  /** virtio-mmio: each queue's ring alignment is saved. */
  alignment: boolean;
  /** The body of virtio/extra_state. */
  readExtraState?: (r: NodeReader, queues: number) => FieldNode[];
}

export function decodeVirtioState(bytes: Uint8Array, start: number, size: number, base: number, ctx: VirtioContext): DecodedVirtio {
  const kind = VIRTIO_DEVICES[ctx.device];
  const attempts = PCI_ADDRESS.test(ctx.idstr) ? pciTransports(bytes, start, size) : ctx.idstr.includes('virtio-mmio') ? [MMIO] : CCW_BUS_ID.test(ctx.idstr) ? [CCW] : unknownTransports();
  let lastProblem = 'the layout does not account for every byte';
  for (const transport of attempts) {
    for (let skip = 0; skip <= (transport.read ? 0 : Math.min(size, 8192)); skip++) {
      try {
        const children = decodeWith(bytes, start, size, base, transport, skip, kind, ctx);
        if (children) return { children };
      } catch (e) {
        if (!(e instanceof DecodeOverrun) && !(e instanceof Misfit)) throw e;
        if (transport.read) lastProblem = e.message;
      }
    }
  }
  return { problem: `not decoded as virtio state: ${lastProblem}` };
}

class Misfit extends Error {}

function decodeWith(bytes: Uint8Array, start: number, size: number, base: number, transport: Transport, skip: number, kind: VirtioDeviceKind | undefined, ctx: VirtioContext): FieldNode[] | undefined {
  const end = start + size;
  const r = new NodeReader(bytes, base, start, end);
  const out: FieldNode[] = [];
  if (transport.read) out.push(r.group('transport', 'struct', () => transport.read!(r)));
  else if (skip) out.push(r.field({ name: 'transport', type: 'buffer', size: skip }));
  const features = (value: bigint) => bitNames(value, TRANSPORT_FEATURES, kind?.features ?? {});
  const status = r.field({ name: 'status', type: 'uint8', meaning: (v) => bitNames(v, STATUS_BITS) });
  out.push(status, r.field({ name: 'isr', type: 'uint8' }), r.field(be16('queue_sel')));
  const featuresLo = r.field({ name: 'guest_features_lo', type: 'uint32', meaning: features });
  const configLen = r.field(be32('config_len'));
  out.push(featuresLo, configLen);
  const configSize = Number(NodeReader.value(configLen));
  if (configSize > 4096) throw new Misfit(`config_len ${configSize} is not a config space size`);
  out.push(r.group('config', 'struct', () => readConfig(r, kind?.config ?? [], configSize)));
  const numQueues = r.field(be32('num_queues'));
  out.push(numQueues);
  const queues = Number(NodeReader.value(numQueues));
  if (queues > QUEUE_MAX) throw new Misfit(`num_queues ${queues} is more than ${QUEUE_MAX}`);
  if (!transport.read && queues === 0) throw new Misfit('no queues');
  const queueNodes = r.array('queues', queues, (i) =>
    r.group('queues', 'struct', () => {
      const q = [r.field(be32('num'))];
      if (transport.alignment) q.push(r.field(be32('align')));
      q.push(r.field(be64('desc')), r.field(be16('last_avail_idx')));
      if (transport.queueVector) q.push(r.field(be16('vector')));
      const num = NodeReader.value(q[0]);
      if (num === 0n || num > 32768n || (num & (num - 1n)) !== 0n) throw new Misfit(`queue ${i} has ring size ${num}`);
      return q;
    }),
  );
  out.push(queueNodes);
  const deviceStart = r.pos;
  const chain = findSubsectionChain(bytes, base, deviceStart, end, queues, transport, features);
  if (!chain) throw new Misfit('the virtio subsections do not end where the field ends');
  const device = readDevicePart(bytes, base, deviceStart, chain.start, kind, NodeReader.value(featuresLo));
  // Where the transport's part was found by search, only a device part that decodes exactly confirms it.
  if (!transport.read && (!chain.nodes.length || device?.problem)) throw new Misfit('the device part does not decode');
  if (device) out.push(device);
  out.push(...chain.nodes);
  noteRings(queueNodes, chain.nodes, NodeReader.value(featuresLo), ctx);
  return out;
}

function readConfig(r: NodeReader, layout: readonly LayoutField[], size: number): FieldNode[] {
  const out: FieldNode[] = [];
  const end = r.pos + size;
  for (const f of layout) {
    const width = f.type === 'buffer' ? f.size! : { uint8: 1, le16: 2, le32: 4, le64: 8 }[f.type as string] ?? 0;
    if (r.pos + width > end) break;
    out.push(r.field(f));
  }
  if (r.pos < end) out.push(r.field({ name: 'rest', type: 'buffer', size: end - r.pos }));
  return out;
}

/** The device's own part, [from, to): decoded if its layout accounts for every byte, else raw. */
function readDevicePart(bytes: Uint8Array, base: number, from: number, to: number, kind: VirtioDeviceKind | undefined, featuresLo: bigint): FieldNode | undefined {
  if (from === to && !kind?.readDevicePart) return undefined;
  const readers = kind?.readDevicePart ? [kind.readDevicePart, ...(kind.name === 'virtio-net' ? [readNetDeviceMultiqueue] : [])] : [];
  for (const read of readers) {
    const r = new NodeReader(bytes, base, from, to);
    try {
      const nodes = read(r, featuresLo);
      if (r.pos === to) return { name: 'device', type: 'struct', offset: base + from, size: to - from, children: nodes };
    } catch (e) {
      if (!(e instanceof DecodeOverrun)) throw e;
    }
  }
  const r = new NodeReader(bytes, base, from, to);
  return r.rest('device', kind ? `the ${kind.name} layout does not account for these ${to - from} bytes` : 'a device this workbench does not decode');
}

// ---------------------------------------------------------------- subsections

/**
 * The "virtio/…" subsections are the last thing virtio_save writes and carry no length, so
 * the device part ends where a chain of them starts that ends exactly at the end of the
 * field. The first such start is it (none: the device part runs to the end).
 */
function findSubsectionChain(bytes: Uint8Array, base: number, from: number, end: number, queues: number, transport: Transport, features: (v: bigint) => string): { start: number; nodes: FieldNode[] } | undefined {
  for (let at = from; at < end; at++) {
    if (bytes[at] !== 0x05 || bytes[at + 2] !== 0x76 /* "v" of "virtio/" */) continue;
    const r = new NodeReader(bytes, base, at, end);
    try {
      const nodes = readVirtioSubsections(r, queues, transport, features);
      if (nodes.length && r.pos === end) return { start: at, nodes };
    } catch (e) {
      if (!(e instanceof DecodeOverrun) && !(e instanceof Misfit)) throw e;
    }
  }
  return { start: end, nodes: [] };
}

function readVirtioSubsections(r: NodeReader, queues: number, transport: Transport, features: (v: bigint) => string): FieldNode[] {
  const out: FieldNode[] = [];
  for (let h = r.subsectionHeader((n) => n.startsWith('virtio/')); h; h = r.subsectionHeader((n) => n.startsWith('virtio/'))) {
    const header = h;
    out.push(r.subsection(header, () => virtioSubsectionBody(r, header.name, queues, transport, features)));
  }
  return out;
}

function virtioSubsectionBody(r: NodeReader, name: string, queues: number, transport: Transport, features: (v: bigint) => string): FieldNode[] {
  switch (name) {
    case 'virtio/device_endian':
      return [r.field({ name: 'device_endian', type: 'uint8', meaning: (v) => ['unknown', 'little', 'big'][Number(v)] })];
    case 'virtio/64bit_features':
      return [r.field({ name: 'guest_features', type: 'uint64', meaning: features })];
    case 'virtio/virtqueues':
      return [perQueue(r, 'vq', queues, 16, () => [r.field(be64('vring.avail')), r.field(be64('vring.used'))])];
    case 'virtio/ringsize':
      return [perQueue(r, 'vq', queues, 4, () => [r.field(be32('vring.num_default'))])];
    case 'virtio/packed_virtqueues':
      return [
        perQueue(r, 'vq', queues, 10, () => r.fields([be16('last_avail_idx'), { name: 'last_avail_wrap_counter', type: 'bool' }, be16('used_idx'), { name: 'used_wrap_counter', type: 'bool' }, be32('inuse')])),
      ];
    case 'virtio/broken':
    case 'virtio/started':
    case 'virtio/disabled':
      return [r.field({ name: name.slice('virtio/'.length), type: 'bool' })];
    case 'virtio/extra_state':
      if (!transport.readExtraState) throw new Misfit('the transport extra state of this transport is not known');
      return transport.readExtraState(r, queues);
    default:
      throw new Misfit(`unknown subsection ${name}`);
  }
}

/**
 * The VIRTIO_QUEUE_MAX entries of a per-queue subsection: the device's queues one by one,
 * the unused rest as one run when it is all zero (it always is, unless damaged).
 */
function perQueue(r: NodeReader, name: string, queues: number, entrySize: number, entry: () => FieldNode[]): FieldNode {
  const start = r.pos;
  const children: FieldNode[] = [];
  for (let i = 0; i < queues; i++) children.push(r.group(name, 'struct', entry, i));
  const rest = r.peek((QUEUE_MAX - queues) * entrySize);
  if (rest.every((b) => b === 0)) {
    if (rest.length) children.push({ ...r.field({ name: `${name}[${queues}..${QUEUE_MAX - 1}]`, type: 'buffer', size: rest.length }), note: 'the queues the device does not have: all zero' });
  } else {
    for (let i = queues; i < QUEUE_MAX; i++) children.push(r.group(name, 'struct', entry, i));
  }
  return { name, type: 'array', offset: r.offsetOf(start), size: r.pos - start, children };
}

// ---------------------------------------------------------------- transports

/** virtio_pci_save_config: the PCI device (pci_device_save), the MSI-X table and PBA, the config vector. */
function pciTransports(bytes: Uint8Array, start: number, size: number): Transport[] {
  // The config space size and MSI-X vector count follow from the config space's capability list.
  const caps = pciCapabilities(bytes.subarray(start + 4, Math.min(start + 4 + 256, start + size)));
  const express = caps.has(PCI_CAP_ID_EXP);
  const vectors = caps.get(PCI_CAP_ID_MSIX);
  const make = (configSize: number): Transport => ({
    queueVector: vectors !== undefined,
    alignment: false,
    read: (r) => {
      const out = [r.field({ name: 'pci.version_id', type: 'int32' }), r.field({ name: 'pci.config', type: 'buffer', size: configSize })];
      out.push(r.array('pci.irq_state', 4, (i) => r.field({ name: `pci.irq_state[${i}]`, type: 'int32' })));
      if (vectors !== undefined) {
        out.push(r.field({ name: 'msix.table', type: 'buffer', size: vectors * 16 }), r.field({ name: 'msix.pba', type: 'buffer', size: Math.ceil(vectors / 8) }), r.field(be16('config_vector')));
      }
      return out;
    },
    readExtraState: (r, queues) => {
      // vmstate_virtio_pci: only the subsection "virtio_pci/modern_state" (modern devices).
      const h = r.subsectionHeader((n) => n === 'virtio_pci/modern_state');
      if (!h) return [];
      return [
        r.subsection(h, () => [
          ...r.fields([be32('dfselect'), be32('gfselect'), be32('guest_features[0]'), be32('guest_features[1]')]),
          perQueue(r, 'vqs', queues, 28, () => [
            ...r.fields([be16('num'), { name: 'unused', type: 'buffer', size: 1 }, { name: 'enabled', type: 'bool' }]),
            ...r.fields(['desc[0]', 'desc[1]', 'avail[0]', 'avail[1]', 'used[0]', 'used[1]'].map(be32)),
          ]),
        ]),
      ];
    },
  });
  return [make(express ? 4096 : 256), make(express ? 256 : 4096)];
}

/** virtio_mmio_save_config: three registers; queues carry their ring alignment; extra state "virtio_mmio/state". */
const MMIO: Transport = {
  queueVector: false,
  alignment: true,
  read: (r) => r.fields([be32('host_features_sel'), be32('guest_features_sel'), be32('guest_page_shift')]),
  readExtraState: (r, queues) => {
    const h = r.subsectionHeader((n) => n === 'virtio_mmio/state');
    if (!h) return [];
    return [
      r.subsection(h, () => [
        ...r.fields([be32('guest_features[0]'), be32('guest_features[1]')]),
        perQueue(r, 'vqs', queues, 27, () => [r.field(be16('num')), r.field({ name: 'enabled', type: 'bool' }), ...r.fields(['desc[0]', 'desc[1]', 'avail[0]', 'avail[1]', 'used[0]', 'used[1]'].map(be32))]),
      ]),
    ];
  },
};

/**
 * virtio-ccw: the subchannel's state (vmstate_virtio_ccw_dev) is not decoded here; the
 * common part is found where it fits. Each queue carries its indicator vector.
 */
const CCW: Transport = { queueVector: true, alignment: false };

/** Other transports: their config part is found by where the common part fits. */
function unknownTransports(): Transport[] {
  return [
    { queueVector: false, alignment: false },
    { queueVector: true, alignment: false },
    { queueVector: false, alignment: true },
  ];
}

/** Capability id → (for MSI-X) the table size; read from a PCI config space (little-endian). */
function pciCapabilities(config: Uint8Array): Map<number, number> {
  const caps = new Map<number, number>();
  if (config.length < 0x40 || (config[6] & 0x10) === 0) return caps;
  const seen = new Set<number>();
  for (let p = config[0x34] & 0xfc; p >= 0x40 && p + 4 <= config.length && !seen.has(p); p = config[p + 1] & 0xfc) {
    seen.add(p);
    const id = config[p];
    caps.set(id, id === PCI_CAP_ID_MSIX ? ((config[p + 2] | (config[p + 3] << 8)) & 0x7ff) + 1 : 0);
  }
  return caps;
}

// ---------------------------------------------------------------- rings

/**
 * What QEMU reads from guest memory when it loads a queue (virtio_load): the avail and used
 * ring indexes, at the ring addresses the modern device migrated or, for a legacy device,
 * computed from the descriptor table like virtio_queue_update_rings. Noted on each queue.
 */
function noteRings(queues: FieldNode, subsections: FieldNode[], featuresLo: bigint, ctx: VirtioContext): void {
  const full = subsections.find((s) => s.name === 'virtio/64bit_features')?.children?.[0];
  const features = full ? NodeReader.value(full) : featuresLo;
  const modern = (features >> BigInt(F_VERSION_1)) & 1n;
  const addresses = subsections.find((s) => s.name === 'virtio/virtqueues')?.children?.[0]?.children ?? [];
  for (const q of queues.children ?? []) {
    const get = (name: string) => NodeReader.value(q.children?.find((c) => c.name === name));
    const desc = get('desc');
    if (desc === 0n) {
      q.note = 'not set up by the guest (no descriptor table)';
      continue;
    }
    const num = get('num');
    let avail: bigint;
    let used: bigint;
    const modernEntry = addresses.find((a) => a.index === q.index)?.children;
    if (modern && modernEntry) {
      avail = NodeReader.value(modernEntry[0]);
      used = NodeReader.value(modernEntry[1]);
    } else {
      const align = BigInt(q.children?.some((c) => c.name === 'align') ? get('align') : BigInt(LEGACY_VRING_ALIGN));
      avail = desc + num * 16n;
      used = ((avail + 4n + 2n * num + align - 1n) / align) * align;
    }
    const rings = `rings: desc 0x${desc.toString(16)}, avail 0x${avail.toString(16)}, used 0x${used.toString(16)}`;
    const state = ctx.guest && readRing(ctx.guest, desc, avail, used, Number(num), Number(get('last_avail_idx')));
    q.note = state ? `${describeRing(state)} (read from guest memory, as QEMU does on load; ${rings})` : `${rings} (guest memory there not read)`;
  }
}

/** What a queue's rings in guest memory say (split rings, little-endian as virtio 1.0 and x86/Arm guests write them). */
export interface RingState {
  availFlags: number;
  availIdx: number;
  usedFlags: number;
  usedIdx: number;
  inUse: number;
  /** The next element QEMU would pop: avail.ring[last_avail_idx % num], and its descriptor chain. */
  head: number;
  descriptors: { addr: bigint; len: number; flags: number }[];
}

const VRING_DESC_F_NEXT = 1;

function readRing(guest: NonNullable<VirtioContext['guest']>, desc: bigint, avail: bigint, used: bigint, num: number, lastAvail: number): RingState | undefined {
  const le = (gpa: bigint, n: number): number | undefined => {
    const b = guest(Number(gpa), n);
    if (!b || b.length < n) return undefined;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + b[k];
    return v;
  };
  const availFlags = le(avail, 2);
  const availIdx = le(avail + 2n, 2);
  const usedFlags = le(used, 2);
  const usedIdx = le(used + 2n, 2);
  const head = le(avail + 4n + 2n * BigInt(lastAvail % num), 2);
  if (availFlags === undefined || availIdx === undefined || usedFlags === undefined || usedIdx === undefined || head === undefined) return undefined;
  const descriptors: RingState['descriptors'] = [];
  for (let i = head, n = 0; n < num && i < num; n++) {
    const at = desc + 16n * BigInt(i);
    const b = guest(Number(at), 16);
    if (!b || b.length < 16) break;
    const v = new DataView(b.buffer, b.byteOffset, 16);
    const d = { addr: v.getBigUint64(0, true), len: v.getUint32(8, true), flags: v.getUint16(12, true) };
    descriptors.push(d);
    if (!(d.flags & VRING_DESC_F_NEXT)) break;
    i = v.getUint16(14, true);
  }
  return { availFlags, availIdx, usedFlags, usedIdx, inUse: (lastAvail - usedIdx) & 0xffff, head, descriptors };
}

const DESC_FLAGS: Record<number, string> = { 0: 'next', 1: 'write', 2: 'indirect' };

function describeRing(s: RingState): string {
  const descs = s.descriptors.map((d) => `addr 0x${d.addr.toString(16)} len ${d.len}${d.flags ? ` (${bitNames(BigInt(d.flags), DESC_FLAGS)})` : ''}`).join(', ');
  return `used_idx ${s.usedIdx}, avail idx ${s.availIdx}, in use ${s.inUse}; avail flags ${s.availFlags}, used flags ${s.usedFlags}; next element: head ${s.head}${descs ? `: ${descs}` : ''}`;
}
