import type { ImageDiff } from '../api/image-diff';

/**
 * The facts of a case, as `migwb report` gathers them: one record per image (identity,
 * hashes with when they were taken, what was read and what was found, with offsets), the
 * user's notes and tags, search hits, diffs and journals. The HTML and the JSON carry the
 * same facts; the HTML is rendered from this alone.
 */
export interface CaseReport {
  format: 'migwb-case-report';
  version: 1;
  createdAt: string;
  tool: { name: 'migwb'; version: string };
  images: ImageFacts[];
  searches: SearchFacts[];
  diffs: DiffFacts[];
  journals: JournalFacts[];
}

export interface ImageFacts {
  path: string;
  size: number;
  /** Every hash taken of the file, oldest first (earlier ones from the library when opened for evidence). */
  hashes: { algorithm: 'sha256'; value: string; takenAt: string }[];
  /** Opened for evidence: hashes that differ from one taken before. */
  evidenceProblems: string[];
  format: string;
  wrappers: string[];
  offsetSpace: string;
  machineType?: string;
  qemuVersionHint?: string;
  fileVersion: number;
  pageSize: number;
  devices: { name: string; version?: number; offset: number }[];
  ramBlocks: { id: string; size: number; pagesPresent: number }[];
  diagnostics: { severity: string; code: string; offset: number; offsetSpace: string; section?: string; message: string; expected: string; found: string }[];
  notes: { text: string; createdAt: string }[];
  tags: string[];
}

export interface SearchFacts {
  pattern: string;
  image: string;
  hits: { gpa?: number; block: string; blockOffset: number; kind: string; fileOffset?: number; streamOffset?: number; match: string }[];
  truncated: boolean;
  error?: string;
}

export interface DiffFacts {
  a: string;
  b: string;
  diff: ImageDiff;
}

export interface JournalFacts {
  path: string;
  sha256: string;
  image: { path: string; size: number; sha256: string };
  edits: JournalEditFacts[];
}

export interface JournalEditFacts {
  summary: string;
  /** Applied edits are part of the journal's result; undone ones are kept in the journal for redo. */
  applied: boolean;
  changes: { offset: number; oldBytes: string; newBytes: string; oldLength: number; newLength: number }[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const hex = (n: number | undefined) => (n === undefined ? '—' : `0x${n.toString(16).padStart(8, '0')}`);

/** One self-contained, printable HTML page: inline style, no script, no external resource. */
export function renderCaseHtml(r: CaseReport): string {
  const e = escapeHtml;
  const out: string[] = [];
  const table = (head: string[], rows: (string | number | undefined)[][]) =>
    rows.length === 0
      ? '<p class="none">none</p>'
      : `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((row) => `<tr>${row.map((c) => `<td>${e(c === undefined ? '—' : String(c))}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`;
  const errors = r.images.reduce((n, i) => n + i.diagnostics.filter((d) => d.severity === 'error').length, 0);
  const edits = r.journals.reduce((n, j) => n + j.edits.length, 0);
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>Case report, ${e(r.createdAt)}</title>`,
    '<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.6em}h2{border-bottom:1px solid #999;margin-top:2em}h3{margin-bottom:.3em}' +
      'table{border-collapse:collapse;margin:.5em 0;font-size:12px}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}' +
      'th{background:#eee}code,td{font-family:ui-monospace,monospace}.none{color:#666}.summary li{margin:.2em 0}.error{color:#a00}' +
      '@media print{h2{break-before:page}table{break-inside:auto}tr{break-inside:avoid}}</style>',
    '</head><body>',
    `<h1>Case report</h1>`,
    `<p>Made by ${e(r.tool.name)} ${e(r.tool.version)} at ${e(r.createdAt)}. Every image was opened read-only; the hashes below were taken when it was read.</p>`,
    '<h2>Summary</h2><ul class="summary">',
    `<li>${r.images.length} images, ${errors} errors found in them</li>`,
    ...r.images.flatMap((i) => i.evidenceProblems.map((p) => `<li class="error">${e(i.path)}: ${e(p)}</li>`)),
    ...r.diffs.map((d) => `<li>diff ${e(d.a)} ↔ ${e(d.b)}: ${d.diff.equalInContent ? 'equal in content' : 'different in content'}</li>`),
    `<li>${r.searches.reduce((n, s) => n + s.hits.length, 0)} search hits</li>`,
    `<li>${r.journals.length} journals with ${edits} edits</li>`,
    '</ul>',
  );
  for (const img of r.images) {
    out.push(`<h2>Image ${e(img.path)}</h2>`);
    for (const p of img.evidenceProblems) out.push(`<p class="error">${e(p)}</p>`);
    out.push(
      table(
        ['fact', 'value'],
        [
          ['path', img.path],
          ['size', `${img.size} bytes`],
          ...img.hashes.map((h) => [h.algorithm, `${h.value} (taken ${h.takenAt})`]),
          ['format', img.format],
          ['wrappers', img.wrappers.join(' > ') || 'none'],
          ['offsets', img.offsetSpace],
          ['machine type', img.machineType],
          ['QEMU version hint', img.qemuVersionHint],
          ['stream file version', img.fileVersion],
          ['page size', img.pageSize],
          ['tags', img.tags.join(', ') || 'none'],
        ],
      ),
    );
    out.push('<h3>Notes</h3>', table(['written', 'note'], img.notes.map((n) => [n.createdAt, n.text])));
    out.push(`<h3>Diagnostics (${img.diagnostics.length})</h3>`, table(['severity', 'offset', 'code', 'section', 'message', 'expected', 'found'], img.diagnostics.map((d) => [d.severity, `${d.offsetSpace} ${hex(d.offset)}`, d.code, d.section, d.message, d.expected, d.found])));
    out.push(`<h3>Devices (${img.devices.length})</h3>`, table(['section', 'version', 'offset'], img.devices.map((d) => [d.name, d.version, hex(d.offset)])));
    out.push('<h3>RAM blocks</h3>', table(['block', 'size', 'pages present'], img.ramBlocks.map((b) => [b.id, b.size, b.pagesPresent])));
  }
  if (r.searches.length) {
    out.push('<h2>Search hits</h2>');
    for (const s of r.searches) {
      out.push(`<h3>${e(s.pattern)} in ${e(s.image)}${s.truncated ? ' (more hits than listed)' : ''}</h3>`);
      if (s.error) out.push(`<p class="error">${e(s.error)}</p>`);
      out.push(table(['guest-physical', 'block', 'block offset', 'record', 'file offset', 'stream offset', 'bytes'], s.hits.map((h) => [hex(h.gpa), h.block, hex(h.blockOffset), h.kind, hex(h.fileOffset), hex(h.streamOffset), h.match])));
    }
  }
  for (const d of r.diffs) {
    const x = d.diff;
    const at = (o?: { stream: number; file?: number }) => (o ? (o.file !== undefined ? hex(o.file) : `stream ${hex(o.stream)}`) : '—');
    out.push(`<h2>Diff ${e(d.a)} ↔ ${e(d.b)}</h2>`, `<p>${x.equalInContent ? 'Equal in content.' : 'Different in content.'}</p>`);
    out.push('<h3>Header</h3>', table(['what', 'A', 'B', 'A offset', 'B offset'], x.header.map((h) => [h.what, h.a, h.b, at(h.offsetA), at(h.offsetB)])));
    out.push(
      '<h3>Sections added and removed</h3>',
      table(['change', 'section', 'offset'], [...x.sectionsRemoved.map((s) => ['only in A', s.name, at(s.offset)]), ...x.sectionsAdded.map((s) => ['only in B', s.name, at(s.offset)])]),
    );
    out.push(
      '<h3>Fields</h3>',
      table(
        ['section', 'field', 'change', 'A', 'B', 'A offset', 'B offset'],
        x.sectionsChanged.flatMap((s) => (s.fields.length ? s.fields.map((f) => [s.name, f.path, f.change, f.valueA, f.valueB, at(f.offsetA), at(f.offsetB)]) : [[s.name, '', s.versionChanged ? `version ${s.versionChanged.a} → ${s.versionChanged.b}` : s.note ?? '', '', '', '', '']])),
      ),
    );
    if (x.ram) {
      out.push(
        '<h3>Guest RAM</h3>',
        table(['block', 'pages compared', 'differing', 'only A', 'only B'], x.ram.blocks.map((b) => [b.block, b.pagesCompared, b.pagesDiffering, b.pagesOnlyA, b.pagesOnlyB])),
        table(['guest-physical', 'block', 'block offset', 'pages', 'A record', 'B record', 'A data', 'B data'], x.ram.runs.map((g) => [hex(g.gpa), g.block, hex(g.blockOffset), g.pages, g.recordA, g.recordB, at(g.offsetA), at(g.offsetB)])),
      );
    }
    out.push('<h3>Framing</h3>', table(['what', 'A', 'B'], x.framing.map((f) => [f.what, f.a, f.b])));
    if (x.releases) out.push(`<h3>Known differences between ${e(x.releases.a)} and ${e(x.releases.b)}</h3>`, table(['rule', 'subject', 'reason'], x.knownDifferences.map((k) => [k.rule, k.subject, k.reason])));
  }
  for (const j of r.journals) {
    out.push(`<h2>Journal ${e(j.path)}</h2>`, `<p>sha256 ${e(j.sha256)}; over ${e(j.image.path)} (${j.image.size} bytes, sha256 ${e(j.image.sha256)}). Offsets are in the image as it stood before each change.</p>`);
    for (const ed of j.edits) {
      out.push(`<h3>${ed.applied ? '' : '(undone) '}${e(ed.summary)}</h3>`, table(['offset', 'old bytes', 'new bytes'], ed.changes.map((c) => [hex(c.offset), `${c.oldLength} bytes: ${c.oldBytes}`, `${c.newLength} bytes: ${c.newBytes}`])));
    }
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
