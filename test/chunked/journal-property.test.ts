import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE_SOURCE, type JournalSource } from '../../shared/edit/pieces';
import { crcOk, type ChunkRecord } from '../../shared/formats/chunked/layer';
import { readBytes } from '../../shared/io/byte-source';
import { EditSession } from '../../electron/edit/edit-session';
import { packBytes, streamOf, tempDir, walk } from '../helpers/chunked';
import { corpusPath } from '../helpers/corpus';

/**
 * Random journals over a chunked container: section moves and deletes, RAM writes, byte
 * edits inside device payloads, notes, undo and redo, then Save as. Whatever the journal,
 * the saved container holds exactly the edited stream, every chunk's CRC is right, every
 * original chunk the edits left intact is copied byte for byte (its stored CRC with it),
 * the notes are the last ones set, and undoing everything gives the original chunks back.
 */
const SEED = Number(process.env.MIGWB_FUZZ_SEED ?? Date.now() % 2 ** 31);
const ORIGINAL = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'));
const work = tempDir('journal-prop');
afterAll(() => work.remove());
const CONTAINER = path.join(work.dir, 'e1000.migc');
fs.writeFileSync(CONTAINER, packBytes(ORIGINAL, { chunkSize: 64 << 10 }));
const ORIGINAL_CHUNKS = walk(fs.readFileSync(CONTAINER)).layer.chunks;

type Step =
  | { kind: 'move'; section: number; anchor: number; before: boolean }
  | { kind: 'delete'; section: number }
  | { kind: 'ram'; at: number; bytes: Uint8Array }
  | { kind: 'payload'; section: number; at: number; bytes: Uint8Array }
  | { kind: 'note'; chunk: number; text: string }
  | { kind: 'undo' }
  | { kind: 'redo' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('move' as const), section: fc.nat(), anchor: fc.nat(), before: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), section: fc.nat() }),
  fc.record({ kind: fc.constant('ram' as const), at: fc.nat({ max: (32 << 20) - 64 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 48 }) }),
  fc.record({ kind: fc.constant('payload' as const), section: fc.nat(), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('note' as const), chunk: fc.nat(), text: fc.string({ maxLength: 40 }) }),
  fc.constant({ kind: 'undo' as const }),
  fc.constant({ kind: 'redo' as const }),
);

/** Applies a step if it makes sense in the current state (a user cannot make the others either). */
function apply(s: EditSession, st: Step, notes: Map<string, string>[]): void {
  const fulls = s.model().elements.filter((e) => e.type === 'FULL');
  const label = (i: number) => `${fulls[i % fulls.length].idstr}:${fulls[i % fulls.length].instanceId}`;
  switch (st.kind) {
    case 'move': {
      const a = label(st.section);
      const b = label(st.anchor);
      if (a !== b) s.apply({ op: 'move-section', section: a, position: st.before ? { before: b } : { after: b } });
      return;
    }
    case 'delete':
      if (fulls.length > 25) s.apply({ op: 'delete-section', section: label(st.section) });
      return;
    case 'ram':
      s.apply({ op: 'ram-block-write', block: 'pc.ram', offset: st.at, hex: Buffer.from(st.bytes).toString('hex') });
      return;
    case 'payload': {
      const e = fulls[st.section % fulls.length];
      const payload = (e.footerOffset ?? e.offset + e.length) - e.payloadOffset!;
      if (payload < st.bytes.length) return;
      s.apply({ op: 'replace-bytes', offset: e.payloadOffset! + (st.at % (payload - st.bytes.length + 1)), hex: Buffer.from(st.bytes).toString('hex') });
      return;
    }
    case 'note': {
      const about = ORIGINAL_CHUNKS[st.chunk % ORIGINAL_CHUNKS.length].key;
      s.apply({ op: 'set-note', about, text: st.text });
      const now = new Map(notes[notes.length - 1]);
      if (st.text === '') now.delete(about);
      else now.set(about, st.text);
      notes.push(now);
      return;
    }
    case 'undo':
      if (s.undo()?.intent.op === 'set-note') notes.pop();
      return;
    case 'redo': {
      const e = s.redo();
      if (e?.intent.op === 'set-note') {
        const now = new Map(notes[notes.length - 1]);
        const { about, text } = e.intent as unknown as { about: string; text: string };
        if (text === '') now.delete(about);
        else now.set(about, text);
        notes.push(now);
      }
      return;
    }
  }
}

/** Original chunks whose data the edited stream holds untouched, with the stream offset it holds them at. */
function intactChunks(view: JournalSource): { at: number; chunk: ChunkRecord }[] {
  const out: { at: number; chunk: ChunkRecord }[] = [];
  for (const { offset, piece } of view.timeline()) {
    if (piece.kind !== 'range' || piece.source !== IMAGE_SOURCE) continue;
    for (const c of ORIGINAL_CHUNKS) {
      if (c.stream === undefined || c.stream < piece.offset || c.stream + c.present > piece.offset + piece.length) continue;
      out.push({ at: offset + c.stream - piece.offset, chunk: c });
    }
  }
  return out;
}

describe(`random journals over a chunked container (seed ${SEED}; MIGWB_FUZZ_SEED repeats a run)`, () => {
  it('Save as writes the edited stream, keeps untouched chunks byte for byte, recomputes only what changed', async () => {
    const original = fs.readFileSync(CONTAINER);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const s = EditSession.open(CONTAINER);
        const out = path.join(work.dir, `saved-${run++}.migc`);
        try {
          const notes: Map<string, string>[] = [new Map()];
          for (const st of steps) apply(s, st, notes);
          const edited = Buffer.from(readBytes(s.view, 0, s.view.size));
          const intact = s.entries.length ? intactChunks(s.view) : [];
          await s.save(out, { force: true });
          const saved = fs.readFileSync(out);
          const { layer, diagnostics } = walk(saved);
          expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
          expect(streamOf(saved).equals(edited)).toBe(true);
          expect(layer.chunks.every((c) => crcOk(c))).toBe(true);
          // Untouched chunks are the original bytes, header to CRC.
          const at = new Map(layer.chunks.filter((c) => c.stream !== undefined).map((c) => [c.stream, c]));
          for (const { at: streamAt, chunk } of intact) {
            const c = at.get(streamAt);
            expect(c?.length, `${chunk.key} is intact at stream offset ${streamAt}, so it is copied there`).toBe(chunk.length);
            if (!c) continue;
            expect(saved.subarray(c.offset, c.offset + c.length + 12).equals(original.subarray(chunk.offset, chunk.offset + chunk.length + 12)), chunk.key).toBe(true);
          }
          const expectedNotes = notes[notes.length - 1];
          expect(new Map(layer.notes.map((n) => [n.about, n.text]))).toEqual(expectedNotes);
          // Undo everything: the original stream in the original chunks.
          while (s.undo());
          const back = path.join(work.dir, `back-${run}.migc`);
          await s.save(back, { force: true });
          const again = fs.readFileSync(back);
          const backChunks = walk(again).layer.chunks.filter((c) => c.stream !== undefined);
          expect(backChunks.map((c) => again.subarray(c.offset, c.offset + c.length + 12).toString('hex'))).toEqual(
            ORIGINAL_CHUNKS.filter((c) => c.stream !== undefined).map((c) => original.subarray(c.offset, c.offset + c.length + 12).toString('hex')),
          );
          fs.rmSync(back);
        } finally {
          s.close();
          fs.rmSync(out, { force: true });
        }
      }),
      { seed: SEED, numRuns: 20 },
    );
  });
});
