import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGuestPage } from '../../shared/formats/qemu-stream/ram-reader';
import { ANALYZE_MIGRATION, analyzeMigrationOutput, haveAnalyzeMigration, runAnalyzeMigration } from '../helpers/analyze-migration';
import { migwb } from '../helpers/cli';
import { corpusPath, damagedImages, readJson, sidecar } from '../helpers/corpus';
import { cutImageAndOtherSave, intactOf } from './fixtures';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import { parseFile, withImage } from '../helpers/parse';
import type { JournalDocument } from '../../shared/edit/journal-file';

const CORRUPT = damagedImages('corrupt');
const originalSha = (damaged: string) => readJson(sidecar(intactOf(damaged), 'meta')).sha256;
const kind = (f: string) => /\.(flip-hdr|trunc-mid-ram|vmdesc-cut)\.mig$/.exec(f)![1];
const INTACT = [...new Set(CORRUPT.map(intactOf))];

/** Every guest page of two images, compared; returns "block page" of each that differs. */
function differingPages(a: string, b: string): string[] {
  return withImage(a, (sa, ma) =>
    withImage(b, (sb, mb) => {
      const out: string[] = [];
      ma.ramBlocks.forEach((block, i) => {
        for (let p = 0; p < block.usedLength / ma.pageSize; p++) {
          if (!Buffer.from(readGuestPage(sa, ma, i, p).bytes).equals(Buffer.from(readGuestPage(sb, mb, i, p).bytes))) out.push(`${block.id} ${p}`);
        }
      });
      return out;
    }),
  );
}

const fullLabels = (file: string) => parseFile(file).elements.filter((e) => e.type === 'FULL').map((e) => `${e.idstr}:${e.instanceId}`);

describe('migwb repair on the damaged corpus samples', () => {
  expectOriginalsUnchanged([...CORRUPT, ...INTACT]);
  const tmp = tempFolder('migwb-repair-');

  const EXPECTED_FIX: Record<string, RegExp> = {
    'x86_64-pc-minimal-paused-16M.flip-hdr.mig': /restored the name of the section at 0x4d6de from the vmdesc and the section order: "bpu" → "cpu" instance 0/,
    'x86_64-q35-minimal-running-32M.flip-hdr.mig': /restored the type byte of FULL timer:0 at 0xbb64c: 0x14 → 0x04 \(FULL\)/,
    'x86_64-pc-i440fx-2.3-legacy-paused-16M.flip-hdr.mig': /restored the version of cpu:0 from the vmdesc: 76 → 12/,
  };

  it.each(CORRUPT.filter((f) => kind(f) === 'flip-hdr').map((f) => [path.basename(f), f]))('%s: the damaged header field is restored and the file equals the original', async (name, damaged) => {
    const out = path.join(tmp(), `${name}.repaired`);
    const r = await migwb('repair', damaged, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(EXPECTED_FIX[name]);
    expect(r.out).toMatch(/answers: (section-name-mismatch|damaged-section-type|version-mismatch) at 0x/);
    expect(r.out).toContain('repaired image: no errors');
    expect(sha256File(out)).toBe(originalSha(damaged));
  });

  it.each(CORRUPT.filter((f) => kind(f) !== 'flip-hdr').map((f) => [path.basename(f), f]))('%s: with the intact image as donor the repair gives back the original byte for byte', async (name, damaged) => {
    const out = path.join(tmp(), `${name}.donor-repaired`);
    const r = await migwb('repair', damaged, '--donor', intactOf(damaged), '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(kind(damaged) === 'vmdesc-cut' ? /rebuilt the vmdesc for the \d+ device sections \(\d+ recovered from the image's own vmdesc, \d+ taken from the donor's\)/ : /the image is a cut copy of donor (\S+) \(sha256 ([0-9a-f]{64})\): appended the \d+ missing bytes from it \(PART ram, END ram, \d+ × FULL, EOF, VMDESCRIPTION\)/);
    // The donor is named by its path and sha256.
    if (kind(damaged) !== 'vmdesc-cut') expect(r.out).toContain(`donor ${intactOf(damaged)} (sha256 ${sha256File(intactOf(damaged))})`);
    expect(r.out).not.toMatch(/not recovered/);
    expect(sha256File(out)).toBe(originalSha(damaged));
  });

  it.each(CORRUPT.filter((f) => kind(f) === 'vmdesc-cut').map((f) => [path.basename(f), f]))('%s: without a donor the vmdesc is rebuilt from what survived and the sections', async (name, damaged) => {
    const out = path.join(tmp(), `${name}.repaired`);
    const r = await migwb('repair', damaged, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/described as one buffer of their payload size/);
    const repaired = parseFile(out);
    const original = parseFile(intactOf(damaged));
    expect(repaired.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(repaired.vmdesc!.devices.map((d) => d.name)).toEqual(original.vmdesc!.devices.map((d) => d.name));
    // The recovered descriptions are the original's; the rest describe each payload as one buffer.
    const recovered = parseFile(damaged).vmdesc!.devices.length;
    expect(repaired.vmdesc!.devices.slice(0, recovered)).toEqual(original.vmdesc!.devices.slice(0, recovered));
    expect(repaired.vmdesc!.devices.slice(recovered).every((d) => d.fields!.length === 1 && d.fields![0].type === 'buffer')).toBe(true);
  });

  it.skipIf(!haveAnalyzeMigration).each(CORRUPT.filter((f) => kind(f) === 'vmdesc-cut').map((f) => [path.basename(f), f]))(
    `%s: analyze-migration.py fails on the cut vmdesc and reads the rebuilt one (needs ${ANALYZE_MIGRATION})`,
    async (name, damaged) => {
      const out = path.join(tmp(), `${name}.repaired-for-script`);
      expect((await migwb('repair', damaged, '-o', out)).code).toBe(0);
      expect(runAnalyzeMigration(damaged, 'desc').ok, 'analyze-migration.py fails on the cut vmdesc').toBe(false);
      const desc = JSON.parse(analyzeMigrationOutput(out, 'desc'));
      expect(desc.devices).toHaveLength(parseFile(intactOf(damaged)).vmdesc!.devices.length);
    },
  );

  it.each(CORRUPT.filter((f) => kind(f) === 'trunc-mid-ram').map((f) => [path.basename(f), f]))('%s: without a donor the stream is ended cleanly after the last complete page record', async (name, damaged) => {
    const out = path.join(tmp(), `${name}.repaired`);
    const r = await migwb('repair', damaged, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/ended the cut stream cleanly after its last complete element at 0x[0-9a-f]+/);
    expect(r.out).toMatch(/closed PART ram with an end-of-section record/);
    // It says what stays lost, in the record and in the summary, and that the guest cannot resume as it was.
    expect(r.out).toMatch(/lost without a donor: .*pages of .* \(never sent\).*; the device sections after the cut, the CPU state included/);
    expect(r.out).toMatch(/repaired image: no errors, 1 warning\n {2}warning 0x[0-9a-f]+ {2}The stream holds no CPU state/);
    expect(r.out).toMatch(/not recovered \(no donor was given\):\n {2}- the CPU state: the result has no "cpu" section, so its vCPUs start from reset\n {2}- every device section: QEMU writes them after RAM, so none survived the cut\n( {2}- [\d,]+ of [\d,]+ pages of \S+ were never sent \(they came after the cut\) and read as zero\n)+/);
    expect(r.out).toMatch(/The guest cannot resume as it was: .* A donor \(an intact save of the same VM configuration\) can fill the gap/);
    const repaired = parseFile(out);
    // validate flags the result: no CPU state, and the pages never sent.
    expect(repaired.diagnostics.filter((d) => d.severity !== 'info')).toMatchObject([{ severity: 'warning', code: 'no-cpu-state', found: expect.stringMatching(/^no device sections at all; [\d,]+ of [\d,]+ pages of \S+ never sent/) }]);
    const validated = await migwb('validate', out);
    expect(validated.out).toMatch(/: 0 errors, 1 warning, 0 notes\nwarning .*The stream holds no CPU state: QEMU loads it, but the guest cannot resume as it was/);
    expect((await migwb('info', out)).out).toMatch(/0 errors, 1 warning, 0 notes; run "migwb validate" for details/);
    expect(repaired.elements.map((e) => e.type).filter((t) => t !== 'CONFIGURATION')).toEqual(['START', 'PART', 'END', 'EOF', 'VMDESCRIPTION']);
    // Every page the cut file held keeps the content it has there; the rest were never sent.
    withImage(out, (src, model) =>
      withImage(damaged, (csrc, cut) =>
        model.ramBlocks.forEach((b, i) => {
          for (let p = 0; p < b.usedLength / model.pageSize; p++) {
            const page = readGuestPage(src, model, i, p);
            expect(page.provenance.kind === 'never-sent').toBe(cut.pages.latestRun(i, p) < 0);
            expect(Buffer.from(page.bytes).equals(Buffer.from(readGuestPage(csrc, cut, i, p).bytes))).toBe(true);
          }
        }),
      ),
    );
  });

  it('with a donor that is another save, RAM the cut file lost and the missing sections come from the donor', async () => {
    // Not a byte-prefix of the donor, and missing pages in the middle of pc.ram as well as after the cut.
    const { original, damaged, donor: donorPath } = await cutImageAndOtherSave(tmp());
    const out = path.join(tmp(), 'generic-repair.mig');
    const journal = path.join(tmp(), 'generic-repair.json');
    const r = await migwb('repair', damaged, '--donor', donorPath, '-o', out, '--journal', journal);
    expect(r.code, r.err).toBe(0);
    const donorName = `donor ${donorPath} (sha256 ${sha256File(donorPath)})`;
    expect(r.out).toContain(`1. ended the cut stream cleanly after its last complete element at 0x2636a, completing RAM from ${donorName}`);
    // Two donor records need their block named: pc.ram page 5 (after the file's last record, of pc.bios) and the
    // first pc.bios record after the cut (now after pc.ram page 9).
    expect(r.out).toContain(`took 82 page records from ${donorName} for the pages`);
    expect(r.out).toMatch(/took 82 page records from .* for the pages the image lost \(pages it holds keep its own content\)\n {5}2 of them continued a block other than the record now before them, and name their block instead/);
    expect(r.out).toContain(`2. grafted from ${donorName}: timer:0,`);
    expect(r.out).toMatch(/2\. grafted from .*: timer:0, cpu_common:0, .*globalstate:0 last, before QEMU_VM_EOF/);
    expect(r.out).toContain('repaired image: no errors');
    // The journal names the donor the same way, in each summary and intent.
    const recorded = readJson<{ edits: { summary: string; intent: { donor: unknown } }[] }>(journal).edits;
    expect(recorded.map((e) => e.summary)).toEqual([expect.stringContaining(donorName), expect.stringContaining(donorName)]);
    expect(recorded.map((e) => e.intent.donor)).toEqual([0, 1].map(() => ({ id: 'donor', path: donorPath, sha256: sha256File(donorPath) })));
    // The page the donor changed lies before the cut: the damaged file's copy wins, so all RAM equals the original's.
    expect(differingPages(out, original)).toEqual([]);
    expect(differingPages(donorPath, original)).toEqual(['pc.bios 0']);
    expect(fullLabels(out)).toEqual(fullLabels(original));
    expect(parseFile(out).vmdesc).toEqual(parseFile(original).vmdesc);
  });

  it('refuses a donor of another configuration, naming the differences', async () => {
    const damaged = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig');
    const r = await migwb('repair', damaged, '--donor', corpusPath('qemu', 'x86_64-q35-minimal-running-32M.mig'), '-o', path.join(tmp(), 'never.mig'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the donor \S+x86_64-q35-minimal-running-32M.mig \(sha256 [0-9a-f]{64}\) is not a save of the same VM configuration: machine type pc-i440fx-7.2 vs pc-q35-7.2; RAM blocks \[pc.ram=16777216, /);
    expect(fs.existsSync(path.join(tmp(), 'never.mig'))).toBe(false);
  });

  it('--dry-run prints the plan and the predicted result and writes nothing; --json has the same', async () => {
    const damaged = corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig');
    const out = path.join(tmp(), 'dry.mig');
    const r = await migwb('repair', damaged, '--dry-run', '-o', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/: 1 error, 0 warnings\n {2}error 0x000bb64c {2}Unknown section type 0x14/);
    expect(r.out).toMatch(/repair plan \(1\):\n1\. restored the type byte/);
    expect(r.out).toMatch(/predicted result: no errors\ndry run: nothing was written/);
    expect(fs.existsSync(out)).toBe(false);
    const json = JSON.parse((await migwb('repair', damaged, '--dry-run', '--json')).out);
    expect(json).toMatchObject({ dry_run: true, actions: [{ code: 'restore-section-type', answers: [{ code: 'damaged-section-type', offset: 0xbb64c }] }], before: { error: 1 }, after: { counts: { error: 0 } }, output: null });
  });

  it('an intact image has nothing to repair; -o or --dry-run is required', async () => {
    const intact = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
    const r = await migwb('repair', intact, '-o', path.join(tmp(), 'same.mig'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('nothing to repair; nothing was written');
    expect(fs.existsSync(path.join(tmp(), 'same.mig'))).toBe(false);
    const usage = await migwb('repair', intact);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/give the output file with -o OUT/);
  });

  it('--journal keeps the repairs as a journal that "migwb apply" re-applies to the same result, with a report', async () => {
    const damaged = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig');
    const journal = path.join(tmp(), 'repair.json');
    const report = path.join(tmp(), 'repair.md');
    const out = path.join(tmp(), 'repaired.mig');
    expect((await migwb('repair', damaged, '-o', out, '--journal', journal, '--report', report)).code).toBe(0);
    expect(readJson<JournalDocument>(journal).edits[0].intent).toMatchObject({ op: 'repair', action: 'end-truncated-stream' });
    expect(fs.readFileSync(report, 'utf8')).toMatch(/## 1\. ended the cut stream cleanly[\s\S]*Framing fixed alongside:\n- dropped the \d+ bytes after 0x26397/);
    const again = path.join(tmp(), 'reapplied.mig');
    expect((await migwb('apply', damaged, journal, '-o', again)).code).toBe(0);
    expect(sha256File(again)).toBe(sha256File(out));
  });
});
