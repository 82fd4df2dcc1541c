import type { BlockMemory } from './block-memory';
import { newFramebuffer, rgbToPixel32, type Framebuffer } from './framebuffer';
import { drawSharedSurface, type PixmanFormat } from './pixman';
import { AR, CR, GR, SR, seq, VBE, vbeEnabled, type VgaLoadedRegisters } from './vga-state';

/**
 * QEMU's VGA drawing (hw/display/vga.c vga_update_display, vga_draw_text, vga_draw_graphic
 * and the line/glyph helpers of vga-helpers.h), followed step by step for the first display
 * update after a load: every cell and line is drawn (full update), the text cursor is in
 * its visible phase (the first update after a mode change toggles it on), the DAC is 6-bit.
 *
 * Two generations of that code exist. QEMU 9.0 added horizontal pel panning in graphics
 * modes and masks planar and 256-colour addresses to 256 KiB ("vga: implement horizontal
 * pel panning in graphics modes", "vga: mask addresses in non-VESA modes to 256k"); 7.2
 * does neither. Standard modes draw alike in both.
 */
export type VgaDrawing = '7.2' | '10.0';

export interface VgaRenderInput {
  regs: VgaLoadedRegisters;
  vram: BlockMemory;
  /** s->vram_size: the vga.vram block. */
  vramSize: number;
  /** s->vbe_size: the VRAM VBE modes may use (all of it for VGA, vgamem for QXL). */
  vbeSize: number;
  drawing: VgaDrawing;
  /**
   * dpy_gfx_check_format of the console's listeners: a VBE framebuffer in a format they
   * accept is shared with the display (pixman reads the VRAM), otherwise it is converted
   * by QEMU's line helpers. The two differ only for 16 bpp (pixman replicates the top bits).
   */
  acceptsFormat: (format: PixmanFormat) => boolean;
}

export interface VgaMode {
  kind: 'text' | 'graphics' | 'blank';
  /** The picture QEMU's console shows, in pixels. */
  width: number;
  height: number;
  /** Bits per pixel of the source: 4 (planar, 16 colours), 2 (CGA), 8, 15, 16, 24, 32; 0 for text. */
  depth: number;
  /** One line: "text 80x25 (9x16 cells)", "VGA 320x200, 256 colours (chain-4)", "VBE 1024x768x32". */
  description: string;
  /** What QEMU reads from vga.vram: the first byte, the bytes per line, the lines. */
  start: number;
  lineOffset: number;
  lineCompare: number;
  /** Mode facts for --json (text: columns, rows, cell size, cursor, font; graphics: shift control, doubling, pixel format). */
  details: Record<string, unknown>;
}

export type VgaRender = { framebuffer: Framebuffer; mode: VgaMode; notes: string[] } | { reason: string; mode?: VgaMode };

/** CH_ATTR_SIZE (vga_int.h): QEMU refuses text screens of more cells than this. */
const CH_ATTR_SIZE = 160 * 100;
/** VGA_VRAM_SIZE in 9.0+: planar and 256-colour modes address 256 KiB. */
const VGA_PLANAR_SIZE = 256 * 1024;
const VGA_HPEL_NEUTRAL = 8;
/** The largest surface drawn (QEMU's limit is VBE_DISPI_MAX_XRES × MAX_YRES; this keeps memory bounded for hostile images). */
const MAX_PIXELS = 64 * 1024 * 1024;

export function c6to8(v: number): number {
  v &= 0x3f;
  const b = v & 1;
  return (v << 2) | (b << 1) | b;
}

/** update_palette16: the 16 attribute-controller colours through the colour page and the DAC. */
export function palette16(r: VgaLoadedRegisters): Uint32Array {
  const out = new Uint32Array(16);
  for (let i = 0; i < 16; i++) {
    let v = r.ar[i];
    if (r.ar[AR.MODE] & 0x80) v = ((r.ar[AR.COLOR_PAGE] & 0xf) << 4) | (v & 0xf);
    else v = ((r.ar[AR.COLOR_PAGE] & 0xc) << 4) | (v & 0x3f);
    v *= 3;
    out[i] = rgbToPixel32(c6to8(r.palette[v]), c6to8(r.palette[v + 1]), c6to8(r.palette[v + 2]));
  }
  return out;
}

/** update_palette256: the DAC, 6 bits per component (the 8-bit DAC flag is not migrated). */
export function palette256(r: VgaLoadedRegisters): Uint32Array {
  const out = new Uint32Array(256);
  for (let i = 0, v = 0; i < 256; i++, v += 3) {
    out[i] = r.dac8bit ? rgbToPixel32(r.palette[v], r.palette[v + 1], r.palette[v + 2]) : rgbToPixel32(c6to8(r.palette[v]), c6to8(r.palette[v + 1]), c6to8(r.palette[v + 2]));
  }
  return out;
}

interface DisplayParams {
  lineOffset: number;
  startAddr: number;
  lineCompare: number;
  hpel: number;
  hpelSplit: boolean;
}

/** vga_get_params (vga_get_offsets in 7.2). */
function displayParams(r: VgaLoadedRegisters): DisplayParams {
  if (vbeEnabled(r)) return { lineOffset: r.vbeLineOffset, startAddr: r.vbeStartAddr, lineCompare: 65535, hpel: VGA_HPEL_NEUTRAL, hpelSplit: false };
  return {
    lineOffset: r.cr[CR.OFFSET] << 3,
    startAddr: r.cr[CR.START_LO] | (r.cr[CR.START_HI] << 8),
    lineCompare: r.cr[CR.LINE_COMPARE] | ((r.cr[CR.OVERFLOW] & 0x10) << 4) | ((r.cr[CR.MAX_SCAN] & 0x40) << 3),
    hpel: r.ar[AR.PEL],
    hpelSplit: (r.ar[AR.MODE] & 0x20) !== 0,
  };
}

export function renderVga(input: VgaRenderInput): VgaRender {
  const r = input.regs;
  if (!(r.arIndex & 0x20)) {
    return {
      reason:
        "the display is off: the attribute controller's palette access bit (bit 5 of its index register) is clear, as in a guest saved before its firmware set a video mode; QEMU draws nothing for it",
      mode: { kind: 'blank', width: 0, height: 0, depth: 0, description: 'blank', start: 0, lineOffset: 0, lineCompare: 0, details: { ar_index: r.arIndex } },
    };
  }
  return r.gr[GR.MISC] & 0x01 ? drawGraphic(input) : drawText(input);
}

// ------------------------------------------------------------------ text

const CURSOR_GLYPH = new Uint8Array(32 * 4).fill(0xff);

/** expand4to8: each bit of a nibble doubled (the 16-dot character clock). */
const EXPAND4TO8 = Uint8Array.from({ length: 16 }, (_, i) => {
  let v = 0;
  for (let j = 0; j < 4; j++) {
    const b = (i >> j) & 1;
    v |= (b << (2 * j)) | (b << (2 * j + 1));
  }
  return v;
});

function drawText(input: VgaRenderInput): VgaRender {
  const r = input.regs;
  const vram = input.vram;
  const cm = seq(r, SR.CHARACTER_MAP);
  const fontOffsets = [(((cm >> 4) & 1) | ((cm << 1) & 6)) * 8192 * 4 + 2, (((cm >> 5) & 1) | ((cm >> 1) & 6)) * 8192 * 4 + 2];
  const p = displayParams(r);

  // vga_get_text_resolution
  const cheight = (r.cr[CR.MAX_SCAN] & 0x1f) + 1;
  let cw = seq(r, SR.CLOCK_MODE) & 0x01 ? 8 : 9;
  if (seq(r, SR.CLOCK_MODE) & 0x08) cw = 16;
  const width = r.cr[CR.H_DISP] + 1;
  let height: number;
  if (r.cr[CR.V_TOTAL] === 100) height = 100; // QEMU's hack for CGA 160x100x16
  else height = Math.floor(((r.cr[CR.V_DISP_END] | ((r.cr[CR.OVERFLOW] & 0x02) << 7) | ((r.cr[CR.OVERFLOW] & 0x40) << 3)) + 1) / cheight);

  const cursorAddr = (r.cr[CR.CURSOR_HI] << 8) | r.cr[CR.CURSOR_LO];
  const cursorHidden = (r.cr[CR.CURSOR_START] & 0x20) !== 0;
  const mode: VgaMode = {
    kind: 'text',
    width: width * cw,
    height: height * cheight,
    depth: 0,
    description: `text ${width}x${height} (${cw}x${cheight} cells)`,
    start: p.startAddr * 4,
    lineOffset: p.lineOffset,
    lineCompare: p.lineCompare,
    details: {
      columns: width,
      rows: height,
      cell_width: cw,
      cell_height: cheight,
      font_offsets: fontOffsets.map((o) => o - 2),
      cursor: {
        address: cursorAddr,
        ...cursorCell(cursorAddr - p.startAddr, p.lineOffset),
        start_line: r.cr[CR.CURSOR_START] & 0x1f,
        end_line: r.cr[CR.CURSOR_END] & 0x1f,
        hidden: cursorHidden,
      },
      line_graphics: (r.ar[AR.MODE] & 0x04) !== 0,
    },
  };
  if (height * width <= 1) return { reason: `the text mode is degenerate (${width} columns × ${height} rows): QEMU draws nothing and keeps the picture it had before the load`, mode };
  if (height * width > CH_ATTR_SIZE) return { reason: `the text mode has ${width} × ${height} cells, more than QEMU draws (${CH_ATTR_SIZE}): it keeps the picture it had before the load`, mode };

  const palette = palette16(r);
  const fb = newFramebuffer(width * cw, height * cheight);
  const px = fb.pixels;
  const stride = fb.width;
  const vramSize = input.vramSize;
  // The first update after a load toggles the cursor into its visible phase.
  const cursorVisible = true;
  const cursorPtr = (cursorAddr * 4) >>> 0;
  // A glyph is 32 rows of one byte every 4 bytes (plane 2): read each font once, lazily.
  const fonts = fontOffsets.map((o) => vram.read(o, 32 * 4 * 256));
  let line = 0;
  let offset = (p.startAddr * 4) >>> 0;
  for (let cy = 0; cy < height; cy++) {
    const rowTop = cy * cheight * stride;
    for (let cx = 0; cx < width; cx++) {
      const src = offset + cx * 4;
      if (src + 2 > vramSize) break;
      const ch = vram.u8(src);
      const cattr = vram.u8(src + 1);
      const font = fonts[(cattr >> 3) & 1];
      const glyph = 32 * 4 * ch;
      const bg = palette[cattr >> 4];
      const fg = palette[cattr & 0x0f];
      const d = rowTop + cx * cw;
      const dup9 = cw === 9 && ch >= 0xb0 && ch <= 0xdf && (r.ar[AR.MODE] & 0x04) !== 0;
      drawGlyph(px, d, stride, font, glyph, cheight, fg, bg, cw, dup9);
      if (src === cursorPtr && !cursorHidden && cursorVisible) {
        const lineStart = r.cr[CR.CURSOR_START] & 0x1f;
        let lineLast = r.cr[CR.CURSOR_END] & 0x1f;
        if (lineLast > cheight - 1) lineLast = cheight - 1;
        if (lineLast >= lineStart && lineStart < cheight) {
          drawGlyph(px, d + lineStart * stride, stride, CURSOR_GLYPH, 0, lineLast - lineStart + 1, fg, bg, cw, true);
        }
      }
    }
    const line1 = line + cheight;
    offset = (offset + p.lineOffset) >>> 0;
    if (line < p.lineCompare && line1 >= p.lineCompare) offset = 0;
    line = line1;
  }
  return { framebuffer: fb, mode, notes: [] };
}

/** Row and column of a cursor `cells` cells after the start address (a text row is line_offset / 4 cells). */
function cursorCell(cells: number, lineOffset: number): { row: number; column: number } {
  const perRow = lineOffset / 4;
  if (cells < 0 || perRow <= 0) return { row: -1, column: -1 };
  return { row: Math.floor(cells / perRow), column: cells % perRow };
}

/** vga_draw_glyph8 / glyph9 / glyph16: a glyph row is one font byte; 9-dot cells repeat column 8 for line-graphics characters. */
function drawGlyph(px: Uint32Array, d: number, stride: number, font: Uint8Array, at: number, h: number, fg: number, bg: number, cw: number, dup9: boolean): void {
  for (let row = 0; row < h; row++, d += stride, at += 4) {
    const bits = font[at];
    if (cw === 16) {
      const wide = (EXPAND4TO8[bits >> 4] << 8) | EXPAND4TO8[bits & 0x0f];
      for (let i = 0; i < 16; i++) px[d + i] = (wide >> (15 - i)) & 1 ? fg : bg;
      continue;
    }
    for (let i = 0; i < 8; i++) px[d + i] = (bits >> (7 - i)) & 1 ? fg : bg;
    if (cw === 9) px[d + 8] = dup9 && bits & 1 ? fg : bg;
  }
}

// ------------------------------------------------------------------ graphics

/** Byte i of a little-endian dword is plane i (GET_PLANE on a little-endian host). */
const EXPAND4 = Uint32Array.from({ length: 256 }, (_, i) => {
  let v = 0;
  for (let j = 0; j < 8; j++) v |= ((i >> j) & 1) << (j * 4);
  return v >>> 0;
});
const EXPAND2 = Uint16Array.from({ length: 256 }, (_, i) => {
  let v = 0;
  for (let j = 0; j < 4; j++) v |= ((i >> (2 * j)) & 3) << (j * 4);
  return v;
});

type LineKind = 'line2' | 'line2d2' | 'line4' | 'line4d2' | 'line8d2' | 'line8' | 'line15' | 'line16' | 'line24' | 'line32';

function drawGraphic(input: VgaRenderInput): VgaRender {
  const r = input.regs;
  const p = displayParams(r);
  const vbe = vbeEnabled(r);
  // vga_get_resolution, vga_get_bpp
  const width = vbe ? r.vbeRegs[VBE.XRES] : (r.cr[CR.H_DISP] + 1) * 8;
  const height = vbe ? r.vbeRegs[VBE.YRES] : (r.cr[CR.V_DISP_END] | ((r.cr[CR.OVERFLOW] & 0x02) << 7) | ((r.cr[CR.OVERFLOW] & 0x40) << 3)) + 1;
  const depth = vbe ? r.vbeRegs[VBE.BPP] : 0;
  let dispWidth = width;

  let regionEnd = p.startAddr * 4 + p.lineOffset * height;
  regionEnd += Math.floor((width * depth) / 8);
  regionEnd -= p.lineOffset;
  // QEMU 7.2 draws 15 bpp through its own helper; 10.0 shares it with the display like 16 bpp
  // (seen in its screendumps: the 5-bit components come out widened as pixman widens them).
  const forceShadow = regionEnd > input.vbeSize || depth === 0 || (depth === 15 && input.drawing === '7.2');

  const shiftControl = (r.gr[GR.MODE] >> 5) & 3;
  const doubleScan = r.cr[CR.MAX_SCAN] >> 7;
  const multiScan = r.cr[CR.MODE] & 1 ? (((r.cr[CR.MAX_SCAN] & 0x1f) + 1) << doubleScan) - 1 : doubleScan;
  const dotClockHalved = (seq(r, SR.CLOCK_MODE) & 8) !== 0;
  if (shiftControl <= 1 && dotClockHalved) dispWidth <<= 1;

  const byteswap = r.bigEndianFb;
  const format = defaultPixmanFormat(depth, !byteswap);
  const shared = format !== undefined && input.acceptsFormat(format) && !forceShadow;

  let kind: LineKind;
  let bits: number;
  let palette: Uint32Array | undefined;
  let what: string;
  if (shiftControl === 0) {
    palette = palette16(r);
    kind = dotClockHalved ? 'line4d2' : 'line4';
    bits = 4;
    what = '16 colours, planar';
  } else if (shiftControl === 1) {
    palette = palette16(r);
    kind = dotClockHalved ? 'line2d2' : 'line2';
    bits = 4;
    what = '4 colours, CGA interleaved';
  } else {
    switch (depth) {
      case 8:
        palette = palette256(r);
        kind = 'line8';
        bits = 8;
        what = '256 colours';
        break;
      case 15:
        kind = 'line15';
        bits = 16;
        what = '15 bpp (x1r5g5b5)';
        break;
      case 16:
        kind = 'line16';
        bits = 16;
        what = '16 bpp (r5g6b5)';
        break;
      case 24:
        kind = 'line24';
        bits = 24;
        what = '24 bpp';
        break;
      case 32:
        kind = 'line32';
        bits = 32;
        what = '32 bpp';
        break;
      default:
        palette = palette256(r);
        kind = 'line8d2';
        bits = 4;
        what = '256 colours, chain-4, pixels doubled';
        break;
    }
  }
  const hpel = input.drawing === '10.0' && bits <= 8 ? p.hpel : 0;
  const bytesPerLine = Math.ceil((width * bits) / 8) + (hpel ? 4 : 0);
  const mode: VgaMode = {
    kind: 'graphics',
    width: dispWidth,
    height,
    depth: vbe ? depth : shiftControl === 0 ? 4 : shiftControl === 1 ? 2 : 8,
    description: vbe ? `VBE ${width}x${height}x${depth}${depth === 8 ? ' (256 colours)' : ''}` : `VGA ${dispWidth}x${height}, ${what}`,
    start: p.startAddr * 4,
    lineOffset: p.lineOffset,
    lineCompare: p.lineCompare,
    details: {
      vbe,
      shift_control: shiftControl,
      line_function: lineFunctionName(kind, r.bigEndianFb),
      bytes_per_line: bytesPerLine,
      double_scan: doubleScan === 1,
      scan_lines_per_row: multiScan + 1,
      cga_addressing: (r.cr[CR.MODE] & 3) !== 3,
      dot_clock_halved: dotClockHalved,
      shared_surface: shared,
      ...(vbe ? { virtual_width: r.vbeRegs[VBE.VIRT_WIDTH], x_offset: r.vbeRegs[VBE.X_OFFSET], y_offset: r.vbeRegs[VBE.Y_OFFSET], big_endian_fb: r.bigEndianFb } : {}),
      ...(hpel ? { horizontal_pel_panning: hpel } : {}),
    },
  };
  if (dispWidth <= 0 || height <= 0 || dispWidth * height > MAX_PIXELS) {
    return { reason: `the mode is ${dispWidth}x${height} pixels, more than migwb draws (${MAX_PIXELS} pixels)`, mode };
  }

  const fb = newFramebuffer(dispWidth, height);
  const notes: string[] = [];
  if (shared) {
    // The display reads VRAM from start_addr * 4 with the VBE line offset, through pixman.
    drawSharedSurface(fb, input.vram, p.startAddr * 4, p.lineOffset, format!);
    notes.push(`QEMU shares this framebuffer with the display (pixman ${format})${format === 'r5g6b5' ? ': 5- and 6-bit components are widened by repeating their top bits' : ''}`);
    return { framebuffer: fb, mode, notes };
  }
  const mask = input.vbeSize - 1;
  // The lines QEMU will read, in a few file reads rather than a page at a time (wrapping and CGA banks aside, which read lazily).
  input.vram.prefetch((p.startAddr * 4) & mask, p.lineOffset * height + bytesPerLine);
  const lineBytes = new Uint8Array(Math.max(bytesPerLine + 8, 16));
  const row = new Uint32Array(dispWidth + 16 * 2 + 64);
  let addr1 = (p.startAddr * 4) >>> 0;
  let y1 = 0;
  let multiRun = multiScan;
  let pan = hpel;
  for (let y = 0; y < height; y++) {
    let addr = addr1;
    if (!(r.cr[CR.MODE] & 1)) {
      // CGA compatibility: odd scan lines from the second 8 KiB bank
      const shift = 14 + ((r.cr[CR.MODE] >> 6) & 1);
      addr = ((addr & ~(1 << shift)) | ((y1 & 1) << shift)) >>> 0;
    }
    if (!(r.cr[CR.MODE] & 2)) addr = ((addr & ~0x8000) | ((y1 & 2) << 14)) >>> 0;
    row.fill(0);
    drawLine(input, kind, addr, width, pan, palette, lineBytes, row, mask);
    const offset = panOffset(kind, pan);
    fb.pixels.set(row.subarray(offset, offset + dispWidth), y * dispWidth);
    if (!multiRun) {
      const m = (r.cr[CR.MODE] & 3) ^ 3;
      if ((y1 & m) === m) addr1 = (addr1 + p.lineOffset) >>> 0;
      y1++;
      multiRun = multiScan;
    } else {
      multiRun--;
    }
    if (y === p.lineCompare) {
      if (p.hpelSplit) pan = input.drawing === '10.0' && bits <= 8 ? VGA_HPEL_NEUTRAL : 0;
      addr1 = 0;
    }
  }
  if (hpel) notes.push(`horizontal pel panning ${hpel} (drawn as QEMU 9.0 and later draw it; QEMU 7.2 ignores it)`);
  return { framebuffer: fb, mode, notes };
}

function lineFunctionName(kind: LineKind, bigEndian: boolean): string {
  const direct = kind === 'line15' || kind === 'line16' || kind === 'line24' || kind === 'line32';
  return `vga_draw_${kind}${direct ? (bigEndian ? '_be' : '_le') : ''}`;
}

/** qemu_default_pixman_format */
function defaultPixmanFormat(bpp: number, nativeEndian: boolean): PixmanFormat | undefined {
  if (nativeEndian) return ({ 15: 'x1r5g5b5', 16: 'r5g6b5', 24: 'r8g8b8', 32: 'x8r8g8b8' } as Record<number, PixmanFormat>)[bpp];
  return ({ 24: 'b8g8r8', 32: 'b8g8r8x8' } as Record<number, PixmanFormat>)[bpp];
}

/** Where a panned line starts in the line buffer (the helpers return panning_buf + hpel pixels). */
function panOffset(kind: LineKind, hpel: number): number {
  if (!hpel) return 0;
  switch (kind) {
    case 'line2':
    case 'line4':
      return hpel & 7;
    case 'line2d2':
    case 'line4d2':
      return 2 * (hpel & 7);
    case 'line8d2':
      return 2 * ((hpel >> 1) & 3);
    case 'line8':
      return (hpel >> 1) & 3;
    default:
      return 0;
  }
}

/**
 * The vga_draw_line* helper for `kind`: `width` source pixels from `addr` into `row`
 * (panned modes draw one more character so the pan can shift into it).
 */
function drawLine(input: VgaRenderInput, kind: LineKind, addr: number, width: number, hpel: number, palette: Uint32Array | undefined, buf: Uint8Array, row: Uint32Array, mask: number): void {
  const vram = input.vram;
  const planarMask = input.drawing === '10.0' ? VGA_PLANAR_SIZE - 1 : 0xffffffff;
  const r = input.regs;
  const pal = palette!;
  switch (kind) {
    case 'line2':
    case 'line2d2':
    case 'line4':
    case 'line4d2': {
      const pan = hpel & 7;
      const chars = (width + (pan ? 8 : 0)) >> 3;
      const planeMask = planeEnableMask(r.ar[AR.PLANE_ENABLE] & 0xf);
      const dbl = kind.endsWith('d2');
      let d = 0;
      for (let x = 0; x < chars; x++, addr = (addr + 4) >>> 0) {
        const at = ((addr & planarMask) >>> 0) & mask & ~3;
        const data = (vram.u32le(at) & planeMask) >>> 0;
        const p0 = data & 0xff;
        const p1 = (data >>> 8) & 0xff;
        const p2 = (data >>> 16) & 0xff;
        const p3 = data >>> 24;
        if (kind === 'line4' || kind === 'line4d2') {
          const v = (EXPAND4[p0] | (EXPAND4[p1] << 1) | (EXPAND4[p2] << 2) | (EXPAND4[p3] << 3)) >>> 0;
          for (let i = 0; i < 8; i++) d = put(row, d, pal[(v >>> (28 - 4 * i)) & 0xf], dbl);
        } else {
          let v = EXPAND2[p0] | (EXPAND2[p2] << 2);
          for (let i = 0; i < 4; i++) d = put(row, d, pal[(v >> (12 - 4 * i)) & 0xf], dbl);
          v = EXPAND2[p1] | (EXPAND2[p3] << 2);
          for (let i = 0; i < 4; i++) d = put(row, d, pal[(v >> (12 - 4 * i)) & 0xf], dbl);
        }
      }
      return;
    }
    case 'line8d2': {
      const pan = (hpel >> 1) & 3;
      const chars = (width + (pan ? 8 : 0)) >> 3;
      let d = 0;
      for (let x = 0; x < chars; x++) {
        addr = (addr & planarMask) >>> 0;
        for (let i = 0; i < 4; i++) d = put(row, d, pal[vram.u8((addr + i) & mask)], true);
        addr = (addr + 4) >>> 0;
      }
      return;
    }
    case 'line8': {
      const pan = (hpel >> 1) & 3;
      const n = ((width + (pan ? 8 : 0)) >> 3) * 8;
      vram.readWrapped(addr, n, mask, buf);
      for (let i = 0; i < n; i++) row[i] = pal[buf[i]];
      return;
    }
    default:
      drawDirectLine(vram, kind, addr, width, r.bigEndianFb, buf, row, mask);
  }
}

function put(row: Uint32Array, d: number, v: number, dbl: boolean): number {
  row[d++] = v;
  if (dbl) row[d++] = v;
  return d;
}

/** mask16: bit i of the plane-enable register keeps byte i (plane i) of each dword. */
function planeEnableMask(enable: number): number {
  let m = 0;
  for (let i = 0; i < 4; i++) if (enable & (1 << i)) m |= 0xff << (8 * i);
  return m >>> 0;
}

/** vga_draw_line15/16/24/32 (_le and _be): direct colour, components cut to 5/6 bits as QEMU does (no bit replication). */
function drawDirectLine(vram: BlockMemory, kind: LineKind, addr: number, width: number, bigEndian: boolean, buf: Uint8Array, row: Uint32Array, mask: number): void {
  if (kind === 'line15' || kind === 'line16') {
    // vga_read_word_*: the address is masked and rounded down to even per pixel.
    for (let x = 0; x < width; x++, addr += 2) {
      const at = (addr & mask) & ~1;
      const v = bigEndian ? (vram.u8(at) << 8) | vram.u8(at + 1) : vram.u8(at) | (vram.u8(at + 1) << 8);
      row[x] = kind === 'line15' ? rgbToPixel32((v >> 7) & 0xf8, (v >> 2) & 0xf8, (v << 3) & 0xf8) : rgbToPixel32((v >> 8) & 0xf8, (v >> 3) & 0xfc, (v << 3) & 0xf8);
    }
    return;
  }
  const step = kind === 'line24' ? 3 : 4;
  const n = width * step;
  const bytes = buf.length >= n ? buf : new Uint8Array(n);
  vram.readWrapped(addr, n, mask, bytes);
  for (let x = 0, o = 0; x < width; x++, o += step) {
    if (kind === 'line24') row[x] = bigEndian ? rgbToPixel32(bytes[o], bytes[o + 1], bytes[o + 2]) : rgbToPixel32(bytes[o + 2], bytes[o + 1], bytes[o]);
    else row[x] = bigEndian ? rgbToPixel32(bytes[o + 1], bytes[o + 2], bytes[o + 3]) : rgbToPixel32(bytes[o + 2], bytes[o + 1], bytes[o]);
  }
}
