import type { ByteSource } from '../io/byte-source';
import { toHex } from '../io/bytes';
import { EditError } from './errors';
import type { ContainerEdit, EditIntent, JsonValue } from './intents';
import { IMAGE_SOURCE, JournalSource, PieceTable, rangePiece, totalLength, type Piece } from './pieces';

/** Replace [offset, offset + deleteLength) of the view with `insert`. */
export interface ByteChange {
  offset: number;
  deleteLength: number;
  insert: Piece[];
}

/**
 * One user-level edit compiled to bytes. Its changes are stated against the view before
 * the edit and must not overlap, so a compiler never has to track its own shifts.
 */
export interface CompiledEdit {
  intent: EditIntent;
  /** One line: what changed where, in the user's terms. */
  summary: string;
  changes: ByteChange[];
  /** Framing the edit had to fix alongside (footers, CONTINUE flags, vmdesc…), in words. */
  fixups: string[];
  /** Edits of the container around the stream (notes, tags, chunks); written by the format on save. */
  container?: ContainerEdit[];
  /** Sources the changes read from that are computed from the image (re-encoded RAM), registered with the edit. */
  derived?: DerivedSource[];
}

/**
 * A read-only source computed from the image as it stood before the edit (a transform's
 * re-encoded RAM): its recipe rebuilds it when a saved journal is re-applied, so the
 * journal holds ranges of it instead of gigabytes of bytes.
 */
export interface DerivedSource {
  id: string;
  /** How to rebuild it from the view before the edit (JSON; see shared/transform/derived.ts). */
  recipe: JsonValue;
  size: number;
  /** The bytes; absent in an entry read from a journal file until its recipe is rebuilt. */
  source?: ByteSource;
}

export interface AppliedChange extends ByteChange {
  /** What the change replaced, as pieces of the sources: undo puts exactly these back. */
  removed: Piece[];
}

/** A journal entry: the compiled edit with its changes in the order they were applied. */
export interface AppliedEdit extends Omit<CompiledEdit, 'changes'> {
  changes: AppliedChange[];
}

/** The container edits of a journal's entries, in the order they were made. */
export function containerEditsOf(entries: readonly AppliedEdit[]): ContainerEdit[] {
  return entries.flatMap((e) => e.container ?? []);
}

/**
 * The edit journal: an append-only list of reversible edits over untouched sources, with
 * undo and redo. Reading `view()` shows the edited image; nothing is ever written to a source.
 */
export class EditJournal {
  private readonly sources = new Map<string, ByteSource>();
  private readonly table: PieceTable;
  private readonly applied: AppliedEdit[] = [];
  private readonly undone: AppliedEdit[] = [];
  private current?: JournalSource;

  constructor(readonly original: ByteSource) {
    this.sources.set(IMAGE_SOURCE, original);
    this.table = new PieceTable(this.sources, [rangePiece(IMAGE_SOURCE, 0, original.size)]);
  }

  /** Registers a read-only source (a donor image) that edits may copy from. */
  addSource(id: string, source: ByteSource): void {
    if (this.sources.has(id)) throw new EditError(`a source named "${id}" is already registered`);
    this.sources.set(id, source);
  }

  source(id: string): ByteSource | undefined {
    return this.sources.get(id);
  }

  /** The edited image as it stands (an immutable snapshot; cached until the next change). */
  view(): JournalSource {
    return (this.current ??= this.table.snapshot());
  }

  get entries(): readonly AppliedEdit[] {
    return this.applied;
  }

  /** Edits that were undone and can be redone, the next one to redo last. */
  get redoable(): readonly AppliedEdit[] {
    return this.undone;
  }

  apply(edit: CompiledEdit): AppliedEdit {
    const entry: AppliedEdit = { ...edit, changes: [] };
    const registered = this.registerDerived(edit.derived);
    try {
      for (const c of applicationOrder(edit.changes)) entry.changes.push({ ...c, removed: this.table.splice(c.offset, c.deleteLength, c.insert) });
    } catch (e) {
      this.revert(entry.changes);
      for (const id of registered) this.sources.delete(id);
      throw e;
    }
    this.current = undefined;
    this.applied.push(entry);
    this.undone.length = 0;
    return entry;
  }

  /**
   * Re-applies an entry recorded earlier (a saved journal), change by change in the recorded
   * order, and checks that each change removes exactly what the record says it removed.
   */
  replay(entry: AppliedEdit): void {
    const done: AppliedChange[] = [];
    const registered = this.registerDerived(entry.derived);
    const misfit = (why: string) => {
      this.revert(done);
      for (const id of registered) this.sources.delete(id);
      return new EditError(`the journal entry "${entry.summary}" does not fit this image: ${why}`);
    };
    for (const c of entry.changes) {
      let removed: Piece[];
      try {
        removed = this.table.splice(c.offset, c.deleteLength, c.insert);
      } catch (e) {
        if (e instanceof RangeError) throw misfit(e.message);
        throw e;
      }
      done.push({ ...c, removed });
      if (!samePieces(removed, c.removed)) throw misfit(`at offset ${c.offset} it expected to replace other bytes than are there`);
    }
    this.current = undefined;
    this.applied.push(entry);
    this.undone.length = 0;
  }

  undo(): AppliedEdit | undefined {
    const entry = this.applied.pop();
    if (!entry) return undefined;
    this.revert(entry.changes);
    this.current = undefined;
    this.undone.push(entry);
    return entry;
  }

  /** Takes back the last edit for good: undone, and not offered for redo (a repair that did not help). */
  withdraw(): AppliedEdit | undefined {
    const entry = this.undo();
    if (entry) this.undone.pop();
    return entry;
  }

  redo(): AppliedEdit | undefined {
    const entry = this.undone.pop();
    if (!entry) return undefined;
    for (const c of entry.changes) this.table.splice(c.offset, c.deleteLength, c.insert);
    this.current = undefined;
    this.applied.push(entry);
    return entry;
  }

  /** Registers an edit's derived sources (ids must be new); returns the ids registered. */
  private registerDerived(derived: readonly DerivedSource[] | undefined): string[] {
    const ids: string[] = [];
    for (const d of derived ?? []) {
      if (this.sources.has(d.id)) continue; // redo of an edit whose source is still registered
      if (!d.source) throw new EditError(`internal: the derived source "${d.id}" was not rebuilt`);
      if (d.source.size !== d.size) throw new EditError(`the derived source "${d.id}" rebuilt to ${d.source.size} bytes, but the journal says ${d.size}; it was made by another version of migwb`);
      this.sources.set(d.id, d.source);
      ids.push(d.id);
    }
    return ids;
  }

  private revert(changes: readonly AppliedChange[]): void {
    for (let i = changes.length - 1; i >= 0; i--) {
      const c = changes[i];
      this.table.splice(c.offset, totalLength(c.insert), c.removed);
    }
  }
}

/**
 * Highest offset first, so each change leaves the offsets of the ones still to come intact.
 * At a shared offset the replacement goes first and the pure insertion lands before it.
 */
export function applicationOrder(changes: readonly ByteChange[]): ByteChange[] {
  const sorted = [...changes].sort((a, b) => b.offset - a.offset || b.deleteLength - a.deleteLength);
  for (let i = 1; i < sorted.length; i++) {
    const higher = sorted[i - 1];
    const lower = sorted[i];
    const overlaps = lower.offset + lower.deleteLength > higher.offset;
    const ambiguous = lower.offset === higher.offset && lower.deleteLength === 0 && higher.deleteLength === 0;
    if (overlaps || ambiguous) {
      throw new EditError(`internal: the changes of one edit overlap at offset ${lower.offset}; merge them into one change`);
    }
  }
  return sorted;
}

/** Byte-for-byte equal piece lists, however they happen to be split. */
export function samePieces(a: readonly Piece[], b: readonly Piece[]): boolean {
  const flat = (ps: readonly Piece[]) => ps.map((p) => (p.kind === 'range' ? `${p.source}@${p.offset}+${p.length}` : toHex(p.bytes)));
  return normalise(a).join('|') === normalise(b).join('|');

  function normalise(ps: readonly Piece[]): string[] {
    // Adjacent ranges of one source and adjacent byte pieces merge, so splits do not matter.
    const merged: Piece[] = [];
    for (const p of ps) {
      const last = merged[merged.length - 1];
      if (last && last.kind === 'range' && p.kind === 'range' && last.source === p.source && last.offset + last.length === p.offset) {
        merged[merged.length - 1] = { ...last, length: last.length + p.length };
      } else if (last && last.kind === 'bytes' && p.kind === 'bytes') {
        const joined = new Uint8Array(last.bytes.length + p.bytes.length);
        joined.set(last.bytes);
        joined.set(p.bytes, last.bytes.length);
        merged[merged.length - 1] = { kind: 'bytes', bytes: joined };
      } else {
        merged.push(p);
      }
    }
    return flat(merged);
  }
}
