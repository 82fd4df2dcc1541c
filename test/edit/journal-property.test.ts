import fc from 'fast-check';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EditJournal, type ByteChange } from '../../shared/edit/journal';
import { entriesOf, journalDocument, parseJournalDocument } from '../../shared/edit/journal-file';
import { bytesPiece } from '../../shared/edit/pieces';
import { MemorySource, readBytes } from '../../shared/io/byte-source';
import { compileEdit } from '../../shared/edit/compile';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import { fieldPaths } from '../../shared/edit/field-path';
import { fieldEncoding } from '../../shared/edit/field-value';
import { EditError } from '../../shared/edit/errors';
import { corpusPath } from '../helpers/corpus';
import { assertProperty, yieldToRunner } from '../helpers/property';

/** A byte edit as fractions of the current size, so it always lands inside the data. */
type RawEdit = { kind: 'insert' | 'delete' | 'replace' | 'copy'; at: number; length: number; bytes: Uint8Array; from: number };
const rawEdit: fc.Arbitrary<RawEdit> = fc.record({
  kind: fc.constantFrom('insert' as const, 'delete' as const, 'replace' as const, 'copy' as const),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  length: fc.integer({ min: 0, max: 300 }),
  bytes: fc.uint8Array({ minLength: 0, maxLength: 40 }),
  from: fc.double({ min: 0, max: 1, noNaN: true }),
});

/** The same edit on a plain array (the reference) and as a journal change. */
function toChange(e: RawEdit, current: Uint8Array, journal: EditJournal): { change: ByteChange; expected: Uint8Array } {
  const at = Math.min(current.length, Math.floor(e.at * (current.length + 1)));
  const len = Math.min(e.length, current.length - at);
  let insert: Uint8Array;
  let change: ByteChange;
  switch (e.kind) {
    case 'insert':
      insert = e.bytes;
      change = { offset: at, deleteLength: 0, insert: [bytesPiece(e.bytes)] };
      break;
    case 'delete':
      insert = new Uint8Array(0);
      change = { offset: at, deleteLength: len, insert: [] };
      break;
    case 'replace':
      insert = e.bytes;
      change = { offset: at, deleteLength: Math.min(len, e.bytes.length), insert: [bytesPiece(e.bytes)] };
      break;
    case 'copy': {
      // Copies a stretch of the edited view elsewhere, as moving a section does.
      const src = Math.floor(e.from * (current.length - len));
      insert = current.slice(src, src + len);
      change = { offset: at, deleteLength: 0, insert: journal.view().slice(src, len) };
      break;
    }
  }
  const expected = new Uint8Array([...current.subarray(0, at), ...insert, ...current.subarray(at + change.deleteLength)]);
  return { change, expected };
}

/**
 * Several non-overlapping changes of one edit, against `current`, and the bytes they make.
 * Two pure insertions never share an offset (which order they land in is undefined); a pure
 * insertion may share one with a replacement and lands before it.
 */
function severalChanges(raw: { at: number; deleteLength: number; bytes: Uint8Array; copy: boolean; from: number }[], current: Uint8Array, journal: EditJournal): { changes: ByteChange[]; expected: Uint8Array } {
  const wanted = raw
    .map((r) => ({ ...r, offset: Math.floor(r.at * (current.length + 1)) }))
    .sort((a, b) => a.offset - b.offset || a.deleteLength - b.deleteLength);
  const changes: ByteChange[] = [];
  const inserted: Uint8Array[] = [];
  let free = 0; // the first offset no earlier change deletes
  for (const r of wanted) {
    const offset = Math.max(r.offset, free);
    if (offset > current.length) break;
    const previous = changes[changes.length - 1];
    const deleteLength = Math.min(r.deleteLength, current.length - offset);
    if (previous && previous.offset === offset && previous.deleteLength === 0 && deleteLength === 0) continue;
    let insert: ByteChange['insert'];
    let bytes: Uint8Array;
    if (r.copy && current.length > 0) {
      const length = Math.min(r.bytes.length + 1, current.length);
      const from = Math.floor(r.from * (current.length - length));
      insert = journal.view().slice(from, length);
      bytes = current.slice(from, from + length);
    } else {
      insert = [bytesPiece(r.bytes)];
      bytes = r.bytes;
    }
    changes.push({ offset, deleteLength, insert });
    inserted.push(bytes);
    free = offset + deleteLength;
  }
  const parts: Uint8Array[] = [];
  let at = 0;
  changes.forEach((c, i) => {
    parts.push(current.subarray(at, c.offset), inserted[i]);
    at = c.offset + c.deleteLength;
  });
  parts.push(current.subarray(at));
  const expected = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    expected.set(p, o);
    o += p.length;
  }
  return { changes, expected };
}

function bytesOf(journal: EditJournal): Uint8Array {
  return readBytes(journal.view(), 0, journal.view().size);
}

describe('the edit journal', () => {
  it('reads like a plain array under random edits; undo restores the original exactly, redo the edited bytes', () => {
    assertProperty(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.array(rawEdit, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 64 }), (original, edits, window) => {
        const journal = new EditJournal(new MemorySource(original));
        const states: Uint8Array[] = [original];
        for (const e of edits) {
          const { change, expected } = toChange(e, states[states.length - 1], journal);
          journal.apply({ intent: { op: 'test' }, summary: e.kind, changes: [change], fixups: [] });
          states.push(expected);
          expect(bytesOf(journal)).toEqual(expected);
        }
        // Reads in small windows at every offset agree too (the parser reads this way).
        const view = journal.view();
        const last = states[states.length - 1];
        for (let at = 0; at < view.size; at += window) expect(readBytes(view, at, window)).toEqual(last.subarray(at, at + window));
        for (let i = states.length - 2; i >= 0; i--) {
          journal.undo();
          expect(bytesOf(journal)).toEqual(states[i]);
        }
        expect(journal.undo()).toBeUndefined();
        while (journal.redo());
        expect(bytesOf(journal)).toEqual(last);
      }),
      { numRuns: 300 },
    );
  });

  it('one edit may hold several non-overlapping changes stated against the view before it', () => {
    const journal = new EditJournal(new MemorySource(new TextEncoder().encode('0123456789')));
    journal.apply({
      intent: { op: 'test' },
      summary: 'three changes',
      fixups: [],
      changes: [
        { offset: 2, deleteLength: 2, insert: [bytesPiece(new TextEncoder().encode('ab'))] },
        { offset: 8, deleteLength: 0, insert: [bytesPiece(new TextEncoder().encode('XYZ'))] },
        { offset: 5, deleteLength: 1, insert: [] },
      ],
    });
    expect(new TextDecoder().decode(bytesOf(journal))).toBe('01ab467XYZ89');
    // Undo reverts them last-applied first: the deletion at 5 shifted where "XYZ" sits.
    journal.undo();
    expect(new TextDecoder().decode(bytesOf(journal))).toBe('0123456789');
    journal.redo();
    expect(new TextDecoder().decode(bytesOf(journal))).toBe('01ab467XYZ89');
    expect(() => journal.apply({ intent: { op: 'test' }, summary: 'overlap', fixups: [], changes: [{ offset: 1, deleteLength: 3, insert: [] }, { offset: 2, deleteLength: 1, insert: [] }] })).toThrow(/overlap/);
    expect(new TextDecoder().decode(bytesOf(journal))).toBe('01ab467XYZ89');
  });

  it('edits of several changes each (as section moves and RAM edits make them) undo and redo exactly, in any number', () => {
    // Each change is stated against the view before its edit; changes that shift lengths make
    // the order of application and of reverting matter.
    let multiChange = 0;
    const change = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), deleteLength: fc.integer({ min: 0, max: 40 }), bytes: fc.uint8Array({ maxLength: 30 }), copy: fc.boolean(), from: fc.double({ min: 0, max: 1, noNaN: true }) });
    assertProperty(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.array(fc.array(change, { minLength: 2, maxLength: 6 }), { minLength: 1, maxLength: 8 }), (original, edits) => {
        const journal = new EditJournal(new MemorySource(original));
        const states: Uint8Array[] = [original];
        for (const raw of edits) {
          const current = states[states.length - 1];
          const { changes, expected } = severalChanges(raw, current, journal);
          journal.apply({ intent: { op: 'test' }, summary: `${changes.length} changes`, changes, fixups: [] });
          if (changes.length > 1) multiChange++;
          states.push(expected);
          expect(bytesOf(journal)).toEqual(expected);
        }
        for (let i = states.length - 2; i >= 0; i--) {
          journal.undo();
          expect(bytesOf(journal)).toEqual(states[i]);
        }
        for (let i = 1; i < states.length; i++) {
          journal.redo();
          expect(bytesOf(journal)).toEqual(states[i]);
        }
        // Replaying the saved document rebuilds the same bytes, change by change.
        const doc = parseJournalDocument(JSON.stringify(journalDocument(journal, { path: '/x', size: original.length, sha256: '0'.repeat(64) }, [])));
        const again = new EditJournal(new MemorySource(original));
        for (const entry of entriesOf(doc.edits)) again.replay(entry);
        expect(bytesOf(again)).toEqual(states[states.length - 1]);
      }),
      { numRuns: 200 },
    );
    // Most edits did hold several changes (a guard against a generator that degenerates).
    expect(multiChange).toBeGreaterThan(200);
  });

  it('an edit whose changes overlap is refused whole: the view is as before, and undo still works', () => {
    assertProperty(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 10 }), (original, at, length) => {
        const journal = new EditJournal(new MemorySource(original));
        journal.apply({ intent: { op: 'test' }, summary: 'grow', fixups: [], changes: [{ offset: 0, deleteLength: 0, insert: [bytesPiece(Uint8Array.of(1, 2, 3))] }] });
        const before = bytesOf(journal);
        const offset = at % (before.length - length);
        const overlapping = [
          { offset: before.length - 1, deleteLength: 1, insert: [bytesPiece(Uint8Array.of(9))] },
          { offset, deleteLength: length, insert: [] },
          { offset: offset + length - 1, deleteLength: 1, insert: [bytesPiece(Uint8Array.of(7, 7))] },
        ];
        expect(() => journal.apply({ intent: { op: 'test' }, summary: 'overlap', fixups: [], changes: overlapping })).toThrow(/overlap/);
        expect(bytesOf(journal)).toEqual(before);
        journal.undo();
        expect(bytesOf(journal)).toEqual(original);
      }),
      { numRuns: 100 },
    );
  });

  it('round-trips through its JSON file: replaying the document rebuilds the same bytes, and a journal for other bytes is refused', () => {
    assertProperty(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.array(rawEdit, { minLength: 1, maxLength: 12 }), (original, edits) => {
        const journal = new EditJournal(new MemorySource(original));
        let current: Uint8Array = original;
        for (const e of edits) {
          const { change, expected } = toChange(e, current, journal);
          journal.apply({ intent: { op: 'test', kind: e.kind }, summary: e.kind, changes: [change], fixups: [] });
          current = expected;
        }
        const identity = { path: '/x', size: original.length, sha256: '0'.repeat(64) };
        const doc = parseJournalDocument(JSON.stringify(journalDocument(journal, identity, [])));
        const again = new EditJournal(new MemorySource(original));
        for (const entry of entriesOf(doc.edits)) again.replay(entry);
        expect(bytesOf(again)).toEqual(current);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses to replay a recorded change where it does not fit', () => {
    const ten = new MemorySource(new TextEncoder().encode('0123456789'));
    const journal = new EditJournal(ten);
    journal.apply({ intent: { op: 'test' }, summary: 'delete 5..10', fixups: [], changes: [{ offset: 5, deleteLength: 5, insert: [] }] });
    journal.apply({ intent: { op: 'test' }, summary: 'insert', fixups: [], changes: [{ offset: 0, deleteLength: 0, insert: [bytesPiece(Uint8Array.of(1, 2))] }] });
    journal.apply({ intent: { op: 'test' }, summary: 'drop the insert', fixups: [], changes: [{ offset: 0, deleteLength: 2, insert: [] }] });
    const [del, ins, drop] = entriesOf(journalDocument(journal, { path: 'p', size: 10, sha256: '0'.repeat(64) }, []).edits);
    expect(() => new EditJournal(new MemorySource(new Uint8Array(7))).replay(del)).toThrow(/does not fit this image/);
    // A tampered record of what was removed is caught too.
    const replayer = new EditJournal(ten);
    replayer.replay(del);
    replayer.replay(ins);
    expect(() => replayer.replay({ ...drop, changes: [{ ...drop.changes[0], removed: [bytesPiece(Uint8Array.of(9, 9))] }] })).toThrow(/does not fit this image/);
    expect(new TextDecoder().decode(bytesOf(replayer))).toBe('\x01\x0201234');
  });

  it('refuses malformed journal files with a message that says what is wrong', () => {
    expect(() => parseJournalDocument('{')).toThrow(/not valid JSON/);
    expect(() => parseJournalDocument('{"format":"other"}')).toThrow(/not a migwb edit journal/);
    expect(() => parseJournalDocument('{"format":"migwb-edit-journal","version":9}')).toThrow(/version 9 is not supported/);
    const base = { format: 'migwb-edit-journal', version: 1, image: { path: 'a', size: 1, sha256: 'a'.repeat(64) }, sources: [], undone: [] };
    expect(() => parseJournalDocument(JSON.stringify({ ...base, edits: [{ summary: 's', intent: { op: 'x' }, fixups: [], changes: [{ offset: 0, delete: 0, insert: [{ source: 'nope', offset: 0, length: 1 }], removed: [] }] }] }))).toThrow(
      /malformed piece/,
    );
  });
});

/** Corpus images of different kinds: QEMU 10 q35, no footers, no vmdesc, XBZRLE, mapped-ram, arm. */
const IMAGES = [
  'qemu10/x86_64-q35-e1000-payload-paused-32M.mig',
  'qemu/x86_64-pc-i440fx-2.3-legacy-paused-16M.mig',
  'qemu/x86_64-pc-suppress-vmdesc-paused-16M.mig',
  'qemu/x86_64-pc-xbzrle-dirty-running-32M.mig',
  'qemu10/x86_64-pc-mapped-ram-payload-paused-4M.mig',
  'qemu/armv7-virt-cortex-a15-payload-paused-32M.mig',
].map((f) => fs.readFileSync(corpusPath(f)));

describe('random journals over corpus images', () => {
  it('byte edits and field edits applied, then undone, restore the original bytes exactly', async () => {
    const settable = IMAGES.map((bytes) => {
      const src = new MemorySource(bytes);
      const model = parseQemuStream(src);
      return model.elements
        .filter((e) => e.type === 'FULL')
        .flatMap((e) => fieldPaths(decodeSection(src, model, e).nodes).filter(({ node }) => ['int', 'bool'].includes(fieldEncoding(node).kind)).map(({ path }) => `${e.idstr}:${e.instanceId}.${path}`));
    });
    // Only the stream without a vmdesc has no named fields (its sections are raw bytes).
    expect(settable.map((fields) => fields.length > 0)).toEqual([true, true, false, true, true, true]);
    const withFields = settable.flatMap((fields, i) => (fields.length ? [i] : []));
    let fieldEdits = 0;
    const fieldStep = fc.record({ field: fc.nat(), value: fc.boolean() });
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom(...withFields),
        fieldStep,
        fc.array(fc.oneof(rawEdit.map((e) => ({ e })), fieldStep), { maxLength: 4 }),
        async (which, first, rest) => {
          await yieldToRunner();
          const original = IMAGES[which];
          const journal = new EditJournal(new MemorySource(original));
          let current: Uint8Array = original;
          let bytesEdited = false;
          for (const step of [first, ...rest]) {
            if ('field' in step) {
              // A field edit, compiled against the edited view as it stands. It must succeed on an
              // image only field edits touched; after raw byte edits it may be refused, with a reason.
              const view = journal.view();
              const field = settable[which][step.field % settable[which].length];
              try {
                journal.apply(compileEdit({ op: 'set-field', field, value: step.value ? '1' : '0' }, { view, model: parseQemuStream(view), donor: () => undefined }));
              } catch (e) {
                if (!bytesEdited || !(e instanceof EditError)) throw e;
                continue;
              }
              fieldEdits++;
              current = bytesOf(journal);
            } else {
              const { change, expected } = toChange(step.e, current, journal);
              journal.apply({ intent: { op: 'test' }, summary: step.e.kind, changes: [change], fixups: [] });
              current = expected;
              bytesEdited = true;
            }
          }
          while (journal.undo());
          const back = bytesOf(journal);
          expect(back.length).toBe(original.length);
          expect(Buffer.from(back).equals(Buffer.from(original))).toBe(true);
        },
      ),
      { numRuns: 20 },
    );
    // Every run began with a field edit on the intact image, and it was applied.
    expect(fieldEdits).toBeGreaterThanOrEqual(20);
  }, 120_000);
});
