import { EditError } from './errors';

/** Values users type for edits: hex bytes, offsets, numbers shown back in hex. */

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
