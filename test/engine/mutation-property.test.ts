import fc from 'fast-check';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../shared/io/bytes';
import { MemorySource } from '../../shared/io/byte-source';
import { analyzeCompatState } from '../../shared/formats/qemu-stream/analyze-compat';
import { readGuestPage } from '../../shared/formats/qemu-stream/ram-reader';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { summarizeStream } from '../../shared/formats/qemu-stream/summary';
import { corpusPath } from '../helpers/corpus';
import { assertProperty, yieldToRunner } from '../helpers/property';

// Small images of different kinds: footers/no footers, vmdesc/none, xbzrle, compress, 10.x.
const IMAGES = [
  'qemu/x86_64-pc-minimal-paused-16M.mig',
  'qemu/x86_64-pc-i440fx-2.3-legacy-paused-16M.mig',
  'qemu/x86_64-pc-suppress-vmdesc-paused-16M.mig',
  'qemu/x86_64-pc-xbzrle-dirty-running-32M.mig',
  'qemu/x86_64-pc-compress-payload-paused-32M.mig',
  'qemu/armv7-virt-cortex-a15-payload-paused-32M.mig',
  'qemu10/x86_64-pc-minimal-payload-paused-16M.mig',
  'qemu10/x86_64-pc-mapped-ram-payload-paused-4M.mig',
].map((f) => fs.readFileSync(corpusPath(f)));

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number };

/** Positions as fractions: half anywhere, half in the last quarter where device headers, footers and the vmdesc are. */
const position = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.75, max: 1, noNaN: true }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }).map((m) => m as unknown as Mutation),
  fc.record({ kind: fc.constant('truncate' as const), at: position }).map((m) => m as unknown as Mutation),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }).map((m) => m as unknown as Mutation),
  fc.record({ kind: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 64 }) }).map((m) => m as unknown as Mutation),
);

function apply(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = Math.min(bytes.length - 1, Math.floor((m.at as unknown as number) * bytes.length));
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      out[at] ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, Math.max(1, at));
    case 'insert':
      return concatBytes(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
    case 'delete': {
      // An empty file has no offset inside it; the CLI rejects it before parsing.
      const out = concatBytes(bytes.subarray(0, at), bytes.subarray(at + m.count));
      return out.length > 0 ? out : bytes;
    }
  }
}

describe('mutated corpus images never crash, hang or point outside the file', () => {
  // How long parsing a damaged image takes is measured by `npm run bench`, not asserted here.
  it('holds for random bit flips, truncations, insertions and deletions', async () => {
    await assertProperty(
      fc.asyncProperty(fc.integer({ min: 0, max: IMAGES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (which, mutations) => {
        await yieldToRunner();
        const bytes = mutations.reduce(apply, IMAGES[which]);
        const src = new MemorySource(bytes);
        const model = parseQemuStream(src);
        for (const d of model.diagnostics) {
          expect(d.offset).toBeGreaterThanOrEqual(0);
          expect(d.offset).toBeLessThan(bytes.length);
          expect(d.expected.length + d.found.length).toBeGreaterThan(0);
        }
        for (const e of model.elements) {
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset + e.length).toBeLessThanOrEqual(bytes.length);
        }
        // Everything a viewer does next must be safe on the damaged model too.
        summarizeStream(model);
        for (const e of model.elements) if (e.type === 'FULL' || e.type === 'CONFIGURATION') decodeSection(src, model, e);
        analyzeCompatState(src, model);
        model.ramBlocks.forEach((b, i) => readGuestPage(src, model, i, Math.floor(b.usedLength / model.pageSize / 2)));
      }),
      { numRuns: 400 },
    );
  }, 600_000);
});
