import { hex } from '../diagnostics';
import type { QemuStreamModel } from '../formats/qemu-stream/model';

/**
 * Where QEMU maps each RAM block in the guest-physical address space, per machine type,
 * as QEMU 7.2-10.x builds it (the rules are restated here and in the README):
 *
 * pc (i440fx), hw/i386/pc_piix.c + pc.c pc_memory_init:
 *   RAM below 4 GiB = min(ram, lowmem) where lowmem = max-ram-below-4g (default 3.5 GiB)
 *   lowered to 3 GiB when the RAM does not fit below it (gigabyte alignment, machine types
 *   newer than pc-i440fx-1.7); the rest of pc.ram continues at 4 GiB.
 * q35, hw/i386/pc_q35.c: lowmem = 2 GiB when ram >= 2.75 GiB, else 2.75 GiB (leaving room for
 *   the PCI hole and the 256 MiB MMCONFIG window), capped by max-ram-below-4g; rest at 4 GiB.
 * Both: [0xa0000, 0xc0000) is the legacy VGA window (MMIO, not RAM); [0xc0000, 0x100000)
 *   shows pc.ram where the host bridge's PAM registers enable reads (SeaBIOS shadows its ROM
 *   there), and otherwise the ROMs behind it: pc.rom at 0xc0000 and the "isa-bios" alias of
 *   the last 128 KiB of pc.bios below 1 MiB; pc.bios sits just below 4 GiB; PCI BARs (VGA
 *   framebuffers, option ROMs) hold device RAM where the guest programmed them, 64-bit BARs
 *   (QXL's vram64) above 4 GiB too.
 * arm/aarch64 virt, hw/arm/virt.c: flash0/flash1 (64 MiB each) at 0 and 64 MiB; RAM at 1 GiB.
 * riscv virt, hw/riscv/virt.c: mask ROM at 0x1000; flash0/flash1 at 0x20000000/0x22000000;
 *   RAM at 2 GiB.
 * s390x (s390-ccw-virtio): RAM at 0.
 * fw_cfg blobs (/rom@etc/acpi/tables and the like) are never mapped.
 */
export type MachineFamily = 'pc' | 'q35' | 'arm-virt' | 'riscv-virt' | 's390x';

export interface MemoryRegion {
  gpa: number;
  size: number;
  /** Index into model.ramBlocks. */
  block: number;
  blockId: string;
  blockOffset: number;
  /** Mapped read-only (ROMs, BIOS shadow after PAM write-protect, flash). */
  readOnly: boolean;
  /** Why QEMU maps it there. */
  why: string;
}

export interface MachineLayout {
  family: MachineFamily;
  machineType?: string;
  /** The rule used, in one sentence. */
  rule: string;
  /** Sorted by gpa, non-overlapping. */
  regions: MemoryRegion[];
  /** Blocks with no guest-physical mapping, and why. */
  unmapped: { block: number; blockId: string; reason: string }[];
}

export interface LayoutOptions {
  /** -M …,max-ram-below-4g=N: not in the stream, so it must be given when it was set. */
  maxRamBelow4g?: number;
  /** PCI config space (256 bytes) by qdev path ("0000:00:02.0"), from the device sections. */
  pciConfig?: ReadonlyMap<string, Uint8Array>;
  /**
   * A QXL device's vram_size property (default 64 MiB): how much of its surface RAM BAR1 shows
   * when a 64-bit BAR shows all of it. Not recorded in the stream.
   */
  qxlVram32Size?: number;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const KiB = 1024;

/** Which machine a stream belongs to, from the configuration section or else its RAM blocks. */
export function machineFamily(model: QemuStreamModel): MachineFamily | undefined {
  const name = model.machineType ?? '';
  const has = (id: string) => model.ramBlocks.some((b) => b.id === id);
  if (/^pc-q35/.test(name) || name === 'q35') return 'q35';
  if (/^pc(-i440fx)?(-|$)/.test(name) || (!name && has('pc.ram') && !model.elements.some((e) => e.idstr?.endsWith('/mch')))) return 'pc';
  if (!name && has('pc.ram')) return 'q35';
  if (has('mach-virt.ram')) return 'arm-virt';
  if (has('riscv_virt_board.ram')) return 'riscv-virt';
  if (/^s390-ccw-virtio/.test(name) || has('s390.ram')) return 's390x';
  return undefined;
}

export function machineLayout(model: QemuStreamModel, options: LayoutOptions = {}): MachineLayout | undefined {
  const family = machineFamily(model);
  if (!family) return undefined;
  const builder = new LayoutBuilder(model);
  let rule: string;
  switch (family) {
    case 'pc':
    case 'q35':
      rule = x86Layout(builder, family, model.machineType, options);
      break;
    case 'arm-virt':
      builder.map('virt.flash0', 0, 0, undefined, true, 'flash0 (hw/arm/virt.c VIRT_FLASH)');
      builder.map('virt.flash1', 64 * MiB, 0, undefined, true, 'flash1 (VIRT_FLASH + 64 MiB)');
      builder.map('mach-virt.ram', GiB, 0, undefined, false, 'RAM at 1 GiB (VIRT_MEM)');
      rule = 'arm virt: flash at 0 and 64 MiB, RAM from 1 GiB';
      break;
    case 'riscv-virt':
      builder.map('riscv_virt_board.mrom', 0x1000, 0, undefined, true, 'mask ROM (VIRT_MROM)');
      builder.map('virt.flash0', 0x2000_0000, 0, undefined, true, 'flash0 (VIRT_FLASH)');
      builder.map('virt.flash1', 0x2200_0000, 0, undefined, true, 'flash1 (VIRT_FLASH + 32 MiB)');
      builder.map('riscv_virt_board.ram', 0x8000_0000, 0, undefined, false, 'RAM at 2 GiB (VIRT_DRAM)');
      rule = 'riscv virt: mask ROM at 0x1000, flash at 0x20000000, RAM from 2 GiB';
      break;
    case 's390x':
      builder.map('s390.ram', 0, 0, undefined, false, 'RAM at 0');
      rule = 's390x: RAM from 0';
      break;
  }
  return builder.finish(family, model.machineType, rule);
}

function x86Layout(b: LayoutBuilder, family: 'pc' | 'q35', machineType: string | undefined, options: LayoutOptions): string {
  const ram = b.size('pc.ram');
  let lowmem: number;
  let rule: string;
  if (family === 'pc') {
    const max = options.maxRamBelow4g ?? 0xe000_0000;
    lowmem = max;
    // pc_piix.c: gigabyte alignment of the split for machine types after pc-i440fx-1.7.
    if (ram >= max && gigabyteAligned(machineType) && lowmem > 0xc000_0000) lowmem = 0xc000_0000;
    rule = `pc: RAM below 4 GiB up to ${hexSize(Math.min(ram, lowmem))} (max-ram-below-4g ${hexSize(max)}${gigabyteAligned(machineType) ? ', split moved to 3 GiB when RAM does not fit' : ''}), rest from 4 GiB`;
  } else {
    lowmem = ram >= 0xb000_0000 ? 0x8000_0000 : 0xb000_0000;
    if (options.maxRamBelow4g !== undefined && lowmem > options.maxRamBelow4g) lowmem = options.maxRamBelow4g;
    rule = `q35: RAM below 4 GiB up to ${hexSize(Math.min(ram, lowmem))} (2 GiB when RAM >= 2.75 GiB, else 2.75 GiB), rest from 4 GiB`;
  }
  const below = Math.min(ram, lowmem);
  const pciConfig = options.pciConfig ?? new Map<string, Uint8Array>();
  b.map('pc.ram', 0, 0, Math.min(below, 0xa0000), false, 'RAM below the legacy VGA window');
  if (below > 0xc0000) mapLegacyBios(b, family, pciConfig, below);
  if (below > 0x10_0000) b.map('pc.ram', 0x10_0000, 0x10_0000, below - 0x10_0000, false, 'RAM from 1 MiB to the PCI hole');
  mapPciBars(b, pciConfig, options.qxlVram32Size ?? QXL_VRAM32_DEFAULT);
  const bios = b.size('pc.bios');
  if (bios) b.map('pc.bios', 4 * GiB - bios, 0, bios, true, 'BIOS ROM just below 4 GiB');
  if (ram > below) b.map('pc.ram', 4 * GiB, below, ram - below, false, 'RAM above 4 GiB');
  return rule;
}

/** pc-i440fx-1.7 and older (and pc-1.x/0.x) keep the 3.5 GiB split (pcmc->gigabyte_align = false). */
function gigabyteAligned(machineType: string | undefined): boolean {
  const m = /^pc-(?:i440fx-)?(\d+)\.(\d+)/.exec(machineType ?? '');
  if (!m) return true;
  const major = Number(m[1]);
  return major > 1 || (major === 1 && Number(m[2]) > 7);
}

/** PAM segments of [0xc0000, 0x100000): 12 of 16 KiB, then 64 KiB at 0xf0000 (hw/pci-host/pam.c). */
const PAM_SEGMENTS: { start: number; size: number; register: number; highNibble: boolean }[] = [
  ...Array.from({ length: 12 }, (_, i) => ({ start: 0xc0000 + i * 16 * KiB, size: 16 * KiB, register: 1 + (i >> 1), highNibble: (i & 1) === 1 })),
  { start: 0xf0000, size: 64 * KiB, register: 0, highNibble: true },
];
const PAM_BASE = { pc: 0x59, q35: 0x90 } as const; // I440FX_PAM, MCH_HOST_BRIDGE_PAM0
const PAM_RE = 0x1;
const PAM_WE = 0x2;

function mapLegacyBios(b: LayoutBuilder, family: 'pc' | 'q35', pciConfig: ReadonlyMap<string, Uint8Array>, below: number): void {
  const host = pciConfig.get('0000:00:00.0');
  const biosSize = b.size('pc.bios');
  const isaBios = Math.min(biosSize, 128 * KiB);
  for (const seg of PAM_SEGMENTS) {
    if (seg.start >= below) continue;
    const reg = host?.[PAM_BASE[family] + seg.register] ?? 0;
    const attr = (seg.highNibble ? reg >> 4 : reg) & 0x3;
    if (attr & PAM_RE) {
      b.map('pc.ram', seg.start, seg.start, seg.size, !(attr & PAM_WE), `PAM ${attr & PAM_WE ? 'read-write' : 'read-only'}: RAM shadows the ROM`);
      continue;
    }
    // Reads go to PCI space: pc.rom at 0xc0000, the isa-bios alias at the top of the first MiB.
    const segEnd = seg.start + seg.size;
    const isaStart = 0x10_0000 - isaBios;
    const romEnd = Math.min(segEnd, isaStart, 0xc0000 + b.size('pc.rom'));
    if (romEnd > seg.start) b.map('pc.rom', seg.start, seg.start - 0xc0000, romEnd - seg.start, true, 'pc.rom: option ROM area at 0xc0000');
    const aliasStart = Math.max(seg.start, isaStart);
    if (isaBios && segEnd > aliasStart) b.map('pc.bios', aliasStart, biosSize - (0x10_0000 - aliasStart), segEnd - aliasStart, true, 'isa-bios: the last 128 KiB of pc.bios below 1 MiB');
  }
}

/**
 * Device RAM behind PCI BARs the guest programmed (command register memory-enable set):
 * VGA/QXL framebuffers by their BAR, option ROMs ("<path>/<name>.rom") by the expansion ROM
 * BAR. A never-booted guest has programmed none.
 */
const BAR_OF_BLOCK: Readonly<Record<string, number>> = { 'vga.vram': 0, 'qxl.vrom': 2, 'bochs-display-vram': 0 };

/**
 * QXL (hw/display/qxl.c) shows its surface RAM "qxl.vram" through BAR1 and, when the vram64
 * size exceeds the vram32 size, all of it through the 64-bit prefetchable BAR4; BAR1 then
 * shows only the first vram32 bytes (the "vram_size" property, 64 MiB by default).
 */
const QXL_VRAM = 'qxl.vram';
const QXL_VRAM32_BAR = 1;
const QXL_VRAM64_BAR = 4;
const QXL_VRAM32_DEFAULT = 64 * MiB;

/** A memory BAR's guest-physical address: 32-bit, or 64-bit from it and the next BAR. undefined: I/O, absent or not programmed. */
function memoryBar(view: DataView, bar: number): { gpa: number; is64: boolean } | undefined {
  const low = view.getUint32(0x10 + 4 * bar, true);
  if (low & 0x1) return undefined;
  const is64 = ((low >> 1) & 0x3) === 2;
  const gpa = (is64 ? view.getUint32(0x14 + 4 * bar, true) * 2 ** 32 : 0) + ((low & ~0xf) >>> 0);
  return gpa ? { gpa, is64 } : undefined;
}

function mapPciBars(b: LayoutBuilder, pciConfig: ReadonlyMap<string, Uint8Array>, qxlVram32Size: number): void {
  for (const [path, config] of pciConfig) {
    if (!memoryDecoding(config)) continue;
    const view = new DataView(config.buffer, config.byteOffset, config.byteLength);
    for (const block of b.blocksUnder(`${path}/`)) {
      const name = block.slice(path.length + 1);
      const bar = BAR_OF_BLOCK[name];
      if (name === QXL_VRAM) {
        // BAR4 exists (its 64-bit type bits are set) only when vram64 is the larger.
        const hasVram64 = ((view.getUint32(0x10 + 4 * QXL_VRAM64_BAR, true) >> 1) & 0x3) === 2;
        const vram32 = memoryBar(view, QXL_VRAM32_BAR);
        const vram64 = memoryBar(view, QXL_VRAM64_BAR);
        if (vram32) b.map(block, vram32.gpa, 0, hasVram64 ? qxlVram32Size : undefined, false, `PCI BAR${QXL_VRAM32_BAR} of ${path}${hasVram64 ? `: the first ${hexSize(qxlVram32Size)} (vram_size)` : ''}`);
        if (hasVram64 && vram64) b.map(block, vram64.gpa, 0, undefined, false, `PCI BAR${QXL_VRAM64_BAR} (64-bit) of ${path}`);
      } else if (bar !== undefined) {
        const at = memoryBar(view, bar);
        if (at) b.map(block, at.gpa, 0, undefined, false, `PCI BAR${bar} of ${path}`);
      } else if (name.endsWith('.rom')) {
        const rom = view.getUint32(0x30, true);
        if (rom & 0x1 && rom & ~0x7ff) b.map(block, (rom & ~0x7ff) >>> 0, 0, undefined, true, `expansion ROM BAR of ${path}`);
      }
    }
  }
}

function memoryDecoding(config: Uint8Array): boolean {
  return config.length >= 0x34 && ((config[0x04] | (config[0x05] << 8)) & 0x2) !== 0;
}

/**
 * Where memory BAR `bar` of a device's config space is mapped (pci_bar_address): undefined
 * while memory decoding is off, for an I/O BAR and for a BAR never programmed (0). A 64-bit
 * BAR takes its high half from the next register.
 */
export function pciMemoryBar(config: Uint8Array, bar: number): number | undefined {
  if (!memoryDecoding(config)) return undefined;
  return memoryBar(new DataView(config.buffer, config.byteOffset, config.byteLength), bar)?.gpa;
}

function hexSize(n: number): string {
  return n % GiB === 0 ? `${n / GiB} GiB` : n % MiB === 0 ? `${n / MiB} MiB` : `0x${n.toString(16)}`;
}

class LayoutBuilder {
  private readonly regions: MemoryRegion[] = [];

  constructor(private readonly model: QemuStreamModel) {}

  size(id: string): number {
    return this.model.ramBlocks.find((b) => b.id === id)?.usedLength ?? 0;
  }

  blocksUnder(prefix: string): string[] {
    return this.model.ramBlocks.filter((b) => b.id.startsWith(prefix)).map((b) => b.id);
  }

  /** Maps [offset, offset + size) of block `id` at `gpa` (size: the rest of the block), if the block exists. */
  map(id: string, gpa: number, offset: number, size: number | undefined, readOnly: boolean, why: string): void {
    const block = this.model.ramBlocks.findIndex((b) => b.id === id);
    if (block < 0) return;
    const length = Math.min(size ?? Infinity, this.model.ramBlocks[block].usedLength - offset);
    if (length > 0) this.regions.push({ gpa, size: length, block, blockId: id, blockOffset: offset, readOnly, why });
  }

  finish(family: MachineFamily, machineType: string | undefined, rule: string): MachineLayout {
    // Earlier mappings win where later ones overlap them (a BAR programmed over RAM is clipped).
    const placed: MemoryRegion[] = [];
    for (const r of this.regions) {
      let pieces = [r];
      for (const p of placed) pieces = pieces.flatMap((q) => subtract(q, p));
      placed.push(...pieces);
    }
    placed.sort((a, b) => a.gpa - b.gpa);
    const regions = mergeAdjacent(placed);
    const mapped = new Set(placed.map((r) => r.block));
    const unmapped = this.model.ramBlocks
      .map((b, block) => ({ block, blockId: b.id }))
      .filter((b) => !mapped.has(b.block))
      .map((b) => ({ ...b, reason: b.blockId.startsWith('/rom@') ? 'fw_cfg blob, read by the firmware through fw_cfg, never mapped' : 'not mapped in guest-physical space in this state (unprogrammed PCI BAR, or a block QEMU does not map)' }));
    return { family, machineType, rule, regions, unmapped };
  }
}

/** Joins neighbours that continue each other (PAM segments of one kind, say) into one region. */
function mergeAdjacent(sorted: MemoryRegion[]): MemoryRegion[] {
  const out: MemoryRegion[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.block === r.block && last.readOnly === r.readOnly && last.gpa + last.size === r.gpa && last.blockOffset + last.size === r.blockOffset) {
      out[out.length - 1] = { ...last, size: last.size + r.size, why: last.why === r.why ? last.why : `${last.why}; ${r.why}` };
    } else out.push(r);
  }
  return out;
}

function subtract(r: MemoryRegion, cut: MemoryRegion): MemoryRegion[] {
  const end = r.gpa + r.size;
  const cutEnd = cut.gpa + cut.size;
  if (cutEnd <= r.gpa || cut.gpa >= end) return [r];
  const out: MemoryRegion[] = [];
  if (cut.gpa > r.gpa) out.push({ ...r, size: cut.gpa - r.gpa });
  if (cutEnd < end) out.push({ ...r, gpa: cutEnd, blockOffset: r.blockOffset + (cutEnd - r.gpa), size: end - cutEnd });
  return out;
}

/** The block and block offset behind guest-physical address `gpa`, or undefined where nothing is mapped. */
export function resolveGuestAddress(layout: MachineLayout, gpa: number): { region: MemoryRegion; block: number; offset: number } | undefined {
  const rs = layout.regions;
  let lo = 0;
  let hi = rs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = rs[mid];
    if (gpa < r.gpa) hi = mid - 1;
    else if (gpa >= r.gpa + r.size) lo = mid + 1;
    else return { region: r, block: r.block, offset: r.blockOffset + (gpa - r.gpa) };
  }
  return undefined;
}

/** The mapped regions in one line, for messages about an address that is not among them. */
export function describeMappedRegions(layout: MachineLayout): string {
  return `mapped: ${layout.regions.map((r) => `${hex(r.gpa, 8)}-${hex(r.gpa + r.size - 1, 8)} ${r.blockId}`).join(', ')}`;
}

/** Every guest-physical address at which byte `offset` of `block` is visible (none, one, or several for aliases). */
export function guestAddressesOf(layout: MachineLayout, block: number, offset: number): number[] {
  return layout.regions.filter((r) => r.block === block && offset >= r.blockOffset && offset < r.blockOffset + r.size).map((r) => r.gpa + (offset - r.blockOffset));
}
