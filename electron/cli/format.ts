/** Human-readable formatting for the CLI. */

export function hexOffset(n: number, width = 8): string {
  return '0x' + n.toString(16).padStart(width, '0');
}

export function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  if (n < 1024) return `${n} bytes`;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1)} ${units[u]} (${n.toLocaleString('en-US')} bytes)`;
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
