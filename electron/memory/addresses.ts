import { UsageError } from '../services/user-error';

/** Guest addresses as the user types them: 0x hex, plain decimal, or with a K/M/G suffix. */
export function parseAddress(text: string, what: string): number {
  const m = /^\s*(0x[0-9a-f_]+|\d+)\s*([kmg]i?b?)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${what} ${JSON.stringify(text)} is not an address; write it as 0x1000, 4096 or 4K`);
  const n = Number(m[1].replace(/_/g, ''));
  const unit = m[2] ? 1024 ** ('kmg'.indexOf(m[2][0].toLowerCase()) + 1) : 1;
  const value = n * unit;
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} ${text} is too large`);
  return value;
}

/** "A-B" (inclusive end, as people write memory ranges) or "A+LENGTH". */
export function parseRange(text: string, what: string): { start: number; end: number } {
  const plus = text.split('+');
  if (plus.length === 2) {
    const start = parseAddress(plus[0], what);
    return { start, end: start + parseAddress(plus[1], what) };
  }
  const dash = text.split('-');
  if (dash.length !== 2) throw new UsageError(`${what} ${JSON.stringify(text)} is not a range; write it as 0x100000-0x1fffff or 0x100000+1M`);
  const start = parseAddress(dash[0], what);
  const end = parseAddress(dash[1], what) + 1;
  if (end <= start) throw new UsageError(`${what} ${text} ends before it starts`);
  return { start, end };
}

export function hexAddress(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
