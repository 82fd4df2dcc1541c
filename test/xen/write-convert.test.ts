import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySource } from '../../shared/io/byte-source';
import { convertLegacy } from '../../shared/formats/xen/convert-legacy';
import { verifierVerdict } from '../../shared/formats/xen/diagnostics';
import { XenGuestMemory } from '../../shared/formats/xen/guest-memory';
import { parseXen } from '../../shared/formats/xen/parse';
import { upgradeToV3 } from '../../shared/formats/xen/upgrade-v3';
import { rewriteXen } from '../../shared/formats/xen/writer';
import { corpusPath, xenCorpusFiles } from '../helpers/corpus';
import { piecesBytes, sameBytes, tempDir, withXen } from '../helpers/xen';
import { checkpointedLibxl, legacyHvm, legacyPv, libxlWithEmulator, xenPage } from '../helpers/xen-samples';
import { haveXenTools, runConverter, runVerifier, XEN_TOOLS_MISSING } from '../helpers/xen-tools';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const skipReason = haveXenTools ? '' : ` — skipped: ${XEN_TOOLS_MISSING}`;

/** Test-time samples: what the corpus lacks. */
const SAMPLES: Record<string, Uint8Array> = {
  'legacy-pv32-tool32.bin': legacyPv({ width: 4, guestWidth: 4 }).bytes,
  'legacy-pv32-tool64.bin': legacyPv({ width: 8, guestWidth: 4 }).bytes,
  'legacy-pv64-xsave.bin': legacyPv({ width: 8, guestWidth: 8, xsave: true }).bytes,
  'legacy-hvm32.bin': legacyHvm({ width: 4 }).bytes,
  'legacy-hvm64-remus.bin': legacyHvm({ width: 8, remus: true }).bytes,
  'legacy-hvm64-tmem.bin': legacyHvm({ width: 8, tmem: 2 }).bytes,
  'checkpointed.libxl': checkpointedLibxl({ checkpoints: 3 }).bytes,
  'checkpointed-failover.libxl': checkpointedLibxl({ checkpoints: 2, failover: true, unfinishedPfn: 1 }).bytes,
  'emulator.libxl': libxlWithEmulator(new Uint8Array(333).fill(1)),
};
const sampleFiles = Object.entries(SAMPLES).map(([name, bytes]) => tmp.file(name, bytes));

describe('parse → write is byte-identical', () => {
  it.each([...xenCorpusFiles(), ...sampleFiles].map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    withXen(file, (src, model) => {
      const written = rewriteXen(model, src);
      expect(sameBytes(piecesBytes(src, written.pieces), fs.readFileSync(file))).toBe(true);
      // Every header and structured body was encoded from its decoded fields, nothing copied as unknown.
      expect(written.copied.damaged).toBe(0);
      expect(written.encoded).toBeGreaterThan(0);
    });
  });
});

describe('legacy streams: width and guest type from the stream itself', () => {
  it.each([
    ['legacy-pv32-tool32.bin', 4, 'pv', 4],
    ['legacy-pv32-tool64.bin', 8, 'pv', 4],
    ['legacy-pv64-xsave.bin', 8, 'pv', 8],
    ['legacy-hvm32.bin', 4, 'hvm', undefined],
  ] as const)('%s: toolstack %i bytes, %s, guest width %s', (name, width, guest, guestWidth) => {
    withXen(tmp.file(name), (_src, model) => {
      expect(model.kind).toBe('legacy');
      expect(model.legacy!.width).toBe(width);
      expect(model.legacy!.guest).toBe(guest);
      expect(model.domain.guestWidth).toBe(guestWidth);
      expect(model.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    });
  });

  it('HVM corpus samples are told apart too', () => {
    withXen(corpusPath('xen', 'legacy-hvm64-toolstack.bin'), (_src, model) => {
      expect([model.legacy!.width, model.legacy!.guest]).toEqual([8, 'hvm']);
      expect(model.legacy!.widthEvidence).toMatch(/octets 4-7 are zero/);
    });
  });
});

describe(`the legacy converter equals convert-legacy-stream byte for byte${skipReason}`, () => {
  it.each(['legacy-hvm64.bin', 'legacy-hvm64-toolstack.bin'])('corpus %s = the corpus .converted.libxl', (name) => {
    withXen(corpusPath('xen', name), (src, model) => {
      const c = convertLegacy(model, src);
      expect(c.refused).toBeUndefined();
      expect(sameBytes(piecesBytes(src, c.pieces), fs.readFileSync(corpusPath('xen', name.replace('.bin', '.converted.libxl'))))).toBe(true);
    });
  });

  it.skipIf(!haveXenTools).each([
    ['legacy-hvm64.bin', 'corpus'],
    ['legacy-hvm64-toolstack.bin', 'corpus'],
    ['legacy-pv32-tool32.bin', 'sample'],
    ['legacy-pv32-tool64.bin', 'sample'],
    ['legacy-pv64-xsave.bin', 'sample'],
    ['legacy-hvm32.bin', 'sample'],
  ] as const)('%s (%s) = a live convert-legacy-stream run, given the -w and -g we detected', (name, where) => {
    const input = where === 'corpus' ? corpusPath('xen', name) : tmp.file(name);
    withXen(input, (src, model) => {
      for (const format of ['libxl', 'libxc'] as const) {
        const reference = tmp.file(`${name}.${format}.ref`);
        const r = runConverter(input, reference, model.legacy!.width === 8 ? 64 : 32, model.legacy!.guest, format);
        expect(r.status, r.stderr).toBe(0);
        const ours = convertLegacy(model, src, { format });
        expect(ours.refused).toBeUndefined();
        expect(sameBytes(piecesBytes(src, ours.pieces), fs.readFileSync(reference))).toBe(true);
      }
    });
  });

  it.skipIf(!haveXenTools)('a Remus stream with compressed checkpoints (Xen\'s converter: "todo"): converted, the deltas rebuilt, accepted by verify-stream-v2', () => {
    const sample = legacyHvm({ width: 8, remus: true });
    const input = tmp.file('legacy-hvm64-remus.bin');
    const reference = runConverter(input, tmp.file('remus.ref'), 64, 'hvm');
    expect(reference.status).toBe(2);
    expect(reference.stderr).toMatch(/RuntimeError: todo/);
    withXen(input, (src, model) => {
      expect(model.legacy!.checkpoints).toHaveLength(2);
      expect(model.legacy!.compression).toBe(true);
      // The compressed pages read back as the deltas made them, before any conversion.
      const memory = new XenGuestMemory(src, model);
      for (const [pfn, page] of sample.remus!.expected) expect(sameBytes(memory.read(pfn), page)).toBe(true);
      expect(sameBytes(memory.read(0x10), xenPage(0x10))).toBe(true);
      const c = convertLegacy(model, src);
      expect(c.refused).toBeUndefined();
      expect(c.notes.join('\n')).toMatch(/2 Remus checkpoints/);
      const out = tmp.file('remus.libxl', piecesBytes(src, c.pieces));
      expect(runVerifier(out, 'libxl').exit).toBe(0);
      const converted = parseXen(new MemorySource(fs.readFileSync(out)));
      const after = new XenGuestMemory(new MemorySource(fs.readFileSync(out)), converted);
      for (const [pfn, page] of sample.remus!.expected) expect(sameBytes(after.read(pfn), page)).toBe(true);
    });
  });

  it('tmem chunks: read and counted, refused by default (v2 has no tmem record), dropped on request', () => {
    withXen(tmp.file('legacy-hvm64-tmem.bin'), (src, model) => {
      const tmem = model.legacy!.checkpoints[0].chunks.find((c) => c.kind === 'tmem')!;
      expect(tmem.tmem).toEqual({ version: 1, pools: 1, pages: 2, pageBytes: 8192 });
      expect(model.legacy!.checkpoints[0].chunks.some((c) => c.kind === 'tmem-extra')).toBe(true);
      expect(convertLegacy(model, src).refused).toMatch(/2 persistent tmem pages.*--drop-tmem/);
      const dropped = convertLegacy(model, src, { dropTmem: true });
      expect(dropped.refused).toBeUndefined();
      expect(dropped.notes.join('\n')).toMatch(/1 pools, 2 persistent pages \(8192 bytes\)/);
      const out = parseXen(new MemorySource(piecesBytes(src, dropped.pieces)));
      expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    });
  });
});

describe(`--to xen-v3: a libxc v2 image upgraded${skipReason}`, () => {
  it.skipIf(!haveXenTools)('hvm-v2.libxc: version 3 with STATIC_DATA_END before the first PAGE_DATA, accepted by verify-stream-v2', () => {
    withXen(corpusPath('xen', 'hvm-v2.libxc'), (src, model) => {
      const up = upgradeToV3(model, src.size);
      expect(up.refused).toBeUndefined();
      const bytes = piecesBytes(src, up.pieces);
      const out = parseXen(new MemorySource(bytes));
      expect(out.images[0].version).toBe(3);
      const types = out.records.map((r) => r.type);
      expect(types.indexOf(0x10)).toBe(types.indexOf(0x01) - 1);
      expect(out.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(runVerifier(tmp.file('up.libxc', bytes), 'libxc').exit).toBe(0);
      // Apart from the version and the new record, it is the v3 corpus sample minus its policies.
      const v3 = parseXen(new MemorySource(fs.readFileSync(corpusPath('xen', 'hvm-v3.libxc'))));
      expect(types.filter((t) => t !== 0x11 && t !== 0x12)).toEqual(v3.records.map((r) => r.type).filter((t) => t !== 0x11 && t !== 0x12));
    });
  });

  it.skipIf(!haveXenTools)('broken-v2-with-static-data-end.libxc is repaired by the upgrade (the record was right, the version wrong)', () => {
    withXen(corpusPath('xen', 'broken-v2-with-static-data-end.libxc'), (src, model) => {
      const up = upgradeToV3(model, src.size);
      const out = tmp.file('fixed.libxc', piecesBytes(src, up.pieces));
      expect(runVerifier(out, 'libxc').exit).toBe(0);
      expect(verifierVerdict(parseXen(new MemorySource(fs.readFileSync(out))).diagnostics)).toBeNull();
    });
  });
});

describe('checkpointed v2 streams', () => {
  it('three checkpoints: no errors, the pages of the last checkpoint win', () => {
    const sample = checkpointedLibxl({ checkpoints: 3 });
    withXen(tmp.file('checkpointed.libxl'), (src, model) => {
      expect(model.checkpoints).toBe(3);
      expect(model.emulators.map((e) => e.checkpoint)).toEqual([1, 2, 3]);
      expect(model.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'warning')).toEqual([]);
      const memory = new XenGuestMemory(src, model);
      for (const [pfn, page] of sample.finalPages) expect(sameBytes(memory.read(pfn), page)).toBe(true);
    });
  });

  it('a failover (no END, an unfinished checkpoint): reported, and the unfinished pages are not the restored state', () => {
    withXen(tmp.file('checkpointed-failover.libxl'), (src, model) => {
      expect(model.diagnostics.find((d) => d.code === 'xen-missing-end')?.hint).toMatch(/failover; Xen restores the last completed checkpoint/);
      const page = new XenGuestMemory(src, model).read(1);
      expect(page[16]).not.toBe(0xee);
      expect(page[4095]).toBe(1);
    });
  });
});
