/** Big-endian integers and byte arrays: the encodings of the stream's framing. */

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
