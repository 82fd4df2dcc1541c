import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { framebufferRgb, newFramebuffer, type Framebuffer } from '../../shared/display/framebuffer';
import { encodePng } from '../../electron/display/png';
import { MARKER_BASE, MARKER_GPA } from './boot-program';
import { REPO } from './cli';
import { loadInQemu, migrateToFile, Qmp, QEMU, startGuest, type Guest, type LoadResult, type QemuVersion } from './qemu';

export const SCREEN_OUTPUT = path.join(REPO, 'test-output', 'screens');

/** Boots a guest (running) from `disk` with `args`; stop it with quit(). */
export function bootGuest(version: QemuVersion, args: string[], disk: string): Promise<Guest> {
  return startGuest({ binary: QEMU[version], args, files: [disk], running: true });
}

/** Guest-physical dword through HMP `xp` (QEMU's own view of guest memory). */
export async function readGuestDword(qmp: Qmp, gpa: number): Promise<number> {
  const text = await qmp.hmp(`xp /1wx 0x${gpa.toString(16)}`);
  const m = /:\s*0x([0-9a-f]+)/.exec(text);
  if (!m) throw new Error(`unexpected xp output: ${text}`);
  return parseInt(m[1], 16);
}

/** Waits until the guest signalled `step` (boot-program.ts's marker). */
export async function waitStep(qmp: Qmp, step: number, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await readGuestDword(qmp, MARKER_GPA);
    if (v === MARKER_BASE + step) return;
    if (Date.now() > deadline) throw new Error(`the guest did not reach step ${step} (marker 0x${v.toString(16)})`);
    await sleep(100);
  }
}

/** Stops the guest and saves it into `file`; the guest can be continued afterwards. */
export async function saveGuest(qmp: Qmp, file: string): Promise<void> {
  await qmp.execute('stop');
  await migrateToFile(qmp, file);
}

/** Continues a saved guest and presses Enter (the programs wait for a key between steps). */
export async function nextStep(qmp: Qmp): Promise<void> {
  await qmp.execute('cont');
  await qmp.execute('send-key', { keys: [{ type: 'qcode', data: 'ret' }] });
}

export interface QemuScreen {
  framebuffer: Framebuffer;
  /** QEMU's stderr and trace output while loading. */
  stderr: string[];
}

/**
 * Loads `image` into a fresh QEMU with -incoming (paused, as after a restore) and takes
 * QEMU's screendump of the loaded VM. `files` are copied beside it (the disk).
 */
export async function qemuScreendump(version: QemuVersion, image: string, args: string[], files: string[]): Promise<Framebuffer> {
  return screendumpOfLoad(await loadInQemu({ version, image, args, files }), image);
}

/** QEMU's screendump (PPM) of a VM that `load` loaded; QEMU quits afterwards. */
export async function screendumpOfLoad(load: LoadResult & { firstError?: string }, image: string): Promise<Framebuffer> {
  if (!load.loaded) throw new Error(`QEMU did not load ${image}: ${load.firstError ?? load.status}\n${load.stderr.join('\n')}`);
  const ppm = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-screendump-')), 'screen.ppm');
  try {
    await load.qmp!.execute('screendump', { filename: ppm });
    return parsePpm(fs.readFileSync(ppm));
  } finally {
    await load.quit();
    fs.rmSync(path.dirname(ppm), { recursive: true, force: true });
  }
}

/** A binary PPM (P6, maxval 255), as QEMU's ppm_save writes it. */
export function parsePpm(bytes: Buffer): Framebuffer {
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('not a P6 PPM with maxval 255');
  const width = Number(header[1]);
  const height = Number(header[2]);
  const data = bytes.subarray(header[0].length);
  const fb = newFramebuffer(width, height);
  for (let i = 0; i < width * height; i++) fb.pixels[i] = (data[3 * i] << 16) | (data[3 * i + 1] << 8) | data[3 * i + 2];
  return fb;
}

/**
 * Pixel-for-pixel comparison. Returns "" when equal; else a description of the first
 * difference and how many pixels differ, and writes both pictures under test-output/screens.
 */
export function compareScreens(ours: Framebuffer, theirs: Framebuffer, label: string): string {
  if (ours.width === theirs.width && ours.height === theirs.height && Buffer.from(framebufferRgb(ours)).equals(Buffer.from(framebufferRgb(theirs)))) return '';
  fs.mkdirSync(SCREEN_OUTPUT, { recursive: true });
  const safe = label.replace(/[^A-Za-z0-9.-]+/g, '_');
  fs.writeFileSync(path.join(SCREEN_OUTPUT, `${safe}.ours.png`), encodePng(ours));
  fs.writeFileSync(path.join(SCREEN_OUTPUT, `${safe}.qemu.png`), encodePng(theirs));
  if (ours.width !== theirs.width || ours.height !== theirs.height) return `size ${ours.width}x${ours.height}, QEMU ${theirs.width}x${theirs.height}`;
  let first = -1;
  let count = 0;
  for (let i = 0; i < ours.pixels.length; i++) {
    if (ours.pixels[i] !== theirs.pixels[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  const x = first % ours.width;
  const y = Math.floor(first / ours.width);
  return `${count} pixels differ; first at (${x},${y}): ours 0x${ours.pixels[first].toString(16).padStart(6, '0')}, QEMU 0x${theirs.pixels[first].toString(16).padStart(6, '0')}`;
}

/**
 * An 8-bit RGB PNG (colour type 2, no interlace) back into a framebuffer, decoded with
 * Node's zlib and the filter rules of RFC 2083 (all five filters), independently of our encoder.
 */
export function decodePng(bytes: Uint8Array): Framebuffer {
  const buf = Buffer.from(bytes);
  if (!buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('not a PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (zlib.crc32(buf.subarray(at + 4, at + 8 + length)) !== buf.readUInt32BE(at + 8 + length)) throw new Error(`PNG chunk ${type}: bad CRC`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2 || data[12] !== 0) throw new Error('not an 8-bit RGB, non-interlaced PNG');
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const rowBytes = width * 3;
  const fb = newFramebuffer(width, height);
  let prev = new Uint8Array(rowBytes);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)];
    const row = Uint8Array.from(raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1)));
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= 3 ? row[i - 3] : 0;
      const b = prev[i];
      const c = i >= 3 ? prev[i - 3] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      if (predictor === undefined) throw new Error(`PNG row ${y}: unknown filter ${filter}`);
      row[i] = (row[i] + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) fb.pixels[y * width + x] = (row[3 * x] << 16) | (row[3 * x + 1] << 8) | row[3 * x + 2];
    prev = row;
  }
  return fb;
}

/** How many different colours a picture has. */
export function distinctColours(fb: Framebuffer): number {
  return new Set(fb.pixels).size;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
