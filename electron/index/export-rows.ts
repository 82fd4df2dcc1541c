import * as path from 'node:path';
import { writeTextAtomically } from '../edit/journal-store';
import type { ImageListing } from './library';

/** The columns of an exported library row, in order: what the library view shows, and what identifies the file. */
const COLUMNS: readonly [string, (i: ImageListing) => string | number | null][] = [
  ['path', (i) => i.path],
  ['status', (i) => i.status],
  ['format', (i) => i.format],
  ['wrapper', (i) => i.wrapper],
  ['machine_type', (i) => i.machineType],
  ['qemu_version', (i) => i.qemuVersion],
  ['ram_bytes', (i) => i.ramBytes],
  ['size', (i) => i.size],
  ['devices', (i) => i.devices.join(' ')],
  ['errors', (i) => i.errors],
  ['warnings', (i) => i.warnings],
  ['problems', (i) => i.problems.map((p) => `${p.severity}:${p.code}`).join(' ')],
  ['tags', (i) => i.tags.join(' ')],
  ['notes', (i) => i.userNotes.map((n) => n.text).join('\n')],
  ['sha256', (i) => i.sha256],
  ['indexed_at', (i) => i.indexedAt],
];

/** Library rows as CSV (RFC 4180: a header row, fields quoted where they must be, CRLF) or as a JSON array of objects. */
export function exportRows(images: readonly ImageListing[], format: 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(images.map((i) => Object.fromEntries(COLUMNS.map(([name, value]) => [name, value(i)]))), null, 2) + '\n';
  const lines = [COLUMNS.map(([name]) => name), ...images.map((i) => COLUMNS.map(([, value]) => value(i)))];
  return lines.map((fields) => fields.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const text = String(v);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Writes library rows to a file, atomically, never over the library or an image it lists
 * (the app's Export and `migwb ls --export` alike). Returns the absolute path written.
 */
export async function writeExport(file: string, images: readonly ImageListing[], format: 'csv' | 'json', libraryFile: string): Promise<string> {
  await writeTextAtomically(file, exportRows(images, format), [{ path: libraryFile, role: 'the library' }, ...images.map((r) => ({ path: r.path, role: 'the indexed image' }))]);
  return path.resolve(file);
}
