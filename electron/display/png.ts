import * as zlib from 'node:zlib';
import type { Framebuffer } from '../../shared/display/framebuffer';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** IHDR colour type 2: RGB, 8 bits per sample (what a screendump holds; no alpha). */
const COLOR_TYPE_RGB = 2;
const FILTER_UP = 2;

/**
 * The framebuffer as a PNG file (RFC 2083): IHDR, one IDAT of the scanlines deflated by
 * Node's zlib, IEND. Every row uses the Up filter: screens repeat vertically (text rows,
 * flat backgrounds), so the filtered data is mostly zeros and deflates well.
 */
export function encodePng(fb: Framebuffer, level: 1 | 6 = 6): Uint8Array {
  const { width, height, pixels } = fb;
  const rowBytes = width * 3;
  const raw = new Uint8Array(height * (rowBytes + 1));
  const prev = new Uint8Array(rowBytes);
  const row = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    for (let x = 0, o = 0; x < width; x++, o += 3) {
      const v = pixels[y * width + x];
      row[o] = (v >>> 16) & 0xff;
      row[o + 1] = (v >>> 8) & 0xff;
      row[o + 2] = v & 0xff;
    }
    const at = y * (rowBytes + 1);
    raw[at] = FILTER_UP;
    for (let i = 0; i < rowBytes; i++) raw[at + 1 + i] = (row[i] - prev[i]) & 0xff;
    prev.set(row);
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, COLOR_TYPE_RGB, 0, 0, 0], 8);
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level })), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0));
  out.set(SIGNATURE);
  let at = SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, zlib.crc32(out.subarray(4, 8 + data.length)));
  return out;
}
