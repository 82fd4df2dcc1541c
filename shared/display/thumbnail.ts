import { newFramebuffer, type Framebuffer } from './framebuffer';

/**
 * The picture scaled down to fit a box, keeping its aspect ratio, each thumbnail pixel the
 * average of the screen pixels it covers (a box filter: text stays legible as grey strokes
 * instead of the dropped rows nearest-neighbour gives). Pictures already inside the box
 * are returned as they are.
 */
export function scaleToFit(fb: Framebuffer, maxWidth: number, maxHeight: number): Framebuffer {
  const scale = Math.min(maxWidth / fb.width, maxHeight / fb.height);
  if (scale >= 1) return fb;
  const width = Math.max(1, Math.round(fb.width * scale));
  const height = Math.max(1, Math.round(fb.height * scale));
  const out = newFramebuffer(width, height);
  const sums = new Float64Array(width * 3);
  const counts = new Float64Array(width);
  // Source column → thumbnail column, computed once.
  const column = new Uint32Array(fb.width);
  for (let x = 0; x < fb.width; x++) column[x] = Math.min(width - 1, Math.floor((x * width) / fb.width));
  for (let ty = 0; ty < height; ty++) {
    sums.fill(0);
    counts.fill(0);
    const y0 = Math.floor((ty * fb.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * fb.height) / height));
    for (let y = y0; y < y1; y++) {
      const row = y * fb.width;
      for (let x = 0; x < fb.width; x++) {
        const v = fb.pixels[row + x];
        const c = column[x];
        sums[c * 3] += (v >>> 16) & 0xff;
        sums[c * 3 + 1] += (v >>> 8) & 0xff;
        sums[c * 3 + 2] += v & 0xff;
        counts[c]++;
      }
    }
    for (let tx = 0; tx < width; tx++) {
      const n = counts[tx];
      out.pixels[ty * width + tx] = ((Math.round(sums[tx * 3] / n) << 16) | (Math.round(sums[tx * 3 + 1] / n) << 8) | Math.round(sums[tx * 3 + 2] / n)) >>> 0;
    }
  }
  return out;
}
