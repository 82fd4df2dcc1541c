/** Human-readable formatting for the CLI. */

/** "1 error", "2 errors": a count with its noun. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}

/** "2 errors, 1 warning, 0 notes" */
export function severityCounts(c: { error: number; warning: number; info: number }, withNotes = true): string {
  return [count(c.error, 'error'), count(c.warning, 'warning'), ...(withNotes ? [count(c.info, 'note')] : [])].join(', ');
}

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

/** Left-aligned columns; numbers are right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells
    .map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd())
    .join('\n');
}
