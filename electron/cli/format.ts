import { groupDigits, humanSize } from '../../shared/util/size';

/** Human-readable formatting for the CLI. */

/** "1 error", "2 errors": a count with its noun. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${groupDigits(n)} ${n === 1 ? singular : plural}`;
}

/** "2 errors, 1 warning, 0 notes" */
export function severityCounts(c: { error: number; warning: number; info: number }, withNotes = true): string {
  return [count(c.error, 'error'), count(c.warning, 'warning'), ...(withNotes ? [count(c.info, 'note')] : [])].join(', ');
}

/** Bytes as text the way hex dumps show it: printable ASCII as is, every other byte as ".". */
export function printableText(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}

export function hexOffset(n: number, width = 8): string {
  return '0x' + n.toString(16).padStart(width, '0');
}

/** "532 KiB (545,186 bytes)": the size for people, then exactly. */
export function formatSize(n: number): string {
  return n < 1024 ? humanSize(n) : `${humanSize(n)} (${groupDigits(n)} bytes)`;
}

/** Left-aligned columns; numbers are right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells
    .map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd())
    .join('\n');
}
