import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runRepairs } from '../../electron/edit/repair-service';
import { hex } from '../../shared/diagnostics';
import type { SourceImage } from '../../shared/edit/context';
import { fullSections, sectionLabel } from '../../shared/edit/sections';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { MemorySource, readBytes, type ByteSource } from '../../shared/io/byte-source';
import { checkDonor, isPrefixOf } from '../../shared/repair/donor';
import { headerRepairs } from '../../shared/repair/header-repairs';
import { repairLimits } from '../../shared/repair/limits';
import { truncationRepair } from '../../shared/repair/tail-repairs';
import { corpusPath } from '../helpers/corpus';
import { withSession } from '../helpers/edit-session';
import { tempFolder } from '../helpers/evidence';
import { cutImageAndOtherSave } from './fixtures';

/**
 * The repair planner's checks that the in-process repair tests reach only on their happy
 * path: a donor of another VM configuration (each difference named), the byte-prefix test
 * that decides "a cut copy of the donor", a stream cut exactly where an element ends, the
 * exact count of records a donor fills, and what repairLimits reports for made-up results.
 * In process, so `npm run mutate repair` sees them.
 */
const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const TRUNCATED = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig');

/** A copy of a model with some properties changed (the model is a plain object). */
const patched = (m: QemuStreamModel, patch: Partial<QemuStreamModel>): QemuStreamModel => ({ ...m, ...patch });

describe('checkDonor: a donor must be a save of the same VM configuration', () => {
  function withDonor(fn: (model: QemuStreamModel, donor: SourceImage, refused: (d: SourceImage) => string) => void) {
    withSession(MINIMAL, (s) => {
      const donor = s.context().donor(s.addDonor(MINIMAL))!;
      const model = s.model();
      const refused = (d: SourceImage) => {
        try {
          checkDonor(model, d);
        } catch (e) {
          return (e as Error).message;
        }
        return 'accepted';
      };
      fn(model, donor, refused);
    });
  }
  const prefix = (donor: SourceImage) => `the donor ${donor.path} (sha256 ${donor.sha256}) is not a save of the same VM configuration: `;

  it('an identical save is accepted', () => {
    withDonor((model, donor, refused) => {
      expect(Object.getPrototypeOf(model)).toBe(Object.prototype);
      expect(refused(donor)).toBe('accepted');
    });
  });

  it('each difference is named with both values, all of them in one message', () => {
    withDonor((model, donor, refused) => {
      const other = (patch: Partial<QemuStreamModel>): SourceImage => ({ ...donor, model: patched(donor.model, patch) });
      expect(model.machineType).toBe('pc-i440fx-7.2');
      expect(refused(other({ machineType: 'pc-q35-7.2' }))).toBe(`${prefix(donor)}machine type pc-i440fx-7.2 vs pc-q35-7.2`);
      expect(refused(other({ machineType: undefined }))).toBe(`${prefix(donor)}machine type pc-i440fx-7.2 vs none`);
      expect(refused(other({ pageSize: 65536 }))).toBe(`${prefix(donor)}page size 4096 vs 65536`);
      const blocks = donor.model.ramBlocks.map((b, i) => (i === 1 ? { ...b, usedLength: b.usedLength * 2 } : b));
      const list = (bs: typeof blocks) => bs.map((b) => `${b.id}=${b.usedLength}`).join(', ');
      expect(refused(other({ ramBlocks: blocks }))).toBe(`${prefix(donor)}RAM blocks [${list(model.ramBlocks)}] vs [${list(blocks)}]`);
      expect(refused(other({ sectionFooters: false }))).toBe(`${prefix(donor)}the image has section footers, the donor none`);
      // A device section saved at another version: named by its label and both versions.
      const timer = fullSections(donor.model).find((e) => e.idstr === 'timer')!;
      const elements = donor.model.elements.map((e) => (e === timer ? { ...e, versionId: e.versionId! + 1 } : e));
      expect(refused(other({ elements }))).toBe(`${prefix(donor)}${sectionLabel(timer)} version ${timer.versionId} vs ${timer.versionId! + 1}`);
      // Everything at once, in that order.
      expect(refused(other({ machineType: 'pc-q35-7.2', pageSize: 65536, sectionFooters: false, elements }))).toBe(
        `${prefix(donor)}machine type pc-i440fx-7.2 vs pc-q35-7.2; page size 4096 vs 65536; the image has section footers, the donor none; ${sectionLabel(timer)} version ${timer.versionId} vs ${timer.versionId! + 1}`,
      );
    });
  });

  it('what the damaged image cannot state is not held against the donor', () => {
    withDonor((model, donor) => {
      // No RAM block list (it was cut before the first RAM section): any donor's list is fine.
      expect(() => checkDonor(patched(model, { ramBlocks: [] }), donor)).not.toThrow();
      // A damaged section's version is the damage, not a different configuration.
      const timer = fullSections(model).find((e) => e.idstr === 'timer')!;
      const damagedTimer = model.elements.map((e) => (e === timer ? { ...e, versionId: 99, damaged: true } : e));
      expect(() => checkDonor(patched(model, { elements: damagedTimer }), donor)).not.toThrow();
      const changedTimer = model.elements.map((e) => (e === timer ? { ...e, versionId: 99 } : e));
      expect(() => checkDonor(patched(model, { elements: changedTimer }), donor)).toThrow(/timer:0 version 99 vs 2$/);
      // An image without footers takes a donor with or without them.
      const footerless = patched(model, { sectionFooters: false, elements: model.elements.map((e) => ({ ...e, footerOffset: undefined })) });
      expect(() => checkDonor(footerless, { ...donor, model: patched(donor.model, { sectionFooters: false }) })).not.toThrow();
    });
  });
});

describe('isPrefixOf: whether an image is a cut copy of the donor, byte for byte', () => {
  const MiB = 1 << 20;
  const donorBytes = new Uint8Array(2.5 * MiB).map((_, i) => (i * 7 + (i >> 12)) & 0xff);
  const donor = new MemorySource(donorBytes);
  const sourceOf = (bytes: Uint8Array) => new MemorySource(bytes);

  it('a prefix of any length, the whole donor, and nothing longer', () => {
    for (const n of [0, 1, 4096, MiB - 1, MiB, MiB + 1, 1.5 * MiB, 2.5 * MiB]) expect(isPrefixOf(sourceOf(donorBytes.slice(0, n)), donor), `${n} bytes`).toBe(true);
    const longer = new Uint8Array(donorBytes.length + 1);
    longer.set(donorBytes);
    expect(isPrefixOf(sourceOf(longer), donor)).toBe(false);
  });

  it('one byte changed anywhere, in the first or a later megabyte, is not a prefix', () => {
    for (const at of [0, MiB - 1, MiB, 1.5 * MiB - 1]) {
      const copy = donorBytes.slice(0, 1.5 * MiB);
      copy[at] ^= 0x01;
      expect(isPrefixOf(sourceOf(copy), donor), `byte ${at}`).toBe(false);
    }
  });

  it('a read that comes back short (a file shrunk while open) is not a prefix', () => {
    const shortReads = (inner: ByteSource, shortAt: number): ByteSource => ({
      size: inner.size,
      readInto: (into, at, length, position) => inner.readInto(into, at, position >= shortAt ? Math.max(0, length - 1) : length, position),
    } as ByteSource);
    const copy = sourceOf(donorBytes.slice(0, 1.5 * MiB));
    expect(isPrefixOf(shortReads(copy, MiB), donor)).toBe(false);
    expect(isPrefixOf(copy, shortReads(donor, MiB))).toBe(false);
    expect(isPrefixOf(copy, shortReads(donor, 3 * MiB))).toBe(true);
  });
});

describe('a stream cut exactly where an element ends', () => {
  it('has no end marker only; the repair drops nothing, adds EOF and a vmdesc, and does not claim what it cannot know', () => {
    const intact = fs.readFileSync(MINIMAL);
    withSession(MINIMAL, (s) => {
      const eof = s.model().elements.find((e) => e.type === 'EOF')!;
      s.apply({ op: 'delete-bytes', offset: eof.offset, length: s.view.size - eof.offset });
      const cut = s.model().diagnostics;
      // The diagnostic is at the file's last byte, where the end marker should follow.
      expect(cut.map((d) => `${d.severity} ${d.code}@${hex(d.offset)}`)).toEqual([`error missing-eof@${hex(eof.offset - 1)}`]);
      const devices = fullSections(s.model()).length;
      const outcome = runRepairs(s);
      expect(outcome.actions.map((a) => [a.code, a.edit.summary])).toEqual([['end-truncated-stream', `ended the cut stream cleanly after its last complete element at ${hex(eof.offset)}`]]);
      expect(outcome.actions[0].addresses).toEqual(cut);
      expect(outcome.actions[0].edit.fixups).toEqual([
        `dropped nothing: the file ends where an element ends, at ${hex(eof.offset)}`,
        `added QEMU_VM_EOF and a vmdesc describing the ${devices} complete device sections (${devices} described as one buffer of their payload size)`,
        'lost without a donor: any device sections that followed the cut',
      ]);
      expect(outcome.after.filter((d) => d.severity !== 'info')).toEqual([]);
      // Every section and page is there: nothing is reported lost.
      expect(outcome.limits).toEqual({ lost: [] });
      const repaired = Buffer.from(readBytes(s.view, 0, s.view.size));
      expect(repaired.subarray(0, eof.offset + 1).equals(intact.subarray(0, eof.offset + 1))).toBe(true);
      expect(s.model().elements.slice(-2).map((e) => e.type)).toEqual(['EOF', 'VMDESCRIPTION']);
    });
  });

  it('a cut inside RAM: the repair answers exactly the cut diagnostics, not others beside them', () => {
    withSession(TRUNCATED, (s) => {
      const m = s.model();
      const cutDiagnostics = m.diagnostics.filter((d) => d.code === 'missing-eof' || d.code === 'truncated');
      expect(cutDiagnostics.map((d) => d.code)).toEqual(['truncated']);
      const other = { severity: 'warning', code: 'vmdesc-missing', offset: 0, message: 'another finding' } as (typeof m.diagnostics)[number];
      const action = truncationRepair({ ...s.context(), model: patched(m, { diagnostics: [other, ...m.diagnostics] }) })!;
      expect(action.addresses).toEqual(cutDiagnostics);
      expect(action.edit.intent.answers).toEqual(cutDiagnostics.map((d) => `${d.code} at ${d.offset}`));
    });
  });
});

describe('a donor fills exactly the pages the image lost', () => {
  it('the record count is the number of donor page records for pages the damaged image does not hold', async () => {
    const { damaged, donor } = await cutImageAndOtherSave(tempFolder('migwb-donor-fill-')());
    withSession(damaged, (s) => {
      const id = s.addDonor(donor);
      const d = s.context().donor(id)!.model;
      const m = s.model();
      // Counted independently of the planner: page by page, over the donor's RAM records.
      let lostRecords = 0;
      for (let r = 0; r < d.pages.runCount; r++) {
        const run = d.pages.run(r);
        for (let p = run.firstPage; p < run.firstPage + run.count; p++) if (m.pages.latestRun(run.block, p) < 0) lostRecords++;
      }
      expect(lostRecords).toBeGreaterThan(5);
      const outcome = runRepairs(s, id);
      expect(outcome.actions[0].edit.fixups[1]).toMatch(new RegExp(`^took ${lostRecords} page records from donor `));
      // Pages the image held keep its content; the donor's other pc.bios shows where the image had nothing.
      const after = s.model();
      for (let r = 0; r < m.pages.runCount; r++) {
        const run = m.pages.run(r);
        for (const p of [run.firstPage, run.firstPage + run.count - 1]) expect(after.pages.latestRun(run.block, p), `block ${run.block} page ${p}`).toBeGreaterThanOrEqual(0);
      }
    });
  });
});

describe('repairLimits on made-up results', () => {
  it('no CPU state but device sections kept: the CPU is lost, not every device section', () => {
    withSession(MINIMAL, (s) => {
      const m = s.model();
      const noCpu = patched(m, { vmdesc: undefined, elements: m.elements.filter((e) => e.idstr !== 'cpu') });
      expect(repairLimits(noCpu, noCpu).lost).toEqual(['the CPU state: the result has no "cpu" section, so its vCPUs start from reset']);
      const nothing = patched(m, { vmdesc: undefined, elements: m.elements.filter((e) => e.type !== 'FULL') });
      expect(repairLimits(nothing, nothing).lost).toEqual([
        'the CPU state: the result has no "cpu" section, so its vCPUs start from reset',
        'every device section: QEMU writes them after RAM, so none survived the cut',
      ]);
    });
  });

  it('pages never sent are lost only when the damaged image was cut (no end marker, or truncated)', () => {
    withSession(TRUNCATED, (s) => {
      const m = s.model();
      const onlyPages = (before: QemuStreamModel) => repairLimits(before, m).lost.filter((l) => /never sent/.test(l));
      const truncated = m.diagnostics.filter((d) => d.code === 'truncated');
      expect(truncated).toHaveLength(1);
      const missingEof = [{ ...truncated[0], code: 'missing-eof' }];
      expect(onlyPages(patched(m, { diagnostics: truncated })).length).toBeGreaterThan(0);
      expect(onlyPages(patched(m, { diagnostics: missingEof }))).toEqual(onlyPages(patched(m, { diagnostics: truncated })));
      expect(onlyPages(patched(m, { diagnostics: m.diagnostics.filter((d) => d.code !== 'missing-eof' && d.code !== 'truncated') }))).toEqual([]);
    });
  });
});

describe('a header repair', () => {
  it('has no framing fixups: it changes the one field and nothing beside it', () => {
    withSession(MINIMAL, (s) => {
      s.apply({ op: 'replace-bytes', offset: 0, hex: '51455658' });
      const [restore] = headerRepairs(s.context());
      expect(restore.code).toBe('restore-magic');
      expect(restore.edit.fixups).toEqual([]);
    });
  });

  it('a file with a wrong magic and no sections at all is not offered a magic repair', () => {
    withSession(MINIMAL, (s) => {
      const m = s.model();
      const ctx = { ...s.context(), model: patched(m, { elements: [], diagnostics: [{ severity: 'error', code: 'bad-magic', offset: 0, message: 'x' } as never, { severity: 'error', code: 'file-version', offset: 4, message: 'x' } as never] }) };
      expect(headerRepairs(ctx)).toEqual([]);
      const withSections = { ...ctx, model: patched(ctx.model, { elements: m.elements }) };
      expect(headerRepairs(withSections).map((a) => a.code)).toEqual(['restore-magic', 'restore-file-version']);
    });
  });
});
