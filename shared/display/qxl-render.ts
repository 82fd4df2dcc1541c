import type { BlockMemory } from './block-memory';
import { newFramebuffer, type Framebuffer } from './framebuffer';
import { drawSharedSurface, expandPixmanPixel, type PixmanFormat } from './pixman';
import { hasVga, QXL_MODE_COMPAT, QXL_MODE_NATIVE, QXL_MODE_VGA, QXL_MODES, qxlMemory, qxlRamBlockName, readQxlModes, readQxlRom, readQxlState, type QxlMemory, type QxlSavedState, type QxlSurfaceCreate } from './qxl-state';
import { renderVgaDevice, type DeviceRender, type RenderContext } from './screen';

/** SPICE_SURFACE_FMT_* (spice/enums.h) */
export const SPICE_SURFACE_FORMATS: Readonly<Record<number, string>> = { 1: '1_A', 8: '8_A', 16: '16_555', 32: '32_xRGB', 80: '16_565', 96: '32_ARGB' };

/**
 * What QEMU shows for a QXL device after loading it (qxl_post_load, qxl_hw_update,
 * qxl-render.c):
 *
 * - qxl-vga in VGA or undefined mode: the VGA core draws (the console keeps the VGA ops the
 *   destination's reset installed), with QXL's vgamem as the VBE memory; the SPICE listener
 *   takes only x8r8g8b8 as a shared surface.
 * - native mode: the primary surface in guest memory, through the memory slots, at the
 *   size of head 0 of the guest's monitors config when it has one head; a positive stride is
 *   shared with the display (pixman converts), a negative one is copied upside down by
 *   qxl_blit into a 32-bit surface.
 * - compat mode (spice 0.4 drivers): the ROM's mode table gives a 32-bit upside-down surface
 *   at the start of the RAM BAR.
 *
 * In native mode QEMU 7.2's own console (screendump, VNC) of a loaded qxl-vga and of a
 * secondary qxl both show the primary surface, pixel for pixel as drawn here
 * (test/display/qxl-native.test.ts).
 */
export function renderQxl(ctx: RenderContext): DeviceRender {
  const state = readQxlState(ctx.fields);
  const ram = ctx.block(qxlRamBlockName(state.config));
  const vram = ctx.block('qxl.vram');
  const romBlock = ctx.block('qxl.vrom');
  const vga = hasVga(state.config);
  const modeName = QXL_MODES[state.mode] ?? `unknown (${state.mode})`;
  const rom = romBlock ? readQxlRom(romBlock) : undefined;
  const vgamem = rom?.surface0AreaSize || undefined;
  const drawVga = () => {
    const out = renderVgaDevice(ctx, ctx.fields.findStruct('vga')!, 'vga.vram', vgamem, (f) => f === 'x8r8g8b8');
    if (out.mode) out.mode.details = { qxl_mode: modeName, ...out.mode.details };
    return out;
  };
  if (state.mode === QXL_MODE_NATIVE || state.mode === QXL_MODE_COMPAT) {
    return state.mode === QXL_MODE_NATIVE ? drawPrimary(state, ram, vram) : drawCompat(state, ram, romBlock);
  }
  if (!vga) {
    return { sources: [], notes: [], reason: `the secondary QXL device is in ${modeName} mode: the guest created no primary surface, so QEMU shows no picture of it` };
  }
  const out = drawVga();
  if (state.mode !== QXL_MODE_VGA) out.notes.push(`QXL is in ${modeName} mode; QEMU's console draws the VGA state`);
  return out;
}

/** bits_pp and bytes_pp as qxl_render_resize derives them from the surface format. */
function surfaceDepth(format: number): { bytes: number; bits: number; known: boolean } {
  switch (format) {
    case 16:
      return { bytes: 2, bits: 15, known: true };
    case 80:
      return { bytes: 2, bits: 16, known: true };
    case 32:
    case 96:
      return { bytes: 4, bits: 32, known: true };
    default:
      return { bytes: 4, bits: 32, known: false };
  }
}

function drawPrimary(state: QxlSavedState, ram: BlockMemory | undefined, vram: BlockMemory | undefined): DeviceRender {
  const mem = qxlMemory(state, ram, vram);
  const notes: string[] = [];
  // qxl_spice_monitors_config_async(d, 1): head 0's size wins when the config has exactly one head.
  let head0: { width: number; height: number } | undefined;
  if (state.guestMonitorsConfig) {
    const cfg = mem.resolve(state.guestMonitorsConfig, 4);
    if ('block' in cfg && cfg.block.u16le(cfg.offset) === 1) {
      const h = cfg.offset + 4;
      head0 = { width: cfg.block.u32le(h + 8), height: cfg.block.u32le(h + 12) };
    }
  }
  return drawSurface(state.primary, mem, head0, notes, 'primary surface');
}

function drawCompat(state: QxlSavedState, ram: BlockMemory | undefined, rom: BlockMemory | undefined): DeviceRender {
  if (!rom || !ram) return { sources: [], notes: [], reason: 'compat mode needs the QXL ROM and RAM BAR blocks, which this image lacks' };
  const info = readQxlRom(rom);
  const modes = readQxlModes(rom, info.modesOffset);
  const m = modes[state.shadowRomMode];
  if (!m) return { sources: [], notes: [], reason: `compat mode ${state.shadowRomMode} is not in the ROM's mode table (${modes.length} modes): QEMU flags a guest bug and shows nothing` };
  // qxl_set_mode: slot 0 is the RAM BAR with delta = its address; the surface is upside down at draw_area_offset.
  const surface: QxlSurfaceCreate = { width: m.xRes, height: m.yRes, stride: -m.xRes * 4, format: 32, position: 0, mouseMode: 1, flags: 0, type: 0, mem: 0n };
  const mem: QxlMemory = {
    slots: [],
    resolve: (_phys, size) => (info.drawAreaOffset + size <= ram.size ? { block: ram, offset: info.drawAreaOffset, slot: 0 } : { problem: `the compat surface (${size} bytes) does not fit the RAM BAR` }),
  };
  return drawSurface(surface, mem, undefined, [`compat mode ${state.shadowRomMode}: ${m.xRes}x${m.yRes}, ${m.bits} bpp in the ROM's mode table`], 'compat surface');
}

function drawSurface(sc: QxlSurfaceCreate, mem: QxlMemory, head0: { width: number; height: number } | undefined, notes: string[], what: string): DeviceRender {
  const depth = surfaceDepth(sc.format);
  const width = head0?.width || sc.width;
  const height = head0?.height || sc.height;
  const absStride = Math.abs(sc.stride);
  const formatName = SPICE_SURFACE_FORMATS[sc.format] ?? `unknown (${sc.format})`;
  const mode = {
    kind: 'qxl-native' as const,
    width,
    height,
    depth: depth.bits,
    description: `QXL ${what} ${width}x${height}, ${formatName}${sc.stride < 0 ? ', bottom-up' : ''}`,
    details: {
      surface: { width: sc.width, height: sc.height, stride: sc.stride, format: sc.format, format_name: formatName, position: sc.position, mouse_mode: sc.mouseMode, flags: sc.flags, type: sc.type, mem: '0x' + sc.mem.toString(16) },
      ...(head0 ? { monitors_config_head0: head0 } : {}),
      shared_surface: sc.stride > 0,
    },
  };
  if (!depth.known) notes.push(`surface format ${sc.format} is not one QEMU renders; it treats it as 32 bpp, as drawn here`);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) return { mode, sources: [], notes, reason: `the ${what} is ${width}x${height}: QEMU draws nothing` };
  const size = absStride * height;
  const at = mem.resolve(sc.mem, size);
  if ('problem' in at) return { mode, sources: [], notes, reason: `the ${what}'s memory (${'0x' + sc.mem.toString(16)}) cannot be reached: ${at.problem}; QEMU shows nothing` };
  const sources = [{ what: `${what} (slot ${at.slot})`, block: at.block.id, offset: at.offset, length: size }];
  const fb = newFramebuffer(width, height);
  if (sc.stride > 0) {
    const format: PixmanFormat = depth.bits === 15 ? 'x1r5g5b5' : depth.bits === 16 ? 'r5g6b5' : 'x8r8g8b8';
    drawSharedSurface(fb, at.block, at.offset, absStride, format);
    if (depth.bits < 32) notes.push(`QEMU shares this surface with the display (pixman ${format}): components are widened by repeating their top bits`);
    return { mode, sources, framebuffer: fb, notes };
  }
  blitUpsideDown(fb, at.block, at.offset, sc, width, height, depth.bytes, notes);
  return { mode, sources, framebuffer: fb, notes };
}

/**
 * qxl_blit for a negative stride: each source row (from the bottom) is copied as raw bytes
 * into the 32-bit surface at rows of abs(stride) bytes, which only lines up for 32-bpp
 * surfaces whose stride is width * 4 (QEMU copies 16-bit pixels as bytes too). The update
 * rectangle is the whole surface; QEMU skips it when it is larger than head 0.
 */
function blitUpsideDown(fb: Framebuffer, block: BlockMemory, offset: number, sc: QxlSurfaceCreate, width: number, height: number, bytesPp: number, notes: string[]): void {
  if (sc.width > width || sc.height > height) {
    notes.push(`the surface (${sc.width}x${sc.height}) is larger than head 0 (${width}x${height}): QEMU skips the copy and the picture stays black`);
    return;
  }
  const absStride = Math.abs(sc.stride);
  const dst = new Uint8Array(fb.pixels.length * 4);
  const len = sc.width * bytesPp;
  const row = new Uint8Array(len);
  let clipped = false;
  for (let i = 0; i < sc.height; i++) {
    block.read(offset + (sc.height - i - 1) * absStride, len, row);
    const d = i * absStride;
    if (d + len > dst.length) {
      clipped = true;
      if (d < dst.length) dst.set(row.subarray(0, dst.length - d), d);
      continue;
    }
    dst.set(row, d);
  }
  // The surface is x8r8g8b8 in host (little-endian) byte order.
  for (let i = 0; i < fb.pixels.length; i++) fb.pixels[i] = expandPixmanPixel('x8r8g8b8', dst, i * 4);
  if (bytesPp !== 4 || absStride !== width * 4) notes.push('QEMU copies this surface byte for byte into a 32-bit picture, so its pixels land where QEMU puts them, not where the guest meant them');
  if (clipped) notes.push('rows QEMU would write past the end of its picture are left out');
}
