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

/**
 * Text from an image (idstrs, RAM block names, field names, messages that quote them) made
 * safe for a terminal: control characters (C0, DEL, C1: escape sequences, NUL, bell,
 * carriage return, line breaks) are shown as \xHH, so a hostile name can neither drive the
 * terminal nor forge output lines.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped here
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * The same for whole lines of output: line breaks and tabs stay, every other control
 * character is escaped. DEL and C1 become \u00HH, which JSON output (where JSON.stringify
 * leaves them raw) reads back as the same character.
 */
export function printableLines(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped here
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => {
    const code = c.charCodeAt(0);
    return (code < 0x7f ? '\\x' : '\\u00') + code.toString(16).padStart(2, '0');
  });
}

/** Left-aligned columns; numbers are right-aligned. Cells are printable(): one row is one line. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((cell) => printable(String(cell))))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells
    .map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd())
    .join('\n');
}
