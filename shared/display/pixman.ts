import type { BlockMemory } from './block-memory';
import type { Framebuffer } from './framebuffer';

/**
 * The pixman formats QEMU hands a display when it shares guest video memory with it
 * (qemu_default_pixman_format, qemu_create_displaysurface_from), as named on a
 * little-endian host. A screendump converts them to 8-bit RGB through pixman, whose fetchers
 * widen 5- and 6-bit components by repeating their top bits (pixman-access.c), unlike
 * QEMU's own vga_draw_line16, which leaves the low bits zero.
 */
export type PixmanFormat = 'x1r5g5b5' | 'r5g6b5' | 'r8g8b8' | 'b8g8r8' | 'x8r8g8b8' | 'b8g8r8x8';

export const PIXMAN_BYTES: Readonly<Record<PixmanFormat, number>> = { x1r5g5b5: 2, r5g6b5: 2, r8g8b8: 3, b8g8r8: 3, x8r8g8b8: 4, b8g8r8x8: 4 };

/** The pixel at `at` of `bytes` as 0x00RRGGBB, converted as pixman converts it. */
export function expandPixmanPixel(format: PixmanFormat, bytes: Uint8Array, at: number): number {
  switch (format) {
    case 'x8r8g8b8':
    case 'r8g8b8':
      return ((bytes[at + 2] << 16) | (bytes[at + 1] << 8) | bytes[at]) >>> 0;
    case 'b8g8r8':
      return ((bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2]) >>> 0;
    case 'b8g8r8x8':
      return ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
    case 'r5g6b5': {
      const p = bytes[at] | (bytes[at + 1] << 8);
      const r = ((p >> 8) & 0xf8) | ((p >> 13) & 0x7);
      const g = ((p >> 3) & 0xfc) | ((p >> 9) & 0x3);
      const b = ((p << 3) & 0xf8) | ((p >> 2) & 0x7);
      return ((r << 16) | (g << 8) | b) >>> 0;
    }
    case 'x1r5g5b5': {
      const p = bytes[at] | (bytes[at + 1] << 8);
      const r = ((p >> 7) & 0xf8) | ((p >> 12) & 0x7);
      const g = ((p >> 2) & 0xf8) | ((p >> 7) & 0x7);
      const b = ((p << 3) & 0xf8) | ((p >> 2) & 0x7);
      return ((r << 16) | (g << 8) | b) >>> 0;
    }
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * A surface QEMU shares with the display (the guest's pixels read in place through pixman):
 * `fb.height` lines of `fb.width` pixels from `start` of `memory`, `stride` bytes apart.
 */
export function drawSharedSurface(fb: Framebuffer, memory: BlockMemory, start: number, stride: number, format: PixmanFormat): void {
  const bytes = PIXMAN_BYTES[format];
  const { width, height, pixels } = fb;
  const line = new Uint8Array(width * bytes);
  memory.prefetch(start, stride * (height - 1) + line.length);
  // x8r8g8b8, the common case, is the framebuffer's own word layout on a little-endian host: whole words, one mask.
  const words = format === 'x8r8g8b8' && LITTLE_ENDIAN_HOST ? new Uint32Array(line.buffer) : undefined;
  for (let y = 0; y < height; y++) {
    memory.read(start + y * stride, line.length, line);
    const row = y * width;
    if (words) for (let x = 0; x < width; x++) pixels[row + x] = words[x] & 0xffffff;
    else for (let x = 0; x < width; x++) pixels[row + x] = expandPixmanPixel(format, line, x * bytes);
  }
}
