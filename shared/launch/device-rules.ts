import { readBe32, readBe64 } from '../io/bytes';
import { configLe, pciId } from './pci-facts';
import { property, type DeviceKind, type DeviceProperty, type Evidence, type Placeholder } from './hardware';
import type { SectionFacts } from './section-facts';

/**
 * Device sections → -device, one row per section name (the part of the idstr after the
 * qdev path: "0000:00:03.0/e1000" → "e1000"). A row says which driver made the section
 * (told apart by PCI ids where drivers share a section name), what kind of device it is,
 * the properties its state implies and the backend it needs. Properties the loader checks
 * (PCI config capability bytes, INT32_EQUAL fields, RAM block sizes) must be right for the
 * load to succeed; the rest keep the rebuilt VM faithful. Adding a device is adding a row.
 */
export interface DeviceRule {
  section: string;
  kind: DeviceKind;
  /** Where the section's qdev path puts the device. */
  bus: 'pci' | 'usb' | 'scsi';
  driver(f: SectionFacts): string;
  /** Prefix of the QEMU id we give the device ("net" → net0). */
  idPrefix: string;
  /** The driver loads an option ROM by default: no ROM block in the stream means romfile="". */
  defaultRom?: boolean | ((driver: string) => boolean);
  /** The driver has a `vectors` property, which sets its MSI-X table size. */
  vectorsProperty?: boolean;
  properties?(f: SectionFacts): DeviceProperty[];
  /** The backend (id `id`) of the `index`th device with this rule's id prefix; the stream never says what it was. */
  backend?(f: SectionFacts, id: string, index: number): Placeholder & { property: string };
  /** The bus the device provides to others, named from its id. */
  providesBus?(id: string): string;
  /** RAM blocks old machine types register without the device path (global-vmstate): claimed by the device. */
  globalBlocks?: readonly string[];
  /** Other sections the same device saves (claimed together). */
  companions?: readonly string[];
  /** The QEMU source that registers the section. */
  source: string;
}

const byPciId =
  (ids: Record<string, string>, fallback: string) =>
  (f: SectionFacts): string =>
    (f.pci && ids[pciId(f.pci)]) ?? fallback;

/** A MAC address from three little-endian EEPROM words (e1000, e1000e). */
function macFromEeprom(f: SectionFacts, array: string): DeviceProperty[] {
  const words = [0, 1, 2].map((i) => f.int(`${array}[${i}]`));
  if (words.some((w) => w === undefined)) return [];
  const bytes = words.flatMap((w) => [w! & 0xff, w! >> 8]);
  return [property('mac', macText(bytes), f.at(`${array}[0]`, 'MAC address in EEPROM words 0-2'))];
}

function macText(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A NIC's host end. The stand-in is a hub port of its own: the guest's traffic goes nowhere,
 * and unlike -netdev user it adds no "slirp" section to the VM. (A stream that has slirp
 * sections was saved with user-mode networking: see slirpNetdevs in derive-hardware.ts.)
 */
const netdev = (f: SectionFacts, id: string, index: number): Placeholder & { property: string } => ({
  kind: 'netdev',
  id,
  property: 'netdev',
  standIn: `hubport,id=${id},hubid=${index}`,
  replaceWith: `the network ${f.idstr} was connected to (tap, bridge, user, …)${multiqueue(f)}; the stand-in is an unconnected hub port`,
});

/** virtio-net takes its queue pair count from the netdev: a hub port has one. */
function multiqueue(f: SectionFacts): string {
  const pairs = f.name === 'virtio-net' && f.virtio ? Math.floor(f.virtio.queueCount / 2) : 1;
  return pairs > 1 ? `, with queues=${pairs} (the stream has ${pairs} queue pairs; e.g. tap,queues=${pairs})` : '';
}

/**
 * A virtio device's saved config space is the copy its last guest read filled in
 * (virtio_config_readX calls get_config); a guest that never read it leaves zeros, which
 * say nothing about MAC or capacity.
 */
function configWasRead(config: Uint8Array): boolean {
  return config.some((b) => b !== 0);
}

/** virtio_net_config: mac[6], status u16, max_virtqueue_pairs u16. */
function virtioNetProperties(f: SectionFacts): DeviceProperty[] {
  const v = f.virtio;
  if (!v) return [];
  const out: DeviceProperty[] = [];
  if (configWasRead(v.deviceConfig)) out.push(property('mac', macText(v.deviceConfig.subarray(0, 6)), f.here('virtio_net_config.mac')));
  // Queues: rx/tx per pair, plus the control queue when VIRTIO_NET_F_CTRL_VQ was offered.
  const pairs = Math.floor(v.queueCount / 2);
  if (pairs > 1) {
    // The pair count itself comes from the netdev's queues= (see netdev below).
    out.push(property('mq', true, f.here(`${v.queueCount} virtqueues saved: ${pairs} queue pairs`)));
  }
  return out;
}

/** virtio_blk_config: capacity le64 in 512-byte sectors; queues one per request queue. */
function virtioBlkProperties(f: SectionFacts): DeviceProperty[] {
  const v = f.virtio;
  return v ? [property('num-queues', v.queueCount, f.here(`${v.queueCount} request virtqueues saved`))] : [];
}

function diskOfCapacity(f: SectionFacts, id: string, bytes: number | undefined): Placeholder & { property: string } {
  const size = bytes && bytes > 0 ? bytes : 1 << 30;
  return {
    kind: 'disk',
    id,
    property: 'drive',
    standIn: `driver=null-co,node-name=${id},size=${size},read-zeroes=on`,
    replaceWith: `the disk image of ${f.idstr}${bytes ? ` (${size} bytes, from its config space)` : ' (its size is not in the stream)'}`,
  };
}

/** The virtio-serial device state after the common part: config (cols, rows, max_nr_ports), ports map, active ports. */
export function virtioSerialPorts(f: SectionFacts): { maxPorts: number; ports: number[] } | undefined {
  const v = f.virtio;
  const blob = f.bytes('virtio');
  if (!v || !blob) return undefined;
  let at = v.deviceState + 4;
  if (at + 4 > blob.length) return undefined;
  const maxPorts = ((blob[at] << 24) | (blob[at + 1] << 16) | (blob[at + 2] << 8) | blob[at + 3]) >>> 0;
  at += 4 + Math.ceil(maxPorts / 32) * 4;
  if (at + 4 > blob.length || maxPorts > 511) return undefined;
  const active = ((blob[at] << 24) | (blob[at + 1] << 16) | (blob[at + 2] << 8) | blob[at + 3]) >>> 0;
  at += 4;
  const ports: number[] = [];
  for (let i = 0; i < active && at + 10 <= blob.length; i++) {
    ports.push(((blob[at] << 24) | (blob[at + 1] << 16) | (blob[at + 2] << 8) | blob[at + 3]) >>> 0);
    const elementPopped = (blob[at + 6] << 24) | (blob[at + 7] << 16) | (blob[at + 8] << 8) | blob[at + 9];
    // A popped element carries a whole virtqueue element; the port ids after it cannot be found without decoding it.
    if (elementPopped) break;
    at += 10;
  }
  return { maxPorts, ports };
}

/**
 * virtio-mem's migration sanity values (hw/virtio/virtio-mem.c vmstate_virtio_mem_sanity_checks):
 * in the early-setup section's "tmp" struct (QEMU 8+, x-early-migration), or else first
 * in the device state inside the virtio blob, big-endian: addr, region_size, block_size
 * u64, node u32, then usable_region_size, size, requested_size u64.
 */
export function virtioMemState(
  main: SectionFacts,
  early: SectionFacts | undefined,
): { addr: number; regionSize: number; blockSize: number; node: number; requestedSize: number; evidence(field: string): Evidence } | undefined {
  if (early && early.int('tmp.addr') !== undefined) {
    const blob = main.bytes('virtio');
    const v = main.virtio;
    // The main section (early migration) keeps usable_region_size and requested_size.
    const requestedSize = blob && v && v.deviceState + 16 <= blob.length ? readBe64(blob, v.deviceState + 8) : 0;
    return {
      addr: early.int('tmp.addr')!,
      regionSize: early.int('tmp.region_size') ?? 0,
      blockSize: early.int('tmp.block_size') ?? 0,
      node: early.int('tmp.node') ?? 0,
      requestedSize,
      evidence: (field) => (field === 'requested_size' ? main.here('requested_size in the device state') : early.at(`tmp.${field}`, `virtio-mem ${field}, checked on load`)),
    };
  }
  const v = main.virtio;
  const blob = main.bytes('virtio');
  if (!v || !blob || v.deviceState + 52 > blob.length) return undefined;
  const at = v.deviceState;
  return {
    addr: readBe64(blob, at),
    regionSize: readBe64(blob, at + 8),
    blockSize: readBe64(blob, at + 16),
    node: readBe32(blob, at + 24),
    requestedSize: readBe64(blob, at + 44),
    evidence: (field) => main.here(`virtio-mem ${field} in the device state${field === 'requested_size' ? '' : ', checked on load'}`),
  };
}

/** A QXL device's sizes: RAM bar = its vga.vram block, vram = qxl.vram, vgamem from the QXLRom in qxl.vrom. */
function qxlProperties(f: SectionFacts): DeviceProperty[] {
  const blocks = f.ownBlocks();
  const out: DeviceProperty[] = [];
  // The RAM bar: "vga.vram" of qxl-vga, "qxl.vgavram" of a secondary qxl. QEMU makes it at least twice vgamem.
  const ram = blocks.get('vga.vram') ?? blocks.get('qxl.vgavram');
  const vram = blocks.get('qxl.vram');
  if (ram) out.push(property('ram_size', ram.usedLength, { section: 'ram', offset: ram.recordOffset, says: `RAM block ${ram.id} is ${ram.usedLength} bytes` }));
  if (vram) out.push(property('vram_size', vram.usedLength, { section: 'ram', offset: vram.recordOffset, says: `RAM block ${f.pciPath}/qxl.vram is ${vram.usedLength} bytes` }));
  // QXLRom (spice-protocol qxl_dev.h), little-endian: magic "QXRO" at 0, surface0_area_size at 40 (the vgamem size).
  const rom = f.blockPage('qxl.vrom');
  if (rom && rom[0] === 0x51 && rom[1] === 0x58 && rom[2] === 0x52 && rom[3] === 0x4f) {
    const vgamem = configLe(rom, 40, 4)!;
    if (vgamem % (1 << 20) === 0 && vgamem > 0) out.push(property('vgamem_mb', vgamem / (1 << 20), { section: 'ram', says: `QXLRom.surface0_area_size in RAM block ${f.pciPath}/qxl.vrom is ${vgamem} bytes` }));
  }
  const surfaces = f.int('num_surfaces');
  if (surfaces !== undefined && surfaces !== 1024) out.push(property('surfaces', surfaces, f.at('num_surfaces', 'loaded with VMSTATE_INT32_EQUAL: must match')));
  return out;
}

export const DEVICE_RULES: readonly DeviceRule[] = [
  {
    section: 'e1000',
    kind: 'nic',
    bus: 'pci',
    idPrefix: 'net',
    defaultRom: true,
    driver: byPciId({ '8086:100e': 'e1000', '8086:100f': 'e1000-82545em', '8086:1008': 'e1000-82544gc' }, 'e1000'),
    properties: (f) => macFromEeprom(f, 'eeprom_data'),
    backend: netdev,
    source: 'hw/net/e1000.c vmstate_e1000',
  },
  {
    section: 'e1000e',
    kind: 'nic',
    bus: 'pci',
    idPrefix: 'net',
    defaultRom: true,
    driver: () => 'e1000e',
    properties: (f) => [
      ...macFromEeprom(f, 'core.eeprom'),
      // hw_compat_7_2: e1000e migrate-timadj=off; the field is in the stream or not.
      { ...property('migrate-timadj', f.field('core.timadj') !== undefined, f.here(f.field('core.timadj') ? 'the section has core.timadj' : 'the section has no core.timadj')), onlyWhereSupported: true },
    ],
    backend: netdev,
    source: 'hw/net/e1000e.c e1000e_vmstate',
  },
  {
    section: 'rtl8139',
    kind: 'nic',
    bus: 'pci',
    idPrefix: 'net',
    defaultRom: true,
    driver: () => 'rtl8139',
    properties: (f) => {
      const phys = f.bytes('phys');
      return phys?.length === 6 ? [property('mac', macText(phys), f.at('phys', 'MAC address register'))] : [];
    },
    backend: netdev,
    source: 'hw/net/rtl8139.c vmstate_rtl8139',
  },
  {
    section: 'virtio-net',
    kind: 'nic',
    bus: 'pci',
    idPrefix: 'net',
    defaultRom: true,
    vectorsProperty: true,
    driver: () => 'virtio-net-pci',
    properties: virtioNetProperties,
    backend: netdev,
    source: 'hw/net/virtio-net.c vmstate_virtio_net',
  },
  {
    section: 'virtio-blk',
    kind: 'disk',
    bus: 'pci',
    idPrefix: 'disk',
    vectorsProperty: true,
    driver: () => 'virtio-blk-pci',
    properties: virtioBlkProperties,
    backend: (f, id) => {
      const sectors = f.virtio && configWasRead(f.virtio.deviceConfig) ? configLe(f.virtio.deviceConfig, 0, 8) : undefined;
      return diskOfCapacity(f, id, sectors ? sectors * 512 : undefined);
    },
    source: 'hw/block/virtio-blk.c vmstate_virtio_blk',
  },
  {
    section: 'virtio-scsi',
    kind: 'storage-controller',
    bus: 'pci',
    idPrefix: 'scsi',
    vectorsProperty: true,
    driver: () => 'virtio-scsi-pci',
    properties: (f) => {
      const v = f.virtio;
      // Control and event queues, then one per request queue.
      return v && v.queueCount > 2 ? [property('num_queues', v.queueCount - 2, f.here(`${v.queueCount} virtqueues saved: control, event and ${v.queueCount - 2} request queues`))] : [];
    },
    providesBus: (id) => `${id}.0`,
    source: 'hw/scsi/virtio-scsi.c vmstate_virtio_scsi',
  },
  {
    section: 'scsi-disk',
    kind: 'disk',
    bus: 'scsi',
    idPrefix: 'disk',
    driver: () => 'scsi-hd',
    backend: (f, id) => diskOfCapacity(f, id, undefined),
    source: 'hw/scsi/scsi-disk.c vmstate_scsi_disk_state (scsi-hd and scsi-cd share it; scsi-hd assumed)',
  },
  {
    section: 'virtio-console',
    kind: 'virtio-serial',
    bus: 'pci',
    idPrefix: 'vserial',
    vectorsProperty: true,
    driver: () => 'virtio-serial-pci',
    properties: (f) => {
      const ports = virtioSerialPorts(f);
      return ports && ports.maxPorts !== 31 ? [property('max_ports', ports.maxPorts, f.here('virtio_console_config.max_nr_ports'))] : [];
    },
    providesBus: (id) => `${id}.0`,
    source: 'hw/char/virtio-serial-bus.c vmstate_virtio_console',
  },
  {
    section: 'virtio-balloon',
    kind: 'balloon',
    bus: 'pci',
    idPrefix: 'balloon',
    driver: () => 'virtio-balloon-pci',
    properties: (f) => {
      const v = f.virtio;
      if (!v) return [];
      // Features off by default that a guest can only have negotiated if the device offered them.
      const bits: [number, string][] = [
        [2, 'deflate-on-oom'],
        [3, 'free-page-hint'],
        [5, 'free-page-reporting'],
      ];
      return bits.filter(([bit]) => v.guestFeaturesLow & (1 << bit)).map(([bit, name]) => property(name, true, f.here(`guest feature bit ${bit} negotiated`)));
    },
    source: 'hw/virtio/virtio-balloon.c vmstate_virtio_balloon',
  },
  {
    section: 'virtio-rng',
    kind: 'rng',
    bus: 'pci',
    idPrefix: 'rng',
    vectorsProperty: true,
    driver: () => 'virtio-rng-pci',
    source: 'hw/virtio/virtio-rng.c vmstate_virtio_rng',
  },
  {
    section: 'virtio-mem',
    kind: 'memory',
    bus: 'pci',
    idPrefix: 'vmem',
    driver: () => 'virtio-mem-pci',
    companions: ['virtio-mem-device-early'],
    // hw_compat_7_2: virtio-mem x-early-migration=false; the early-setup section is in the stream or not.
    properties: (f) => {
      const early = f.model.elements.some((e) => e.idstr === `${f.pciPath}/virtio-mem-device-early`);
      return [{ ...property('x-early-migration', early, f.here(early ? 'a virtio-mem-device-early section precedes it' : 'no virtio-mem-device-early section')), onlyWhereSupported: true }];
    },
    source: 'hw/virtio/virtio-mem.c vmstate_virtio_mem (and vmstate_virtio_mem_device_early, x-early-migration)',
  },
  {
    section: 'xhci',
    kind: 'usb-controller',
    bus: 'pci',
    idPrefix: 'usb',
    driver: byPciId({ '1b36:000d': 'qemu-xhci', '1033:0194': 'nec-usb-xhci' }, 'qemu-xhci'),
    properties: (f) => {
      const out: DeviceProperty[] = [];
      const ports = f.field('xhci.ports')?.children?.length;
      if (ports !== undefined && ports !== 8) {
        out.push(property('p2', Math.ceil(ports / 2), f.at('xhci.ports', `${ports} root hub ports`)), property('p3', Math.floor(ports / 2), f.at('xhci.ports', `${ports} root hub ports`)));
      }
      return out;
    },
    providesBus: (id) => `${id}.0`,
    source: 'hw/usb/hcd-xhci.c vmstate_xhci',
  },
  {
    section: 'ich9_ahci',
    kind: 'storage-controller',
    bus: 'pci',
    idPrefix: 'sata',
    driver: () => 'ich9-ahci',
    providesBus: (id) => id,
    source: 'hw/ide/ich.c vmstate_ich9_ahci',
  },
  {
    section: 'usb-kbd',
    kind: 'input',
    bus: 'usb',
    idPrefix: 'input',
    driver: () => 'usb-kbd',
    source: 'hw/usb/dev-hid.c vmstate_usb_kbd',
  },
  {
    section: 'usb-ptr',
    kind: 'input',
    bus: 'usb',
    idPrefix: 'input',
    driver: () => 'usb-tablet',
    source: 'hw/usb/dev-hid.c vmstate_usb_ptr (usb-tablet and usb-mouse share it; usb-tablet assumed)',
  },
  {
    section: 'vga',
    kind: 'display',
    bus: 'pci',
    idPrefix: 'video',
    defaultRom: true,
    driver: (f) => (f.pci && f.pci.classCode >> 8 === 0x0380 ? 'secondary-vga' : 'VGA'),
    globalBlocks: ['vga.vram'],
    properties: (f) => {
      const vram = f.ownBlocks(['vga.vram']).get('vga.vram');
      return vram ? [property('vgamem_mb', vram.usedLength / (1 << 20), { section: 'ram', offset: vram.recordOffset, says: `RAM block ${f.pciPath}/vga.vram is ${vram.usedLength} bytes` })] : [];
    },
    source: 'hw/display/vga-pci.c vmstate_vga_pci',
  },
  {
    section: 'qxl',
    kind: 'display',
    bus: 'pci',
    idPrefix: 'video',
    // Only the VGA-compatible qxl-vga carries vgabios-qxl.bin.
    defaultRom: (driver) => driver === 'qxl-vga',
    driver: (f) => (f.pci && f.pci.classCode >> 8 === 0x0300 ? 'qxl-vga' : 'qxl'),
    properties: qxlProperties,
    source: 'hw/display/qxl.c qxl_vmstate',
  },
  {
    section: 'bochs-display',
    kind: 'display',
    bus: 'pci',
    idPrefix: 'video',
    defaultRom: true,
    driver: () => 'bochs-display',
    properties: (f) => {
      const vram = f.ownBlocks().get('bochs-display-vram');
      return vram ? [property('vgamem', vram.usedLength, { section: 'ram', offset: vram.recordOffset, says: `RAM block ${f.pciPath}/bochs-display-vram is ${vram.usedLength} bytes` })] : [];
    },
    source: 'hw/display/bochs-display.c vmstate_bochs_display',
  },
  {
    section: 'cirrus_vga',
    kind: 'display',
    bus: 'pci',
    idPrefix: 'video',
    defaultRom: true,
    driver: () => 'cirrus-vga',
    source: 'hw/display/cirrus_vga.c vmstate_pci_cirrus_vga',
  },
  {
    section: 'pcie-root-port',
    kind: 'pci-bridge',
    bus: 'pci',
    idPrefix: 'rp',
    driver: () => 'pcie-root-port',
    properties: (f) => {
      const out: DeviceProperty[] = [];
      const pci = f.pci;
      if (pci?.pciePort !== undefined) out.push(property('port', `0x${pci.pciePort.toString(16)}`, f.here('PCIe Link Capabilities port number (a capability byte the loader compares)')));
      if (pci?.pcieSlot !== undefined) out.push(property('slot', pci.pcieSlot, f.here('PCIe Slot Capabilities physical slot number (a capability byte the loader compares)')));
      return out;
    },
    providesBus: (id) => id,
    source: 'hw/pci-bridge/pcie_root_port.c vmstate_rp_dev',
  },
];

export function deviceRule(section: string): DeviceRule | undefined {
  return DEVICE_RULES.find((r) => r.section === section || r.companions?.includes(section));
}
