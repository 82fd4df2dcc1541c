import type { Fields } from './fields';

/** Bochs VBE ("dispi") register indices and bits (include/hw/display/bochs-vbe.h). */
export const VBE = {
  ID: 0,
  XRES: 1,
  YRES: 2,
  BPP: 3,
  ENABLE: 4,
  BANK: 5,
  VIRT_WIDTH: 6,
  VIRT_HEIGHT: 7,
  X_OFFSET: 8,
  Y_OFFSET: 9,
  ENABLED: 0x01,
  GETCAPS: 0x02,
  EIGHT_BIT_DAC: 0x20,
  LFB_ENABLED: 0x40,
  NOCLEARMEM: 0x80,
} as const;

/** vga_regs.h register indices the display code uses. */
export const CR = { H_DISP: 0x01, MAX_SCAN: 0x09, CURSOR_START: 0x0a, CURSOR_END: 0x0b, START_HI: 0x0c, START_LO: 0x0d, CURSOR_HI: 0x0e, CURSOR_LO: 0x0f, V_TOTAL: 0x06, OVERFLOW: 0x07, V_DISP_END: 0x12, OFFSET: 0x13, MODE: 0x17, LINE_COMPARE: 0x18 } as const;
export const SR = { CLOCK_MODE: 0x01, PLANE_WRITE: 0x02, CHARACTER_MAP: 0x03, MEMORY_MODE: 0x04 } as const;
export const GR = { MODE: 0x05, MISC: 0x06 } as const;
export const AR = { MODE: 0x10, OVERSCAN: 0x11, PLANE_ENABLE: 0x12, PEL: 0x13, COLOR_PAGE: 0x14 } as const;

/**
 * VGACommonState as vmstate_vga_common (hw/display/vga.c, version 2) carries it: every
 * register the guest programmed, the DAC palette and the Bochs VBE registers. The video
 * memory itself is the vga.vram RAM block.
 */
export interface VgaSavedState {
  latch: number;
  srIndex: number;
  sr: Uint8Array;
  grIndex: number;
  gr: Uint8Array;
  arIndex: number;
  ar: Uint8Array;
  arFlipFlop: number;
  crIndex: number;
  cr: Uint8Array;
  msr: number;
  fcr: number;
  st00: number;
  st01: number;
  dacState: number;
  dacSubIndex: number;
  dacReadIndex: number;
  dacWriteIndex: number;
  dacCache: Uint8Array;
  /** 256 DAC entries of 3 six-bit (or eight-bit) values. */
  palette: Uint8Array;
  bankOffset: number;
  vbeIndex: number;
  vbeRegs: number[];
  vbeStartAddr: number;
  vbeLineOffset: number;
  vbeBankMask: number;
  /** The vga.endian subsection, present only when it differs from the target's default. */
  bigEndianFb?: boolean;
  /** Stream offsets of the register fields, for "where it came from". */
  offsets: Record<string, number>;
}

/** Reads a "vga" struct (vmstate_vga_common). Registers beyond what the stream holds read as zero. */
export function readVgaState(f: Fields): VgaSavedState {
  const buffer = (name: string, size: number) => {
    const out = new Uint8Array(size);
    out.set(f.bytes(name).subarray(0, size));
    return out;
  };
  const endian = f.subsection('vga.endian');
  const names = ['sr', 'gr', 'ar', 'cr', 'palette', 'vbe_regs', 'msr'];
  return {
    latch: f.int('latch'),
    srIndex: f.int('sr_index'),
    sr: buffer('sr', 8),
    grIndex: f.int('gr_index'),
    gr: buffer('gr', 16),
    arIndex: f.int('ar_index'),
    ar: buffer('ar', 21),
    arFlipFlop: f.int('ar_flip_flop'),
    crIndex: f.int('cr_index'),
    cr: buffer('cr', 256),
    msr: f.int('msr'),
    fcr: f.int('fcr'),
    st00: f.int('st00'),
    st01: f.int('st01'),
    dacState: f.int('dac_state'),
    dacSubIndex: f.int('dac_sub_index'),
    dacReadIndex: f.int('dac_read_index'),
    dacWriteIndex: f.int('dac_write_index'),
    dacCache: buffer('dac_cache', 3),
    palette: buffer('palette', 768),
    bankOffset: f.int('bank_offset'),
    vbeIndex: f.int('vbe_index'),
    vbeRegs: f.arrayInts('vbe_regs'),
    vbeStartAddr: f.int('vbe_start_addr'),
    vbeLineOffset: f.int('vbe_line_offset'),
    vbeBankMask: f.int('vbe_bank_mask'),
    bigEndianFb: endian ? endian.bool('big_endian_fb') : undefined,
    offsets: Object.fromEntries(names.filter((n) => f.has(n)).map((n) => [n, f.offsetOf(n)])),
  };
}

/**
 * The registers the display code reads after QEMU loaded the state. vga_common_post_load
 * runs vbe_update_vgaregs, which (with VBE on) rewrites GR5/GR6 and the CRTC geometry and
 * sets bits in sr_vbe; sr_vbe itself is not migrated, so it starts from the destination's
 * reset value (zeros). The 8-bit DAC flag is not migrated either: after a load the DAC is
 * read as 6 bits per component whatever the guest chose.
 */
export interface VgaLoadedRegisters {
  sr: Uint8Array;
  srVbe: Uint8Array;
  gr: Uint8Array;
  ar: Uint8Array;
  arIndex: number;
  cr: Uint8Array;
  palette: Uint8Array;
  vbeRegs: number[];
  vbeStartAddr: number;
  vbeLineOffset: number;
  bigEndianFb: boolean;
  dac8bit: boolean;
}

export function vbeEnabled(r: { vbeRegs: number[] }): boolean {
  return ((r.vbeRegs[VBE.ENABLE] ?? 0) & VBE.ENABLED) !== 0;
}

/** sr(s, idx): the sequencer register the drawing code sees (sr_vbe while VBE is on). */
export function seq(r: VgaLoadedRegisters, index: number): number {
  return vbeEnabled(r) ? r.srVbe[index] : r.sr[index];
}

export function afterLoad(s: VgaSavedState, defaultBigEndianFb = false): VgaLoadedRegisters {
  const r: VgaLoadedRegisters = {
    sr: s.sr.slice(),
    srVbe: new Uint8Array(8),
    gr: s.gr.slice(),
    ar: s.ar.slice(),
    arIndex: s.arIndex,
    cr: s.cr.slice(),
    palette: s.palette,
    vbeRegs: s.vbeRegs.slice(),
    vbeStartAddr: s.vbeStartAddr,
    vbeLineOffset: s.vbeLineOffset,
    bigEndianFb: s.bigEndianFb ?? defaultBigEndianFb,
    dac8bit: false,
  };
  vbeUpdateVgaRegs(r);
  return r;
}

/** hw/display/vga.c vbe_update_vgaregs: the VGA registers a VBE mode implies. */
function vbeUpdateVgaRegs(r: VgaLoadedRegisters): void {
  if (!vbeEnabled(r)) return;
  const { gr, cr, srVbe } = r;
  gr[GR.MISC] = (gr[GR.MISC] & ~0x0c) | 0x04 | 0x01;
  cr[CR.MODE] |= 3;
  cr[CR.OFFSET] = (r.vbeLineOffset >>> 3) & 0xff;
  cr[CR.H_DISP] = ((r.vbeRegs[VBE.XRES] >> 3) - 1) & 0xff;
  const h = r.vbeRegs[VBE.YRES] - 1;
  cr[CR.V_DISP_END] = h & 0xff;
  cr[CR.OVERFLOW] = (cr[CR.OVERFLOW] & ~0x42) | ((h >> 7) & 0x02) | ((h >> 3) & 0x40);
  cr[CR.LINE_COMPARE] = 0xff;
  cr[CR.OVERFLOW] |= 0x10;
  cr[CR.MAX_SCAN] |= 0x40;
  let shiftControl: number;
  if (r.vbeRegs[VBE.BPP] === 4) {
    shiftControl = 0;
    srVbe[SR.CLOCK_MODE] &= ~8;
  } else {
    shiftControl = 2;
    srVbe[SR.MEMORY_MODE] |= 0x08; // VGA_SR04_CHN_4M
    srVbe[SR.PLANE_WRITE] |= 0x0f; // VGA_SR02_ALL_PLANES
  }
  gr[GR.MODE] = (gr[GR.MODE] & ~0x60) | (shiftControl << 5);
  cr[CR.MAX_SCAN] &= ~0x9f;
}
