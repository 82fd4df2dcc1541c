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
import { corpusPath } from '../helpers/corpus';

const SEED = Number(process.env.MIGWB_FUZZ_SEED ?? Date.now() % 2 ** 31);

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

function bytesOf(journal: EditJournal): Uint8Array {
  return readBytes(journal.view(), 0, journal.view().size);
}

describe('the edit journal', () => {
  it('reads like a plain array under random edits; undo restores the original exactly, redo the edited bytes', () => {
    fc.assert(
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
      { numRuns: 300, seed: SEED },
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
    expect(() => journal.apply({ intent: { op: 'test' }, summary: 'overlap', fixups: [], changes: [{ offset: 1, deleteLength: 3, insert: [] }, { offset: 2, deleteLength: 1, insert: [] }] })).toThrow(/overlap/);
    expect(new TextDecoder().decode(bytesOf(journal))).toBe('01ab467XYZ89');
  });

  it('round-trips through its JSON file: replaying the document rebuilds the same bytes, and a journal for other bytes is refused', () => {
    fc.assert(
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
      { numRuns: 150, seed: SEED },
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
  it('byte edits and field edits applied, then undone, restore the original bytes exactly', () => {
    const settable = IMAGES.map((bytes) => {
      const src = new MemorySource(bytes);
      const model = parseQemuStream(src);
      return model.elements
        .filter((e) => e.type === 'FULL')
        .flatMap((e) => fieldPaths(decodeSection(src, model, e).nodes).filter(({ node }) => ['int', 'bool'].includes(fieldEncoding(node).kind)).map(({ path }) => `${e.idstr}:${e.instanceId}.${path}`));
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: IMAGES.length - 1 }),
        fc.array(fc.oneof(rawEdit.map((e) => ({ field: undefined, e })), fc.record({ field: fc.nat(), e: rawEdit, value: fc.boolean() })), { minLength: 1, maxLength: 5 }),
        (which, steps) => {
          const original = IMAGES[which];
          const journal = new EditJournal(new MemorySource(original));
          let current: Uint8Array = original;
          for (const step of steps) {
            if (step.field !== undefined && settable[which].length) {
              // A field edit, compiled against the edited view as it stands (skipped if an earlier byte edit broke the section).
              const view = journal.view();
              const field = settable[which][step.field % settable[which].length];
              try {
                journal.apply(compileEdit({ op: 'set-field', field, value: 'value' in step && step.value ? '1' : '0' }, { view, model: parseQemuStream(view), donor: () => undefined }));
              } catch {
                continue;
              }
              current = bytesOf(journal);
            } else {
              const { change, expected } = toChange(step.e, current, journal);
              journal.apply({ intent: { op: 'test' }, summary: step.e.kind, changes: [change], fixups: [] });
              current = expected;
            }
          }
          while (journal.undo());
          const back = bytesOf(journal);
          expect(back.length).toBe(original.length);
          expect(Buffer.from(back).equals(Buffer.from(original))).toBe(true);
        },
      ),
      { numRuns: 20, seed: SEED },
    );
  }, 120_000);

});
