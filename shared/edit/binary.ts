import { EditError } from './errors';

/** Big-endian encoders for the stream's framing, and the hex notation journals use. */

export function be32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function be64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  out.set(be32(Math.floor(n / 0x1_0000_0000)), 0);
  out.set(be32(n >>> 0), 4);
  return out;
}

export function readBe32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

export function readBe64(b: Uint8Array, at: number): number {
  return readBe32(b, at) * 0x1_0000_0000 + readBe32(b, at + 4);
}

export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** "0a1b2c" (lower case, no separators). */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

/**
 * Parses hex bytes as users type them: "deadbeef", "de ad be ef", "0xdeadbeef",
 * "de:ad:be:ef". `what` names the value in the error message.
 */
export function parseHex(text: string, what: string): Uint8Array {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:_-]/g, '');
  if (clean.length === 0 || clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new EditError(`${what} must be hex bytes (two hex digits per byte, e.g. "de ad be ef"), not ${JSON.stringify(text)}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A non-negative offset or length written in decimal or 0x hex. */
export function parseOffset(text: string, what: string): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n)) throw new EditError(`${what} must be a non-negative number (decimal or 0x hex), not ${JSON.stringify(text)}`);
  return n;
}

export function hexNumber(n: number): string {
  return '0x' + n.toString(16);
}
