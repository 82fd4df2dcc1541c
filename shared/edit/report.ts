import { hex } from '../diagnostics';
import { toHex } from '../io/bytes';
import type { JournalDocument, WireChange, WirePiece } from './journal-file';

/** Bytes of removed or inserted data shown inline in a report; the journal keeps them all. */
const SHOWN_BYTES = 64;

/**
 * The evidence report of a journal, in Markdown: which image (size, sha256), which donors,
 * and for every edit what was asked, what changed at which offset (old and new bytes) and
 * which framing was fixed alongside. Offsets of a change are in the image as it stood
 * before that change; the report says so.
 */
export function evidenceReport(doc: JournalDocument, result?: { path?: string; size: number; sha256?: string }, peek?: PeekBytes): string {
  const lines: string[] = [];
  lines.push('# Edit report', '');
  lines.push(`Original image: \`${doc.image.path}\`, ${doc.image.size} bytes, sha256 \`${doc.image.sha256}\` (never written).`);
  for (const s of doc.sources) lines.push(`Donor \`${s.id}\`: \`${s.path}\`, ${s.size} bytes, sha256 \`${s.sha256}\`.`);
  if (result) lines.push(`Result${result.path ? `: \`${result.path}\`` : ''}, ${result.size} bytes${result.sha256 ? `, sha256 \`${result.sha256}\`` : ''}.`);
  lines.push('', `${doc.edits.length} edit${doc.edits.length === 1 ? '' : 's'}${doc.undone.length ? ` (and ${doc.undone.length} undone, not applied)` : ''}. Each change's offset is in the image as it stood before that change.`, '');
  doc.edits.forEach((e, i) => {
    lines.push(`## ${i + 1}. ${e.summary}`, '');
    lines.push(`Request: \`${JSON.stringify(e.intent)}\``, '');
    lines.push('| offset | removed | inserted |', '|---|---|---|');
    for (const c of e.changes) lines.push(`| ${hex(c.offset)} | ${describePieces(c.removed, c.delete, peek)} | ${describePieces(c.insert, insertedLength(c), peek)} |`);
    if (e.fixups.length) {
      lines.push('', 'Framing fixed alongside:');
      for (const f of e.fixups) lines.push(`- ${f}`);
    }
    lines.push('');
  });
  return lines.join('\n');
}

function insertedLength(c: WireChange): number {
  return c.insert.reduce((n, p) => n + ('hex' in p ? p.hex.length / 2 : p.length), 0);
}

/** Reads the first bytes of a range of a journal source, to show what a range holds. */
export type PeekBytes = (source: string, offset: number, length: number) => Uint8Array;

function describePieces(pieces: WirePiece[], length: number, peek?: PeekBytes): string {
  if (length === 0) return '—';
  const parts = pieces.map((p) => {
    if ('hex' in p) return shownHex(p.hex, p.hex.length / 2);
    const where = `${p.length} bytes of \`${p.source}\` at ${hex(p.offset)}`;
    return peek ? `${where}: ${shownHex(toHex(peek(p.source, p.offset, Math.min(p.length, SHOWN_BYTES))), p.length)}` : where;
  });
  return `${length} bytes: ${parts.join(' + ')}`;
}

function shownHex(hexText: string, length: number): string {
  const shown = hexText.slice(0, SHOWN_BYTES * 2).replace(/(..)(?!$)/g, '$1 ');
  return `\`${shown}\`${length > SHOWN_BYTES ? ` … (${length} bytes)` : ''}`;
}
