import { toHex } from '../io/bytes';
import { parseHex } from './user-input';
import { EditError } from './errors';
import type { ContainerEdit, EditIntent, JsonValue } from './intents';
import type { AppliedChange, AppliedEdit, EditJournal } from './journal';
import { IMAGE_SOURCE, type Piece } from './pieces';

/**
 * The journal as a file of its own: human-readable JSON that names the image it was made
 * for (size and sha256), every edit with its intent, its byte changes (what was removed,
 * what was inserted, as hex or as ranges of the image or a donor) and the framing fixups.
 * It can be re-applied to another copy of the same image and turned into a report.
 */
export const JOURNAL_FORMAT = 'migwb-edit-journal';
export const JOURNAL_VERSION = 1;

export interface SourceIdentity {
  path: string;
  size: number;
  sha256: string;
}

export type WirePiece = { hex: string } | { source: string; offset: number; length: number };

export interface WireChange {
  offset: number;
  delete: number;
  insert: WirePiece[];
  removed: WirePiece[];
}

export interface WireEdit {
  summary: string;
  intent: EditIntent;
  fixups: string[];
  changes: WireChange[];
  /** Sources computed from the image before this edit (a transform's re-encoded RAM): id, recipe, size. */
  derived?: { id: string; recipe: JsonValue; size: number }[];
  /** Edits of the container (notes, tags, chunks), absent when there are none. */
  container?: ContainerEdit[];
}

export interface JournalDocument {
  format: typeof JOURNAL_FORMAT;
  version: typeof JOURNAL_VERSION;
  image: SourceIdentity;
  /** Donor images edits copied from, by the id the changes use. */
  sources: (SourceIdentity & { id: string })[];
  edits: WireEdit[];
  /** Undone edits, the next one to redo last. */
  undone: WireEdit[];
}

export function journalDocument(journal: EditJournal, image: SourceIdentity, sources: (SourceIdentity & { id: string })[]): JournalDocument {
  return {
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    image,
    sources,
    edits: journal.entries.map(toWire),
    undone: journal.redoable.map(toWire),
  };
}

function toWire(e: AppliedEdit): WireEdit {
  return {
    summary: e.summary,
    intent: e.intent,
    fixups: e.fixups,
    changes: e.changes.map((c) => ({ offset: c.offset, delete: c.deleteLength, insert: c.insert.map(wirePiece), removed: c.removed.map(wirePiece) })),
    ...(e.derived?.length ? { derived: e.derived.map(({ id, recipe, size }) => ({ id, recipe, size })) } : {}),
    ...(e.container?.length ? { container: e.container } : {}),
  };
}

function wirePiece(p: Piece): WirePiece {
  return p.kind === 'bytes' ? { hex: toHex(p.bytes) } : { source: p.source, offset: p.offset, length: p.length };
}

/** Parses and checks a journal file; every problem is an EditError naming what is wrong. */
export function parseJournalDocument(text: string): JournalDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EditError(`the journal is not valid JSON: ${(e as Error).message}`);
  }
  const doc = json as JournalDocument;
  if (!isObject(doc) || doc.format !== JOURNAL_FORMAT) throw new EditError(`this is not a migwb edit journal (no "format": "${JOURNAL_FORMAT}")`);
  if (doc.version !== JOURNAL_VERSION) throw new EditError(`journal version ${String(doc.version)} is not supported (this migwb reads version ${JOURNAL_VERSION})`);
  if (!isIdentity(doc.image)) throw new EditError('the journal does not say which image it belongs to ("image": path, size, sha256)');
  if (!Array.isArray(doc.sources) || !doc.sources.every((s) => isIdentity(s) && typeof s.id === 'string' && s.id !== IMAGE_SOURCE)) {
    throw new EditError('the journal\'s "sources" list is malformed');
  }
  const ids = new Set([IMAGE_SOURCE, ...doc.sources.map((s) => s.id)]);
  for (const [list, name] of [[doc.edits, 'edits'], [doc.undone ?? (doc.undone = []), 'undone']] as const) {
    if (!Array.isArray(list)) throw new EditError(`the journal's "${name}" is not a list`);
    list.forEach((e, i) => {
      if (e?.derived === undefined) return;
      if (!Array.isArray(e.derived) || !e.derived.every((d) => isObject(d) && typeof d.id === 'string' && isCount(d.size) && isObject(d.recipe) && !ids.has(d.id))) {
        throw new EditError(`journal ${name}[${i}] has a malformed "derived" list (id, recipe, size; ids not used by other sources)`);
      }
      for (const d of e.derived) ids.add(d.id);
    });
  }
  for (const [list, name] of [[doc.edits, 'edits'], [doc.undone, 'undone']] as const) list.forEach((e, i) => checkEdit(e, `${name}[${i}]`, ids));
  return doc;
}

function checkEdit(e: WireEdit, where: string, ids: Set<string>): void {
  if (!isObject(e) || typeof e.summary !== 'string' || !isObject(e.intent) || typeof e.intent.op !== 'string' || !Array.isArray(e.fixups) || !Array.isArray(e.changes)) {
    throw new EditError(`journal ${where} is malformed (it needs summary, intent, fixups and changes)`);
  }
  if (e.container !== undefined && (!Array.isArray(e.container) || !e.container.every(isContainerEdit))) throw new EditError(`journal ${where} has malformed container edits`);
  for (const c of e.changes) {
    if (!isObject(c) || !isCount(c.offset) || !isCount(c.delete) || !Array.isArray(c.insert) || !Array.isArray(c.removed)) throw new EditError(`journal ${where} has a malformed change`);
    for (const p of [...c.insert, ...c.removed]) {
      const ok = isObject(p) && ('hex' in p ? typeof p.hex === 'string' : ids.has(p.source) && isCount(p.offset) && isCount(p.length));
      if (!ok) throw new EditError(`journal ${where} has a change with a malformed piece (hex bytes, or a range of a listed source)`);
    }
  }
}

/** The journal's edits as journal entries, ready to replay. */
export function entriesOf(edits: readonly WireEdit[]): AppliedEdit[] {
  return edits.map((e) => ({
    summary: e.summary,
    intent: e.intent,
    fixups: e.fixups,
    changes: e.changes.map((c): AppliedChange => ({ offset: c.offset, deleteLength: c.delete, insert: c.insert.map(fromWire), removed: c.removed.map(fromWire) })),
    ...(e.derived?.length ? { derived: e.derived.map((d) => ({ ...d })) } : {}),
    ...(e.container?.length ? { container: e.container } : {}),
  }));
}

function fromWire(p: WirePiece): Piece {
  return 'hex' in p ? { kind: 'bytes', bytes: p.hex === '' ? new Uint8Array(0) : parseHex(p.hex, 'journal bytes') } : { kind: 'range', source: p.source, offset: p.offset, length: p.length };
}

/** The shape of each kind of container edit. */
const CONTAINER_EDIT_SHAPES: Record<ContainerEdit['kind'], (v: Record<string, unknown>) => boolean> = {
  note: (v) => typeof v.about === 'string' && typeof v.text === 'string',
  tags: (v) => Array.isArray(v.tags) && v.tags.every((t: unknown) => typeof t === 'string'),
  'recompute-crc': (v) => isCount(v.chunk) && typeof v.type === 'string',
  'drop-chunk': (v) => isCount(v.chunk) && typeof v.type === 'string',
};

function isContainerEdit(v: unknown): v is ContainerEdit {
  return isObject(v) && typeof v.kind === 'string' && Object.hasOwn(CONTAINER_EDIT_SHAPES, v.kind) && CONTAINER_EDIT_SHAPES[v.kind as ContainerEdit['kind']](v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isIdentity(v: unknown): v is SourceIdentity {
  return isObject(v) && typeof v.path === 'string' && isCount(v.size) && typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256);
}

/** Re-applies a journal document's edits to a fresh journal; its undone edits are replayed and undone again, so they can be redone. `beforeEach` sees each entry just before it is replayed. */
export function replayJournal(journal: EditJournal, doc: JournalDocument, beforeEach: (e: AppliedEdit) => void = () => undefined): void {
  const replay = (e: AppliedEdit) => {
    beforeEach(e);
    journal.replay(e);
  };
  for (const e of entriesOf(doc.edits)) replay(e);
  const undone = entriesOf(doc.undone);
  for (const e of [...undone].reverse()) replay(e);
  for (let i = 0; i < undone.length; i++) journal.undo();
}
