import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DiffOptions } from '../../shared/diff/diff-side';
import type { WireChange, WirePiece } from '../../shared/edit/journal-file';
import { formatVersionHint, versionHint } from '../../shared/formats/qemu-stream/version-hint';
import { toHex } from '../../shared/io/bytes';
import { readBytes } from '../../shared/io/byte-source';
import type { CaseReport, DiffFacts, ImageFacts, JournalFacts, SearchFacts } from '../../shared/report/case-report';
import { blockPageCount } from '../../shared/memory/guest-memory';
import { hashChangedText, recordEvidenceOpen } from './evidence';
import { sha256Of } from '../edit/file-hash';
import { readJournalFile } from '../edit/journal-store';
import { Library } from '../index/library';
import { FileSource } from '../io/file-source';
import { searchImage, type SearchPattern } from '../memory/search';
import { diffOpenedImages } from './diff-images';
import { placedDiagnostics } from './image-diagnostics';
import type { OpenedImage, OpenOptions } from './open-image';
import { UserError } from './user-error';

/** Bytes of old and new data shown per change; the journal holds them all. */
const SHOWN_BYTES = 64;

export interface CaseReportOptions {
  /** Opens an image (the CLI's opener shows progress; the app's goes through its sessions). */
  open(path: string, options?: OpenOptions): Promise<OpenedImage>;
  /** A library with the user's notes and tags (optional). */
  database?: string;
  /** Literal searches over every image's guest memory. */
  searches?: SearchPattern[];
  /** Compare every image after the first against the first. */
  diff?: boolean;
  diffOptions?: DiffOptions;
  journals?: string[];
  /**
   * Opened for evidence: each hash is recorded in the library (`database`, required) with
   * its time, and a hash that differs from one recorded before is reported as a problem.
   */
  evidence?: boolean;
  toolVersion: string;
}

/**
 * Gathers the facts of a case from its images, read-only: each image's sha256 (taken as
 * it is read), what the engine found in it with offsets, the user's notes and tags, the
 * searches and diffs asked for, and every journal with each change's old and new bytes.
 */
export async function buildCaseReport(paths: readonly string[], o: CaseReportOptions): Promise<CaseReport> {
  if (o.evidence && !o.database) throw new UserError('opening for evidence records each hash in a library: give --db');
  const library = o.database ? Library.open(o.database, { mustExist: !o.evidence }) : undefined;
  const opened: OpenedImage[] = [];
  try {
    const images: ImageFacts[] = [];
    const searches: SearchFacts[] = [];
    for (const p of paths) {
      const img = await o.open(p);
      opened.push(img);
      images.push(await imageFacts(img, library, !!o.evidence));
      for (const pattern of o.searches ?? []) {
        const r = await searchImage(img, pattern);
        searches.push({ pattern: JSON.stringify(pattern), image: p, hits: r.hits.map((h) => ({ gpa: h.gpa, block: h.block, blockOffset: h.blockOffset, kind: h.kind, fileOffset: h.fileOffset, streamOffset: h.streamOffset, match: h.match })), truncated: r.truncated, ...(r.error ? { error: r.error } : {}) });
      }
    }
    const diffs: DiffFacts[] = o.diff ? opened.slice(1).map((img) => ({ a: opened[0].path, b: img.path, diff: diffOpenedImages(opened[0], img, o.diffOptions) })) : [];
    const journals: JournalFacts[] = [];
    for (const j of o.journals ?? []) journals.push(await journalFacts(j, images));
    return { format: 'migwb-case-report', version: 1, createdAt: new Date().toISOString(), tool: { name: 'migwb', version: o.toolVersion }, images, searches, diffs, journals };
  } finally {
    for (const img of opened) img.close();
    library?.close();
  }
}

async function imageFacts(img: OpenedImage, library: Library | undefined, evidence: boolean): Promise<ImageFacts> {
  const check = evidence && library ? await recordEvidenceOpen(library, img.path, img.file) : undefined;
  const takenAt = check?.takenAt ?? new Date().toISOString();
  const sha256 = check?.sha256 ?? (await sha256Of(img.file));
  const earlier = check?.earlierHashes ?? [];
  const evidenceProblems = earlier.filter((h) => h.sha256 !== sha256).map((h) => hashChangedText(h, sha256, img.file.size));
  const m = img.model;
  const hint = formatVersionHint(versionHint(m));
  let notes: ImageFacts['notes'] = [];
  let tags: string[] = [];
  if (library) {
    try {
      const id = library.idOf(img.path);
      notes = library.notes(id).map((n) => ({ text: n.text, createdAt: n.createdAt }));
      tags = library.byIds([id])[0]?.tags ?? [];
    } catch {
      // Not indexed in this library: it has no notes or tags there.
    }
  }
  return {
    path: path.resolve(img.path),
    size: img.file.size,
    hashes: [...earlier.map((h) => ({ algorithm: 'sha256' as const, value: h.sha256, takenAt: h.takenAt })), { algorithm: 'sha256', value: sha256, takenAt }],
    evidenceProblems,
    format: img.kind,
    wrappers: img.layers.map((l) => l.kind),
    offsetSpace: img.offsetSpace,
    ...(m.machineType ? { machineType: m.machineType } : {}),
    ...(hint ? { qemuVersionHint: hint } : {}),
    fileVersion: m.fileVersion,
    pageSize: m.pageSize,
    devices: m.elements.filter((e) => e.type === 'FULL').map((e) => ({ name: `${e.idstr ?? '?'}:${e.instanceId ?? 0}`, version: e.versionId, offset: img.offsets.listed(e.offset) })),
    ramBlocks: m.ramBlocks.map((b, i) => ({ id: b.id, size: b.usedLength, pagesPresent: m.pages.presentPages(i, blockPageCount(m, i)) })),
    diagnostics: placedDiagnostics(img).map((d) => ({
      severity: d.severity,
      code: d.code,
      offset: d.offset,
      offsetSpace: d.offsetSpace,
      ...(d.section ? { section: d.section } : {}),
      message: d.message,
      expected: d.expected,
      found: d.found,
    })),
    notes,
    tags,
  };
}

/** A journal with each change's old bytes read from its sources (only files whose sha256 is the journal's). */
async function journalFacts(file: string, images: readonly ImageFacts[]): Promise<JournalFacts> {
  const doc = readJournalFile(file);
  const sources = new Map<string, FileSource>();
  try {
    for (const s of [{ ...doc.image, id: 'image' }, ...doc.sources]) {
      const known = images.find((i) => i.hashes.some((h) => h.value === s.sha256));
      const candidate = known?.path ?? s.path;
      if (!fs.existsSync(candidate)) continue;
      const src = new FileSource(candidate);
      if (known || (src.size === s.size && (await sha256Of(src)) === s.sha256)) sources.set(s.id, src);
      else src.close();
    }
    const pieces = (list: WirePiece[]) => {
      let shown = '';
      for (const p of list) {
        if (shown.length >= SHOWN_BYTES * 2) break;
        if ('hex' in p) shown += p.hex;
        else {
          const src = sources.get(p.source);
          if (!src) return `${shown}… (${p.length} bytes of ${p.source} at 0x${p.offset.toString(16)}, not available)`;
          shown += toHex(readBytes(src, p.offset, Math.min(p.length, SHOWN_BYTES)));
        }
      }
      return shown.length > SHOWN_BYTES * 2 ? `${shown.slice(0, SHOWN_BYTES * 2)}…` : shown;
    };
    const length = (list: WirePiece[]) => list.reduce((n, p) => n + ('hex' in p ? p.hex.length / 2 : p.length), 0);
    const change = (c: WireChange) => ({ offset: c.offset, oldBytes: pieces(c.removed), newBytes: pieces(c.insert), oldLength: length(c.removed), newLength: length(c.insert) });
    return {
      path: path.resolve(file),
      sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
      image: doc.image,
      edits: [...doc.edits.map((e) => ({ summary: e.summary, applied: true, changes: e.changes.map(change) })), ...doc.undone.map((e) => ({ summary: e.summary, applied: false, changes: e.changes.map(change) }))],
    };
  } finally {
    for (const s of sources.values()) s.close();
  }
}
