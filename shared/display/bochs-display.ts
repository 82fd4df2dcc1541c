import { newFramebuffer } from './framebuffer';
import { drawSharedSurface, PIXMAN_BYTES, type PixmanFormat } from './pixman';
import type { DeviceRender, RenderContext } from './screen';
import { VBE } from './vga-state';

/**
 * bochs-display (hw/display/bochs-display.c): the Bochs VBE registers over MMIO and a linear
 * framebuffer, no VGA. bochs_display_get_mode accepts 16 and 32 bpp only, at least 64x64,
 * inside vgamem; the surface is shared with the display, so pixman converts the pixels.
 */
export function renderBochsDisplay(ctx: RenderContext): DeviceRender {
  const f = ctx.fields;
  const vbe = f.arrayInts('vbe_regs');
  const bigEndian = f.has('big_endian_fb') && f.bool('big_endian_fb');
  const vram = ctx.block('bochs-display-vram');
  if (!vram) return { sources: [], notes: [], reason: `${ctx.device.idstr} has no bochs-display-vram RAM block in this image, so its framebuffer is missing` };
  const vgamem = vram.size;
  const bpp = vbe[VBE.BPP];
  const width = vbe[VBE.XRES];
  const height = vbe[VBE.YRES];
  const virtWidth = Math.max(vbe[VBE.VIRT_WIDTH], width);
  const details = { vbe_regs: vbe, big_endian_fb: bigEndian, virtual_width: vbe[VBE.VIRT_WIDTH], x_offset: vbe[VBE.X_OFFSET], y_offset: vbe[VBE.Y_OFFSET], vgamem };
  if (!(vbe[VBE.ENABLE] & VBE.ENABLED)) return { sources: [], notes: [], reason: 'bochs-display: the guest never enabled a mode (VBE ENABLE is clear), so QEMU shows no picture of the guest' };
  const format: PixmanFormat | undefined = bpp === 16 ? 'r5g6b5' : bpp === 32 ? (bigEndian ? 'b8g8r8x8' : 'x8r8g8b8') : undefined;
  const mode = { kind: 'graphics' as const, width, height, depth: bpp, description: `bochs-display ${width}x${height}x${bpp}`, details };
  if (!format) return { mode, sources: [], notes: [], reason: `bochs-display: ${bpp} bpp is not a mode QEMU displays (only 16 and 32 bpp), so it keeps the picture it had` };
  const bytes = PIXMAN_BYTES[format];
  const stride = virtWidth * bytes;
  const offset = vbe[VBE.X_OFFSET] * bytes + vbe[VBE.Y_OFFSET] * stride;
  const size = stride * height;
  Object.assign(details, { stride, offset, format });
  if (width < 64 || height < 64) return { mode, sources: [], notes: [], reason: `bochs-display: ${width}x${height} is smaller than QEMU displays (64x64)` };
  if (offset + size > vgamem) return { mode, sources: [], notes: [], reason: `bochs-display: the mode needs ${offset + size} bytes from the framebuffer's start, more than its ${vgamem} bytes` };
  const fb = newFramebuffer(width, height);
  drawSharedSurface(fb, vram, offset, stride, format);
  return {
    mode,
    sources: [{ what: 'framebuffer', block: vram.id, offset, length: size }],
    framebuffer: fb,
    notes: format === 'r5g6b5' ? ['QEMU shares this framebuffer with the display (pixman r5g6b5): 5- and 6-bit components are widened by repeating their top bits'] : [],
  };
}
