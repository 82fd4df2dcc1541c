import type { FieldNode } from '../vmstate-decode';
import { NodeReader, type LayoutField } from './node-reader';

/**
 * What virtio devices put in their state, as data: feature bit names (QEMU 7.2's
 * hw/virtio/virtio.c feature maps, numbers from linux/virtio_*.h), the device config space
 * layouts (virtio spec §5), and the device's own part of virtio_save (its vmsd or legacy
 * save function: hw/net/virtio-net.c, hw/block/virtio-blk.c, hw/char/virtio-serial-bus.c,
 * hw/virtio/virtio-balloon.c). Keyed by the section's vmsd name.
 */
export interface VirtioDeviceKind {
  /** The device as QEMU names it ("virtio-net"). */
  name: string;
  features: Record<number, string>;
  /** The config space, in the device's byte order (little-endian for virtio 1.0 and on x86/Arm). */
  config: readonly LayoutField[];
  /** The device's own state after the queues; the reader ends where the virtio subsections start. */
  readDevicePart?: (r: NodeReader, guestFeatures: bigint) => FieldNode[];
}

/** Transport and ring features every device has (virtio_transport_map). */
export const TRANSPORT_FEATURES: Record<number, string> = {
  24: 'VIRTIO_F_NOTIFY_ON_EMPTY',
  27: 'VIRTIO_F_ANY_LAYOUT',
  28: 'VIRTIO_RING_F_INDIRECT_DESC',
  29: 'VIRTIO_RING_F_EVENT_IDX',
  32: 'VIRTIO_F_VERSION_1',
  33: 'VIRTIO_F_IOMMU_PLATFORM',
  34: 'VIRTIO_F_RING_PACKED',
  35: 'VIRTIO_F_IN_ORDER',
  36: 'VIRTIO_F_ORDER_PLATFORM',
  37: 'VIRTIO_F_SR_IOV',
};

/** Vhost bits QEMU's maps name for the devices that may have a vhost backend. */
const VHOST_FEATURES: Record<number, string> = { 26: 'VHOST_F_LOG_ALL', 30: 'VHOST_USER_F_PROTOCOL_FEATURES' };

/** The device status register (virtio_config_status_map). */
export const STATUS_BITS: Record<number, string> = {
  0: 'VIRTIO_CONFIG_S_ACKNOWLEDGE',
  1: 'VIRTIO_CONFIG_S_DRIVER',
  2: 'VIRTIO_CONFIG_S_DRIVER_OK',
  3: 'VIRTIO_CONFIG_S_FEATURES_OK',
  6: 'VIRTIO_CONFIG_S_NEEDS_RESET',
  7: 'VIRTIO_CONFIG_S_FAILED',
};

/** VIRTIO_F_VERSION_1 */
export const F_VERSION_1 = 32;

/** Names of the set bits of `value`, in bit order; unnamed ones as "bit N". */
export function bitNames(value: bigint, ...tables: Record<number, string>[]): string {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((value >> BigInt(bit)) & 1n) === 0n) continue;
    names.push(tables.map((t) => t[bit]).find((n) => n !== undefined) ?? `bit ${bit}`);
  }
  return names.length ? names.join(', ') : 'none';
}

const u8 = (name: string): LayoutField => ({ name, type: 'uint8' });
const be16 = (name: string): LayoutField => ({ name, type: 'uint16' });
const be32 = (name: string): LayoutField => ({ name, type: 'uint32' });
const be64 = (name: string): LayoutField => ({ name, type: 'uint64' });
const le16 = (name: string): LayoutField => ({ name, type: 'le16' });
const le32 = (name: string): LayoutField => ({ name, type: 'le32' });
const le64 = (name: string): LayoutField => ({ name, type: 'le64' });
const buf = (name: string, size: number): LayoutField => ({ name, type: 'buffer', size });

// ---------------------------------------------------------------- virtio-net

const NET_FEATURES: Record<number, string> = {
  0: 'VIRTIO_NET_F_CSUM', 1: 'VIRTIO_NET_F_GUEST_CSUM', 2: 'VIRTIO_NET_F_CTRL_GUEST_OFFLOADS', 3: 'VIRTIO_NET_F_MTU', 5: 'VIRTIO_NET_F_MAC', 6: 'VIRTIO_NET_F_GSO',
  7: 'VIRTIO_NET_F_GUEST_TSO4', 8: 'VIRTIO_NET_F_GUEST_TSO6', 9: 'VIRTIO_NET_F_GUEST_ECN', 10: 'VIRTIO_NET_F_GUEST_UFO', 11: 'VIRTIO_NET_F_HOST_TSO4',
  12: 'VIRTIO_NET_F_HOST_TSO6', 13: 'VIRTIO_NET_F_HOST_ECN', 14: 'VIRTIO_NET_F_HOST_UFO', 15: 'VIRTIO_NET_F_MRG_RXBUF', 16: 'VIRTIO_NET_F_STATUS',
  17: 'VIRTIO_NET_F_CTRL_VQ', 18: 'VIRTIO_NET_F_CTRL_RX', 19: 'VIRTIO_NET_F_CTRL_VLAN', 20: 'VIRTIO_NET_F_CTRL_RX_EXTRA', 21: 'VIRTIO_NET_F_GUEST_ANNOUNCE',
  22: 'VIRTIO_NET_F_MQ', 23: 'VIRTIO_NET_F_CTRL_MAC_ADDR', 57: 'VIRTIO_NET_F_HASH_REPORT', 60: 'VIRTIO_NET_F_RSS', 61: 'VIRTIO_NET_F_RSC_EXT',
  62: 'VIRTIO_NET_F_STANDBY', 63: 'VIRTIO_NET_F_SPEED_DUPLEX',
  ...VHOST_FEATURES,
  27: 'VHOST_NET_F_VIRTIO_NET_HDR',
};
const NET_F_CTRL_GUEST_OFFLOADS = 2n;
/** MAX_VLAN >> 3: the VLAN filter bitmap (hw/net/virtio-net.c). */
const VLAN_BITMAP_BYTES = 4096 >> 3;
const ETH_ALEN = 6;

/** vmstate_virtio_net_device; whether max_queue_pairs > 1 is not in the stream, so both readings are tried. */
function readNetDevice(r: NodeReader, guestFeatures: bigint, multiqueue: boolean): FieldNode[] {
  const out: FieldNode[] = [buf('mac', ETH_ALEN), be32('vqs[0].tx_waiting'), be32('mergeable_rx_bufs'), be16('status'), u8('promisc'), u8('allmulti')].map((f) => r.field(f));
  const inUse = r.field(be32('mac_table.in_use'));
  out.push(inUse, r.field(buf('mac_table.macs', Number(NodeReader.value(inUse)) * ETH_ALEN)));
  out.push(...r.fields([buf('vlans', VLAN_BITMAP_BYTES), be32('has_vnet_hdr'), u8('mac_table.multi_overflow'), u8('mac_table.uni_overflow'), u8('alluni'), u8('nomulti'), u8('nouni'), u8('nobcast'), u8('has_ufo')]));
  let currPairs = 1n;
  if (multiqueue) {
    out.push(r.field(be16('max_queue_pairs')));
    const curr = r.field(be16('curr_queue_pairs'));
    out.push(curr);
    currPairs = NodeReader.value(curr);
  }
  const more = currPairs > 1n ? Number(currPairs - 1n) : 0;
  if (more) out.push(r.array('vqs_1', more, (i) => r.field(be32(`vqs[${i + 1}].tx_waiting`))));
  if (guestFeatures & (1n << NET_F_CTRL_GUEST_OFFLOADS)) out.push(r.field(be64('curr_guest_offloads')));
  const rss = r.subsectionHeader((name) => name === 'virtio-net-device/rss');
  if (rss) {
    out.push(
      r.subsection(rss, () => {
        const fields = r.fields([{ name: 'rss_data.enabled', type: 'bool' }, { name: 'rss_data.redirect', type: 'bool' }, { name: 'rss_data.populate_hash', type: 'bool' }, be32('rss_data.hash_types')]);
        const len = r.field(be16('rss_data.indirections_len'));
        fields.push(len, r.field(be16('rss_data.default_queue')), r.field(buf('rss_data.key', RSS_MAX_KEY_SIZE)));
        fields.push(r.array('rss_data.indirections_table', Number(NodeReader.value(len)), (i) => r.field(be16(`rss_data.indirections_table[${i}]`))));
        return fields;
      }),
    );
  }
  return out;
}

/** VIRTIO_NET_RSS_MAX_KEY_SIZE */
const RSS_MAX_KEY_SIZE = 40;

// ---------------------------------------------------------------- devices

export const VIRTIO_DEVICES: Record<string, VirtioDeviceKind> = {
  'virtio-net': {
    name: 'virtio-net',
    features: NET_FEATURES,
    config: [buf('mac', ETH_ALEN), le16('status'), le16('max_virtqueue_pairs'), le16('mtu'), le32('speed'), u8('duplex'), u8('rss_max_key_size'), le16('rss_max_indirection_table_length'), le32('supported_hash_types')],
    readDevicePart: (r, features) => readNetDevice(r, features, false),
  },
  'virtio-blk': {
    name: 'virtio-blk',
    features: { 0: 'VIRTIO_BLK_F_BARRIER', 1: 'VIRTIO_BLK_F_SIZE_MAX', 2: 'VIRTIO_BLK_F_SEG_MAX', 4: 'VIRTIO_BLK_F_GEOMETRY', 5: 'VIRTIO_BLK_F_RO', 6: 'VIRTIO_BLK_F_BLK_SIZE', 7: 'VIRTIO_BLK_F_SCSI', 9: 'VIRTIO_BLK_F_FLUSH', 10: 'VIRTIO_BLK_F_TOPOLOGY', 11: 'VIRTIO_BLK_F_CONFIG_WCE', 12: 'VIRTIO_BLK_F_MQ', 13: 'VIRTIO_BLK_F_DISCARD', 14: 'VIRTIO_BLK_F_WRITE_ZEROES', ...VHOST_FEATURES },
    config: [
      le64('capacity'), le32('size_max'), le32('seg_max'), le16('geometry.cylinders'), u8('geometry.heads'), u8('geometry.sectors'), le32('blk_size'),
      u8('physical_block_exp'), u8('alignment_offset'), le16('min_io_size'), le32('opt_io_size'), u8('wce'), u8('unused'), le16('num_queues'),
      le32('max_discard_sectors'), le32('max_discard_seg'), le32('discard_sector_alignment'), le32('max_write_zeroes_sectors'), le32('max_write_zeroes_seg'), u8('write_zeroes_may_unmap'),
    ],
    // virtio_blk_save_device: each in-flight request as 1 + its element, then 0.
    readDevicePart: (r) => {
      if (r.peek(1)[0] !== 0) return [r.rest('requests', 'requests in flight; their virtqueue elements are not decoded')];
      return [r.field(u8('requests_end'))];
    },
  },
  'virtio-console': {
    name: 'virtio-serial',
    features: { 0: 'VIRTIO_CONSOLE_F_SIZE', 1: 'VIRTIO_CONSOLE_F_MULTIPORT', 2: 'VIRTIO_CONSOLE_F_EMERG_WRITE' },
    config: [le16('cols'), le16('rows'), le32('max_nr_ports'), le32('emerg_wr')],
    // virtio_serial_save_device: config, the ports map, then each port.
    readDevicePart: (r) => {
      const out = r.fields([be16('cols'), be16('rows')]);
      // The config copy is in the device's byte order before QEMU writes it big-endian, so a
      // big-endian guest's device (s390x) shows it byte-swapped; the ports map follows the real count.
      const max = r.field(be32('max_nr_ports'));
      const value = Number(NodeReader.value(max));
      const ports = Math.min(value, ((value & 0xff) << 24 | (value & 0xff00) << 8 | (value >>> 8) & 0xff00 | value >>> 24) >>> 0);
      if (ports !== value) max.note = `${ports} (in the device's big-endian byte order)`;
      out.push(max);
      out.push(r.array('ports_map', Math.ceil(ports / 32), (i) => r.field(be32(`ports_map[${i}]`))));
      const active = r.field(be32('nr_active_ports'));
      out.push(active);
      out.push(
        r.array('ports', Number(NodeReader.value(active)), (i) =>
          r.group(`ports[${i}]`, 'struct', () => {
            const port = r.fields([be32('id'), u8('guest_connected'), u8('host_connected')]);
            const popped = r.field(be32('elem_popped'));
            port.push(popped);
            if (NodeReader.value(popped)) port.push(r.field(be32('iov_idx')), r.field(be64('iov_offset')), r.rest('elem', 'a popped virtqueue element; not decoded'));
            return port;
          }),
        ),
      );
      return out;
    },
  },
  'virtio-balloon': {
    name: 'virtio-balloon',
    features: { 0: 'VIRTIO_BALLOON_F_MUST_TELL_HOST', 1: 'VIRTIO_BALLOON_F_STATS_VQ', 2: 'VIRTIO_BALLOON_F_DEFLATE_ON_OOM', 3: 'VIRTIO_BALLOON_F_FREE_PAGE_HINT', 4: 'VIRTIO_BALLOON_F_PAGE_POISON', 5: 'VIRTIO_BALLOON_F_REPORTING' },
    config: [le32('num_pages'), le32('actual'), le32('free_page_hint_cmd_id'), le32('poison_val')],
    // vmstate_virtio_balloon_device
    readDevicePart: (r) => [
      ...r.fields([be32('num_pages'), be32('actual')]),
      ...readSubsections(r, (n) => n === 'virtio-balloon-device/free-page-report' || n === 'virtio-balloon-device/page-poison', (name) =>
        name.endsWith('/free-page-report') ? [be32('free_page_hint_cmd_id'), be32('free_page_hint_status')] : [be32('poison_val')],
      ),
    ],
  },
  'virtio-scsi': {
    name: 'virtio-scsi',
    features: { 0: 'VIRTIO_SCSI_F_INOUT', 1: 'VIRTIO_SCSI_F_HOTPLUG', 2: 'VIRTIO_SCSI_F_CHANGE', 3: 'VIRTIO_SCSI_F_T10_PI', ...VHOST_FEATURES },
    config: [le32('num_queues'), le32('seg_max'), le32('max_sectors'), le32('cmd_per_lun'), le32('event_info_size'), le32('sense_size'), le32('cdb_size'), le16('max_channel'), le16('max_target'), le32('max_lun')],
    readDevicePart: () => [], // requests travel with the SCSI bus's own state, not here
  },
  'virtio-rng': { name: 'virtio-rng', features: VHOST_FEATURES, config: [], readDevicePart: () => [] },
};

/** The multiqueue reading of virtio-net's device part, tried when the single-queue one does not fit. */
export function readNetDeviceMultiqueue(r: NodeReader, guestFeatures: bigint): FieldNode[] {
  return readNetDevice(r, guestFeatures, true);
}

/** Subsections whose names `accept` takes, each body read with the fields `body` gives for its name. */
export function readSubsections(r: NodeReader, accept: (name: string) => boolean, body: (name: string) => LayoutField[]): FieldNode[] {
  const out: FieldNode[] = [];
  for (let h = r.subsectionHeader(accept); h; h = r.subsectionHeader(accept)) {
    const header = h;
    out.push(r.subsection(header, () => r.fields(body(header.name))));
  }
  return out;
}
