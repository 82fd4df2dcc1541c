import { pciMemoryBar } from '../memory/layout';
import type { BlockMemory } from './block-memory';
import type { Fields } from './fields';

/**
 * The QXL device state (hw/display/qxl.c, vmstate "qxl" version 21) and the memory behind
 * it: the RAM BAR (the "vga.vram" block of qxl-vga, "qxl.vgavram" of a secondary qxl: VGA framebuffer / surface 0 area, QXL pages and the
 * QXLRam header at its end), the VRAM BAR ("qxl.vram"), the ROM BAR ("qxl.vrom": QXLRom),
 * and the memory slots through which QXL commands address all of it. Structures as
 * spice-protocol's qxl_dev.h lays them out (packed, little-endian).
 */
export const QXL_MODES = ['undefined', 'vga', 'compat', 'native'] as const;
export const QXL_MODE_VGA = 1;
export const QXL_MODE_COMPAT = 2;
export const QXL_MODE_NATIVE = 3;

/** PCI BARs (qxl_dev.h QXL_*_RANGE_INDEX; BAR 4 is the 64-bit VRAM when configured). */
export const QXL_BAR = { RAM: 0, VRAM: 1, ROM: 2, IO: 3, VRAM64: 4 } as const;

export interface QxlSurfaceCreate {
  width: number;
  height: number;
  stride: number;
  format: number;
  position: number;
  mouseMode: number;
  flags: number;
  type: number;
  mem: bigint;
}

export interface QxlSlotState {
  id: number;
  memStart: bigint;
  memEnd: bigint;
  active: boolean;
}

export interface QxlSavedState {
  mode: number;
  shadowRomMode: number;
  numFreeRes: number;
  lastReleaseOffset: number;
  unique: number;
  numMemslots: number;
  slots: QxlSlotState[];
  primary: QxlSurfaceCreate;
  numSurfaces: number;
  /** guest_surfaces.cmds: the QXLPHYSICAL of the last create command of each live surface (0 = none). */
  surfaceCmds: bigint[];
  guestCursor: bigint;
  /** The qxl/monitors-config subsection (absent when the guest never set one). */
  guestMonitorsConfig?: bigint;
  /** The PCI config space (for the BARs and the class code). */
  config: Uint8Array;
  offsets: Record<string, number>;
}

export function readQxlState(f: Fields): QxlSavedState {
  const pci = f.struct('pci') ?? f.findStruct('PCIDevice');
  const configNode = pci?.nodes.find((n) => n.type === 'pci config');
  const config = configNode && pci ? pci.bytesOf(configNode) : new Uint8Array(256);
  const s = f.struct('guest_primary.surface')!;
  const monitors = f.subsection('qxl/monitors-config');
  return {
    mode: f.int('mode'),
    shadowRomMode: f.int('shadow_rom.mode'),
    numFreeRes: f.int('num_free_res'),
    lastReleaseOffset: f.int('last_release_offset'),
    unique: f.int('ssd.unique'),
    numMemslots: f.int('num_memslots'),
    slots: f.arrayStructs('guest_slots').map((g, id) => ({ id, memStart: BigInt.asUintN(64, g.big('slot.mem_start')), memEnd: BigInt.asUintN(64, g.big('slot.mem_end')), active: g.int('active') !== 0 })),
    primary: {
      width: s.int('width'),
      height: s.int('height'),
      stride: s.int('stride'),
      format: s.int('format'),
      position: s.int('position'),
      mouseMode: s.int('mouse_mode'),
      flags: s.int('flags'),
      type: s.int('type'),
      mem: BigInt.asUintN(64, s.big('mem')),
    },
    numSurfaces: f.int('ssd.num_surfaces'),
    surfaceCmds: f.array('guest_surfaces.cmds').map((n) => BigInt.asUintN(64, BigInt(n.value?.kind === 'int' ? n.value.dec : 0))),
    guestCursor: BigInt.asUintN(64, f.big('guest_cursor')),
    guestMonitorsConfig: monitors ? BigInt.asUintN(64, monitors.big('guest_monitors_config')) : undefined,
    config,
    offsets: Object.fromEntries(['mode', 'guest_slots', 'guest_primary.surface', 'guest_surfaces.cmds', 'guest_cursor'].map((n) => [n, f.offsetOf(n)])),
  };
}

/** qxl-vga (the primary, VGA-compatible device) has PCI class 0x0300; the secondary qxl 0x0380. */
export function hasVga(config: Uint8Array): boolean {
  return config[0x0b] === 0x03 && config[0x0a] === 0x00;
}

/**
 * The RAM block behind the RAM BAR: qxl-vga shares it with its VGA core ("vga.vram"); a
 * secondary qxl device names it "qxl.vgavram" (qxl_realize_secondary).
 */
export function qxlRamBlockName(config: Uint8Array): string {
  return hasVga(config) ? 'vga.vram' : 'qxl.vgavram';
}

/** QXLRom (qxl_dev.h), the fields the display code and the decoded view use. */
export interface QxlRom {
  magic: number;
  id: number;
  updateId: number;
  compressionLevel: number;
  logLevel: number;
  mode: number;
  modesOffset: number;
  numPages: number;
  pagesOffset: number;
  drawAreaOffset: number;
  surface0AreaSize: number;
  ramHeaderOffset: number;
  mmClock: number;
  nSurfaces: number;
  flags: bigint;
  slotsStart: number;
  slotsEnd: number;
  slotGenBits: number;
  slotIdBits: number;
  slotGeneration: number;
  clientPresent: number;
  clientMonitors: { count: number; heads: { top: number; left: number; bottom: number; right: number }[] };
}

export const QXL_ROM_MAGIC = 0x4f525851; // "QXRO"
export const QXL_RAM_MAGIC = 0x41525851; // "QXRA"

export function readQxlRom(rom: BlockMemory): QxlRom {
  const count = rom.u16le(132);
  return {
    magic: rom.u32le(0),
    id: rom.u32le(4),
    updateId: rom.u32le(8),
    compressionLevel: rom.u32le(12),
    logLevel: rom.u32le(16),
    mode: rom.u32le(20),
    modesOffset: rom.u32le(24),
    numPages: rom.u32le(28),
    pagesOffset: rom.u32le(32),
    drawAreaOffset: rom.u32le(36),
    surface0AreaSize: rom.u32le(40),
    ramHeaderOffset: rom.u32le(44),
    mmClock: rom.u32le(48),
    nSurfaces: rom.u32le(52),
    flags: rom.u64le(56),
    slotsStart: rom.u8(64),
    slotsEnd: rom.u8(65),
    slotGenBits: rom.u8(66),
    slotIdBits: rom.u8(67),
    slotGeneration: rom.u8(68),
    clientPresent: rom.u8(69),
    clientMonitors: {
      count,
      heads: Array.from({ length: Math.min(count, 64) }, (_, i) => {
        const at = 136 + i * 16;
        return { top: rom.u32le(at), left: rom.u32le(at + 4), bottom: rom.u32le(at + 8), right: rom.u32le(at + 12) };
      }),
    },
  };
}

/** QXLMode entries of the ROM's mode table (used by compat mode). */
export function readQxlModes(rom: BlockMemory, modesOffset: number): { id: number; xRes: number; yRes: number; bits: number; stride: number; orientation: number }[] {
  const n = Math.min(rom.u32le(modesOffset), 512);
  return Array.from({ length: n }, (_, i) => {
    const at = modesOffset + 4 + i * 32;
    return { id: rom.u32le(at), xRes: rom.u32le(at + 4), yRes: rom.u32le(at + 8), bits: rom.u32le(at + 12), stride: rom.u32le(at + 16), orientation: rom.u32le(at + 28) };
  });
}

/** A memory slot as qxl_add_memslot re-adds it on load: the PCI region it falls in and where that region's RAM is. */
export interface QxlSlot extends QxlSlotState {
  /** The BAR holding [mem_start, mem_end]; undefined when none does (QEMU flags a guest bug). */
  bar?: number;
  block?: BlockMemory;
  /** Offset of mem_start in the block. */
  blockOffset?: number;
  size?: bigint;
  problem?: string;
}

export interface QxlMemory {
  slots: QxlSlot[];
  /** The bytes a QXLPHYSICAL names (MEMSLOT_GROUP_GUEST), checked as qxl_get_check_slot_offset checks them. */
  resolve(phys: bigint, size: number): { block: BlockMemory; offset: number; slot: number } | { problem: string };
}

/**
 * qxl_create_memslots on load: each active slot is matched to the RAM, VRAM or 64-bit VRAM
 * BAR it lies in (by the BAR addresses in the saved PCI config), with delta 0. A QXLPHYSICAL
 * is slot id (top 8 bits), generation, and a 48-bit offset from the slot's start.
 */
export function qxlMemory(state: QxlSavedState, ram: BlockMemory | undefined, vram: BlockMemory | undefined): QxlMemory {
  const regions = [
    { bar: QXL_BAR.RAM, block: ram },
    { bar: QXL_BAR.VRAM, block: vram },
    { bar: QXL_BAR.VRAM64, block: vram },
  ];
  const slots: QxlSlot[] = state.slots.map((s) => {
    if (!s.active) return { ...s };
    if (s.memStart > s.memEnd) return { ...s, problem: `mem_start ${hex(s.memStart)} > mem_end ${hex(s.memEnd)} (QEMU rejects the slot)` };
    for (const r of regions) {
      const start = pciMemoryBar(state.config, r.bar);
      if (start === undefined || !r.block) continue;
      const pciStart = BigInt(start);
      const pciEnd = pciStart + BigInt(r.block.size);
      if (s.memStart < pciStart || s.memStart > pciEnd || s.memEnd > pciEnd) continue;
      return { ...s, bar: r.bar, block: r.block, blockOffset: Number(s.memStart - pciStart), size: s.memEnd - s.memStart };
    }
    return { ...s, problem: 'no RAM, VRAM or 64-bit VRAM BAR holds this range (QEMU flags a guest bug and adds no slot)' };
  });
  return {
    slots,
    resolve(phys, size) {
      const id = Number((phys >> 56n) & 0xffn);
      const offset = phys & 0xffffffffffffn;
      const slot = slots[id];
      if (!slot) return { problem: `slot ${id} is out of range (${slots.length} slots)` };
      if (!slot.active) return { problem: `slot ${id} is not active` };
      if (!slot.block || slot.blockOffset === undefined || slot.size === undefined) return { problem: `slot ${id} is not mapped${slot.problem ? `: ${slot.problem}` : ''}` };
      if (offset > slot.size) return { problem: `offset ${hex(offset)} is past the end of slot ${id} (${hex(slot.size)} bytes)` };
      const at = slot.blockOffset + Number(offset);
      if (at >= slot.block.size) return { problem: `offset ${hex(offset)} of slot ${id} is past the end of ${slot.block.id}` };
      if (size > slot.block.size - at) return { problem: `${size} bytes at offset ${hex(offset)} of slot ${id} overrun ${slot.block.id} by ${size - (slot.block.size - at)} bytes` };
      return { block: slot.block, offset: at, slot: id };
    },
  };
}

function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}
