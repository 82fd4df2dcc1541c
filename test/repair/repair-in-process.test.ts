import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EditSession } from '../../electron/edit/edit-session';
import { runRepairs } from '../../electron/edit/repair-service';
import { hex } from '../../shared/diagnostics';
import { fullSections, sectionLabel } from '../../shared/edit/sections';
import { SectionType } from '../../shared/formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../../shared/formats/qemu-stream/model';
import { readBytes } from '../../shared/io/byte-source';
import { headerRepairs } from '../../shared/repair/header-repairs';
import { repairLimits } from '../../shared/repair/limits';
import { repairOffers } from '../../shared/repair/planner';
import { corpusPath } from '../helpers/corpus';
import { tempFolder } from '../helpers/evidence';
import { cutCopyWithHole, intactOf } from './fixtures';
import { withSession } from '../helpers/edit-session';

/**
 * The repair planner in process, with exact plans: each damage is made as a journal entry
 * over a corpus image (as a user's hand edit would be), the plan is checked word for word
 * against what the damage was, and the repaired view must equal the original byte for byte.
 * The CLI tests (repair.test.ts) check the same repairs as a user sees them; these run the
 * planner itself, so they also serve `npm run mutate repair` (it cannot mutate the CLI bundle).
 */
const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'); // vmdesc and footers
const LEGACY = corpusPath('qemu', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.mig'); // vmdesc, no footers
const NO_VMDESC = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'); // footers, no vmdesc
const TRUNCATED = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig');

const bytesOf = (s: EditSession) => Buffer.from(readBytes(s.view, 0, s.view.size));
const damage = (s: EditSession, offset: number, bytes: Uint8Array) => s.apply({ op: 'replace-bytes', offset, hex: Buffer.from(bytes).toString('hex') });
const be32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const answers = (a: { addresses: { code: string; offset: number }[] }) => a.addresses.map((d) => `${d.code}@${hex(d.offset)}`);

/**
 * Damages the session's image, checks the one plan headerRepairs makes for it, runs the
 * repairs and checks the result is the original; then undoes both, so the next case starts clean.
 */
function expectRepaired(s: EditSession, original: Buffer, damageIt: () => void, plan: { code: string; summary: string; answers: string[] }): void {
  damageIt();
  const planned = headerRepairs(s.context());
  expect(planned.map((a) => ({ code: a.code, summary: a.edit.summary, answers: answers(a) }))).toEqual([plan]);
  // What the app offers on the diagnostic is the same repair.
  expect(repairOffers(s.context()).map((a) => a.edit.summary)).toEqual([plan.summary]);
  const outcome = runRepairs(s);
  expect(outcome.actions.map((a) => a.code)).toEqual([plan.code]);
  expect(outcome.after.filter((d) => d.severity === 'error')).toEqual([]);
  expect(outcome.stopped).toBeUndefined();
  // A header field restored loses nothing.
  expect(outcome.limits).toEqual({ lost: [] });
  expect(bytesOf(s).equals(original)).toBe(true);
  s.undo();
  s.undo();
  expect(s.entries).toHaveLength(0);
}

const typeDamage = (s: EditSession, e: StreamElement) => () => damage(s, e.offset, Uint8Array.of(e.typeCode ^ 0x10));

describe('header repairs, planned word for word and undone', () => {
  it.each([
    ['with footers and a vmdesc', MINIMAL],
    ['without footers (pc-i440fx-2.3)', LEGACY],
  ])("every FULL section's flipped type byte, %s", (_, file) => {
    const original = fs.readFileSync(file);
    withSession(file, (s) => {
      const sections = fullSections(s.model());
      expect(sections.length).toBeGreaterThan(10);
      for (const e of sections) {
        expectRepaired(s, original, typeDamage(s, e), {
          code: 'restore-section-type',
          summary: `restored the type byte of FULL ${sectionLabel(e)} at ${hex(e.offset)}: ${hex(SectionType.FULL ^ 0x10, 2)} → ${hex(SectionType.FULL, 2)} (FULL)`,
          answers: [`damaged-section-type@${hex(e.offset)}`],
        });
      }
    });
  });

  it("the type bytes of START, PART, END and EOF (the RAM sections and the stream's end)", () => {
    const original = fs.readFileSync(MINIMAL);
    withSession(MINIMAL, (s) => {
      const model = s.model();
      const picked = (['START', 'PART', 'END', 'EOF'] as const).map((t) => model.elements.find((e) => e.type === t)!);
      for (const e of picked) {
        const what = e.type === 'EOF' ? 'EOF' : e.type === 'START' ? `START ${sectionLabel(e)}` : `${e.type} ${e.idstr}`;
        expectRepaired(s, original, typeDamage(s, e), {
          code: 'restore-section-type',
          summary: `restored the type byte of ${what} at ${hex(e.offset)}: ${hex(e.typeCode ^ 0x10, 2)} → ${hex(e.typeCode, 2)} (${e.type})`,
          answers: [`damaged-section-type@${hex(e.offset)}`],
        });
      }
    });
  });

  it.each([
    ['with footers and a vmdesc', MINIMAL],
    ['without footers (pc-i440fx-2.3)', LEGACY],
  ])("every FULL section's damaged name is restored from the vmdesc, %s", (_, file) => {
    const original = fs.readFileSync(file);
    withSession(file, (s) => {
      fullSections(s.model()).forEach((e, i) => {
        const at = e.offset + 6 + (i % e.idstr!.length);
        const flipped = original[at] ^ (i % 2 ? 0x80 : 0x01);
        let damagedName = '';
        expectRepaired(
          s,
          original,
          () => {
            damage(s, at, Uint8Array.of(flipped));
            damagedName = s.model().elements[e.index].idstr!;
          },
          {
            code: 'restore-section-name',
            get summary() {
              return `restored the name of the section at ${hex(e.offset)} from the vmdesc and the section order: ${JSON.stringify(damagedName)} → ${JSON.stringify(e.idstr)} instance ${e.instanceId}`;
            },
            answers: [`section-name-mismatch@${hex(e.offset + 6)}`],
          },
        );
      });
    });
  });

  it('the journal records a name repair with the old and new name and where it came from', () => {
    withSession(MINIMAL, (s) => {
      const cpu = fullSections(s.model()).find((e) => e.idstr === 'cpu')!;
      damage(s, cpu.offset + 6, Uint8Array.of('b'.charCodeAt(0)));
      const [repair] = runRepairs(s).actions;
      expect(repair.edit.intent).toEqual({ op: 'repair', action: 'restore-section-name', old_name: 'bpu', new_name: 'cpu', instance: 0, from: 'the vmdesc and the section order', answers: [`section-name-mismatch at ${cpu.offset + 6}`] });
    });
  });

  it("a section's damaged version is restored from the vmdesc, for every section the vmdesc gives a version", () => {
    const original = fs.readFileSync(MINIMAL);
    withSession(MINIMAL, (s) => {
      const model = s.model();
      const versioned = fullSections(model).filter((e) => model.vmdesc!.devices[e.deviceIndex!]?.version !== undefined);
      expect(versioned.length).toBeGreaterThan(10);
      for (const e of versioned) {
        const at = e.payloadOffset! - 4;
        expectRepaired(s, original, () => damage(s, at, be32(e.versionId! + 64)), {
          code: 'restore-version',
          summary: `restored the version of ${sectionLabel(e)} from the vmdesc: ${e.versionId! + 64} → ${e.versionId}`,
          answers: [`version-mismatch@${hex(at)}`],
        });
      }
    });
  });

  it("every section footer's damaged section id, and its damaged marker", () => {
    const original = fs.readFileSync(MINIMAL);
    withSession(MINIMAL, (s) => {
      const withFooters = s.model().elements.filter((e) => e.footerOffset !== undefined);
      expect(withFooters.length).toBeGreaterThan(10);
      for (const e of withFooters) {
        const what = e.type === 'FULL' || e.type === 'START' ? `${e.type} ${sectionLabel(e)}` : `${e.type} ${e.idstr}`;
        expectRepaired(s, original, () => damage(s, e.footerOffset! + 1, be32(e.sectionId! + 1000)), {
          code: 'restore-footer',
          summary: `restored the footer of ${what}: section id ${e.sectionId}`,
          answers: [`footer-mismatch@${hex(e.footerOffset! + 1)}`],
        });
        expectRepaired(s, original, () => damage(s, e.footerOffset!, Uint8Array.of(0x7f)), {
          code: 'restore-footer',
          summary: `restored the footer marker of ${what} at ${hex(e.footerOffset!)}: 0x7f → 0x7e`,
          answers: [`footer-missing@${hex(e.footerOffset!)}`],
        });
      }
    });
  });

  it('a device section whose footer is gone gets it written where the vmdesc ends the section', () => {
    const original = fs.readFileSync(MINIMAL);
    withSession(MINIMAL, (s) => {
      for (const e of fullSections(s.model())) {
        expectRepaired(s, original, () => s.apply({ op: 'delete-bytes', offset: e.footerOffset!, length: 5 }), {
          code: 'restore-footer',
          summary: `wrote the missing footer of FULL ${sectionLabel(e)} at ${hex(e.footerOffset!)}: 7e ${hex(e.sectionId!, 8)}`,
          answers: [`footer-missing@${hex(e.footerOffset!)}`],
        });
      }
    });
  });

  it('the file magic and the file version', () => {
    const original = fs.readFileSync(MINIMAL);
    withSession(MINIMAL, (s) => {
      expectRepaired(s, original, () => damage(s, 0, Buffer.from('QEVN')), { code: 'restore-magic', summary: 'restored the file magic "QEVM"', answers: ['bad-magic@0x0'] });
      expectRepaired(s, original, () => damage(s, 4, be32(2)), { code: 'restore-file-version', summary: 'restored file version 3 (was 2)', answers: ['file-version@0x4'] });
    });
  });

  it('an intact image: no plan, no offer, nothing applied', () => {
    for (const file of [MINIMAL, LEGACY, NO_VMDESC]) {
      withSession(file, (s) => {
        expect(headerRepairs(s.context())).toEqual([]);
        expect(repairOffers(s.context())).toEqual([]);
        const outcome = runRepairs(s);
        expect(outcome).toMatchObject({ actions: [], stopped: undefined, rejected: undefined, limits: { lost: [] } });
        expect(s.entries).toHaveLength(0);
      });
    }
  });
});

describe('a donor names a damaged section when there is no vmdesc', () => {
  it("the section's name comes from the donor's section with the same id and version", () => {
    const original = fs.readFileSync(NO_VMDESC);
    withSession(NO_VMDESC, (s) => {
      const donor = s.addDonor(NO_VMDESC);
      const e = fullSections(s.model()).find((x) => x.idstr === 'cpu')!;
      damage(s, e.offset + 6, Buffer.from('b'));
      // Nothing flags the damage without a vmdesc: only the donor's twin reveals it.
      expect(headerRepairs(s.context())).toEqual([]);
      const planned = headerRepairs(s.context(), s.context().donor(donor));
      expect(planned.map((a) => [a.code, a.edit.summary, a.addresses.length])).toEqual([
        ['restore-section-name', `restored the name of the section at ${hex(e.offset)} from the donor's section with id ${e.sectionId}: "bpu" → "cpu" instance 0`, 0],
      ]);
      s.applyCompiled(planned[0].edit);
      expect(bytesOf(s).equals(original)).toBe(true);
    });
  });
});

describe('a cut stream, ended in process', () => {
  it('without a donor: the cut is at the end of the last complete page record, and the record says what stays lost', () => {
    const intact = fs.readFileSync(intactOf(TRUNCATED));
    const cutSize = fs.statSync(TRUNCATED).size;
    withSession(intactOf(TRUNCATED), (i) => {
      // Independently of the planner: the last page record of the intact image that ends inside the cut copy.
      const m = i.model();
      let lastEnd = 0;
      for (let r = 0; r < m.pages.runCount; r++) {
        const run = m.pages.run(r);
        for (let p = run.firstPage; p < run.firstPage + run.count; p++) {
          const end = m.pages.dataOffsetIn(r, p) + run.dataLength;
          if (end <= cutSize && end > lastEnd) lastEnd = end;
        }
      }
      withSession(TRUNCATED, (s) => {
        const before = s.model();
        const ram = before.elements.find((e) => e.type === 'START' && e.idstr === 'ram')!;
        const open = before.elements.find((e) => e.damaged)!;
        const outcome = runRepairs(s);
        expect(outcome.actions).toHaveLength(1);
        const [end] = outcome.actions;
        expect(end.code).toBe('end-truncated-stream');
        expect(end.edit.summary).toBe(`ended the cut stream cleanly after its last complete element at ${hex(lastEnd)}`);
        expect(end.edit.intent).toMatchObject({ cut: lastEnd, dropped: cutSize - lastEnd });
        expect(end.edit.fixups.slice(0, 4)).toEqual([
          `dropped the ${cutSize - lastEnd} bytes after ${hex(lastEnd)} (the unfinished part of ${open.type} ram)`,
          `closed ${open.type} ram with an end-of-section record and its footer`,
          'ended the RAM section with END ram',
          'added QEMU_VM_EOF and a vmdesc (no complete device section survived the cut)',
        ]);
        expect(end.edit.fixups[4]).toMatch(/^lost without a donor: ([\d,]+ of [\d,]+ pages of \S+ \(never sent\); )+the device sections after the cut, the CPU state included$/);
        // The kept bytes are the cut file's; the rest is the end of RAM, EOF and a vmdesc.
        const repaired = bytesOf(s);
        expect(repaired.subarray(0, lastEnd).equals(intact.subarray(0, lastEnd))).toBe(true);
        const eos = Buffer.from('0000000000000010', 'hex');
        const footer = (sid: number) => Buffer.concat([Buffer.of(SectionType.FOOTER), be32(sid)]);
        const endRam = Buffer.concat([Buffer.of(SectionType.END), be32(ram.sectionId!), eos, footer(ram.sectionId!)]);
        expect(repaired.subarray(lastEnd, lastEnd + 13 + endRam.length + 1).equals(Buffer.concat([eos, footer(open.sectionId!), endRam, Buffer.of(SectionType.EOF)]))).toBe(true);
        expect(s.model().elements.map((e) => e.type).filter((t) => t !== 'CONFIGURATION')).toEqual(['START', 'PART', 'END', 'EOF', 'VMDESCRIPTION']);
        expect(s.model().vmdesc!.devices).toEqual([]);
        // What the result lacks: the CPU, every device section, the pages after the cut.
        const limits = outcome.limits;
        expect(limits.lost[0]).toBe('the CPU state: the result has no "cpu" section, so its vCPUs start from reset');
        expect(limits.lost[1]).toBe('every device section: QEMU writes them after RAM, so none survived the cut');
        expect(limits.lost.slice(2).length).toBeGreaterThan(0);
        for (const line of limits.lost.slice(2)) expect(line).toMatch(/^[\d,]+ of [\d,]+ pages of \S+ were never sent \(they came after the cut\) and read as zero$/);
        expect(limits.consequence).toBe(
          'The guest cannot resume as it was: QEMU loads the repaired image, but the vCPUs and devices whose state was lost start from reset. A donor (an intact save of the same VM configuration) can fill the gap: repair the damaged original with it.',
        );
      });
    });
  });

  it('with the intact image as donor: the missing tail is appended from it, named by path and sha256, and nothing is lost', () => {
    const intactFile = intactOf(TRUNCATED);
    const cutSize = fs.statSync(TRUNCATED).size;
    withSession(TRUNCATED, (s) => {
      const donor = s.addDonor(intactFile);
      const outcome = runRepairs(s, donor);
      expect(outcome.actions.map((a) => a.code)).toEqual(['complete-from-donor']);
      const [a] = outcome.actions;
      const d = s.context().donor(donor)!;
      expect(a.edit.summary).toMatch(new RegExp(`^the image is a cut copy of donor ${intactFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(sha256 [0-9a-f]{64}\\): appended the ${fs.statSync(intactFile).size - cutSize} missing bytes from it \\(PART ram, END ram, \\d+ × FULL, EOF, VMDESCRIPTION\\)$`));
      expect(a.edit.intent).toMatchObject({ appended: d.source.size - cutSize });
      expect(bytesOf(s).equals(fs.readFileSync(intactFile))).toBe(true);
      expect(outcome.limits).toEqual({ lost: [] });
    });
  });

  it('with another save as donor: the pages the cut copy lost come from it, each block named where it must be', async () => {
    const dir = tempFolder('migwb-repair-in-process-')();
    const damaged = await cutCopyWithHole(TRUNCATED, `${dir}/hole.mig`);
    withSession(damaged, (s) => {
      const donor = s.addDonor(intactOf(TRUNCATED));
      const outcome = runRepairs(s, donor);
      expect(outcome.actions.map((a) => a.code)).toEqual(['end-truncated-stream', 'graft-missing-sections']);
      const fixups = outcome.actions[0].edit.fixups;
      expect(fixups[1]).toMatch(/^took \d+ page records from donor .* for the pages the image lost \(pages it holds keep its own content\)$/);
      expect(fixups[2]).toBe('2 of them continued a block other than the record now before them, and name their block instead');
      expect(fixups[3]).toBe('closed PART ram with an end-of-section record and its footer');
      expect(fixups).not.toContainEqual(expect.stringMatching(/^lost without a donor/));
      expect(outcome.after.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(outcome.limits).toEqual({ lost: [] });
    });
  });
});

describe('repairLimits: what a repaired image still lacks', () => {
  const modelAfter = (file: string, edits: Parameters<EditSession['apply']>[0][]): QemuStreamModel =>
    withSession(file, (s) => {
      for (const e of edits) s.apply(e);
      return s.model();
    });
  const intact = (file: string) => withSession(file, (s) => s.model());
  const DONOR_HINT = 'A donor (an intact save of the same VM configuration) can fill the gap: repair the damaged original with it.';

  it('nothing lost: no lines and no consequence', () => {
    expect(repairLimits(intact(MINIMAL), intact(MINIMAL))).toEqual({ lost: [] });
  });

  it('a device section announced by the vmdesc and absent', () => {
    const before = intact(MINIMAL);
    const after = modelAfter(MINIMAL, [{ op: 'delete-section', section: 'timer:0' }]);
    expect(repairLimits(before, after)).toEqual({
      lost: ["1 device section announced by the damaged image's vmdesc: timer:0"],
      consequence: `The guest cannot resume as it was: QEMU loads the repaired image, but the vCPUs and devices whose state was lost start from reset. ${DONOR_HINT}`,
    });
  });

  it('the CPU state and another section, with a donor that did not have them either', () => {
    const before = intact(MINIMAL);
    const after = modelAfter(MINIMAL, [
      { op: 'delete-section', section: 'cpu:0' },
      { op: 'delete-section', section: 'timer:0' },
    ]);
    expect(repairLimits(before, after, after)).toEqual({
      lost: ['the CPU state: the result has no "cpu" section, so its vCPUs start from reset', "2 device sections announced by the damaged image's vmdesc: timer:0, cpu:0"],
      consequence: 'The guest cannot resume as it was: QEMU loads the repaired image, but the vCPUs and devices whose state was lost start from reset. The donor did not hold what is missing either.',
    });
  });

  it('without a vmdesc, sections are announced by the damaged image itself and by the donor', () => {
    const full = intact(NO_VMDESC);
    const lacksTimer = modelAfter(NO_VMDESC, [{ op: 'delete-section', section: 'timer:0' }]);
    const lacksBoth = modelAfter(NO_VMDESC, [
      { op: 'delete-section', section: 'timer:0' },
      { op: 'delete-section', section: 'apic:0' },
    ]);
    // apic was in the damaged image; timer only in the donor.
    expect(repairLimits(lacksTimer, lacksBoth, full).lost).toEqual(['2 device sections announced by the damaged image and the donor: apic:0, timer:0']);
    expect(repairLimits(lacksTimer, lacksBoth).lost).toEqual(['1 device section announced by the damaged image: apic:0']);
  });

  it('pages never sent count only when the damaged image was cut; then the lost memory reads as zero', () => {
    const holed = modelAfter(MINIMAL, [holeRequest(MINIMAL)]);
    const cut = intact(TRUNCATED);
    const lines = repairLimits(cut, holed).lost;
    expect(lines).toEqual(['5 of 4,096 pages of pc.ram were never sent (they came after the cut) and read as zero']);
    expect(repairLimits(cut, holed).consequence).toBe(`The guest cannot resume as it was: QEMU loads the repaired image, but the lost memory reads as zero. ${DONOR_HINT}`);
    // The same hole in an image that was not cut is what QEMU sent: nothing was lost by a repair.
    expect(repairLimits(intact(MINIMAL), holed)).toEqual({ lost: [] });
  });
});

/** Removes pc.ram pages 5-9 (their CONTINUE records) from an intact image, as cutCopyWithHole does. */
function holeRequest(file: string): Parameters<EditSession['apply']>[0] {
  return withSession(file, (s) => {
    const model = s.model();
    const run = model.pages.latestRun(0, 5);
    const first = model.pages.dataOffsetIn(run, 5) - 8;
    return { op: 'delete-bytes', offset: first, length: model.pages.dataOffsetIn(run, 10) - 8 - first };
  });
}
