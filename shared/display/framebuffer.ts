/**
 * A rendered screen as QEMU's console surface holds it: one 32-bit word per pixel,
 * 0x00RRGGBB (ui/pixel_ops.h rgb_to_pixel32, the x8r8g8b8 surface QEMU draws into). Keeping
 * QEMU's representation lets the drawing code follow hw/display/vga-helpers.h line by line.
 */
export interface Framebuffer {
  width: number;
  height: number;
  /** width * height words, row after row. */
  pixels: Uint32Array;
}

export function newFramebuffer(width: number, height: number): Framebuffer {
  return { width, height, pixels: new Uint32Array(width * height) };
}

export function rgbToPixel32(r: number, g: number, b: number): number {
  return ((r << 16) | (g << 8) | b) >>> 0;
}

/** Rows of RGB bytes (what QEMU's PPM screendump writes: PIXMAN_BE_r8g8b8). */
export function framebufferRgb(fb: Framebuffer): Uint8Array {
  const out = new Uint8Array(fb.width * fb.height * 3);
  const px = fb.pixels;
  for (let i = 0, o = 0; i < px.length; i++, o += 3) {
    const v = px[i];
    out[o] = (v >>> 16) & 0xff;
    out[o + 1] = (v >>> 8) & 0xff;
    out[o + 2] = v & 0xff;
  }
  return out;
}

/** RGBA bytes, opaque (a canvas ImageData). */
export function framebufferRgba(fb: Framebuffer): Uint8Array {
  const out = new Uint8Array(fb.width * fb.height * 4);
  const px = fb.pixels;
  for (let i = 0, o = 0; i < px.length; i++, o += 4) {
    const v = px[i];
    out[o] = (v >>> 16) & 0xff;
    out[o + 1] = (v >>> 8) & 0xff;
    out[o + 2] = v & 0xff;
    out[o + 3] = 0xff;
  }
  return out;
}

/**
 * A smaller copy for thumbnails: box-filtered down so that it fits `maxWidth` × `maxHeight`
 * (never enlarged). Text stays legible as grey shapes, which is what a grid of screens needs.
 */
export function scaleDown(fb: Framebuffer, maxWidth: number, maxHeight: number): Framebuffer {
  const scale = Math.min(1, maxWidth / fb.width, maxHeight / fb.height);
  if (scale === 1) return fb;
  const w = Math.max(1, Math.round(fb.width * scale));
  const h = Math.max(1, Math.round(fb.height * scale));
  const out = newFramebuffer(w, h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * fb.height) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * fb.height) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * fb.width) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * fb.width) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const v = fb.pixels[sy * fb.width + sx];
          r += (v >>> 16) & 0xff;
          g += (v >>> 8) & 0xff;
          b += v & 0xff;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      out.pixels[y * w + x] = rgbToPixel32(Math.round(r / n), Math.round(g / n), Math.round(b / n));
    }
  }
  return out;
}
