import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EditSession } from '../../electron/edit/edit-session';
import { runRepairs } from '../../electron/edit/repair-service';
import { hex } from '../../shared/diagnostics';
import { fullSections } from '../../shared/edit/sections';
import { readBytes } from '../../shared/io/byte-source';
import { corpusPath } from '../helpers/corpus';
import { withSession } from '../helpers/edit-session';
import { tempFolder } from '../helpers/evidence';
import { CUTS, cutAt, otherSave } from './fixtures';

/**
 * A save can be cut anywhere: between RAM sections, inside the END of RAM, inside a device
 * section after RAM. Each cut is made at test time (as a journal entry over the intact
 * image) and repaired in process, with and without a donor; the plan is checked word for
 * word and the result must validate without errors. test/repair/qemu-repair.test.ts has
 * QEMU load the same cuts repaired.
 */
const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

const types = (s: EditSession) =>
  s
    .model()
    .elements.filter((e) => e.type !== 'FULL' && e.type !== 'CONFIGURATION')
    .map((e) => `${e.type}${e.idstr ? ` ${e.idstr}` : ''}`);

describe('a stream cut at any kind of place, repaired without a donor', () => {
  it('after START ram: RAM is ended, and everything after is lost', () => {
    withSession(MINIMAL, (s) => {
      const at = CUTS['after START ram'](s);
      cutAt(s, at);
      const outcome = runRepairs(s);
      expect(outcome.actions.map((a) => a.edit.summary)).toEqual([`ended the cut stream cleanly after its last complete element at ${hex(at)}`]);
      const fixups = outcome.actions[0].edit.fixups;
      expect(fixups.slice(0, 3)).toEqual([
        `dropped nothing: the file ends where an element ends, at ${hex(at)}`,
        'ended the RAM section with END ram',
        'added QEMU_VM_EOF and a vmdesc (no complete device section survived the cut)',
      ]);
      expect(fixups[3]).toMatch(/^lost without a donor: ([\d,]+ of [\d,]+ pages of \S+ \(never sent\); )+any device sections that followed the cut, the CPU state included$/);
      expect(outcome.after.filter((d) => d.severity === 'error')).toEqual([]);
      expect(types(s)).toEqual(['START ram', 'END ram', 'EOF', 'VMDESCRIPTION']);
      expect(outcome.limits.lost.slice(0, 2)).toEqual(['the CPU state: the result has no "cpu" section, so its vCPUs start from reset', 'every device section: QEMU writes them after RAM, so none survived the cut']);
    });
  });

  it('inside END ram: that END is closed, and no second END is added', () => {
    withSession(MINIMAL, (s) => {
      const end = s.model().elements.find((e) => e.type === 'END' && e.idstr === 'ram')!;
      cutAt(s, CUTS['inside END ram'](s));
      const outcome = runRepairs(s);
      const fixups = outcome.actions[0].edit.fixups;
      expect(fixups.slice(0, 3)).toEqual([
        `dropped the 2 bytes after ${hex(end.payloadOffset!)} (the unfinished part of END ram)`,
        'closed END ram with an end-of-section record and its footer',
        'added QEMU_VM_EOF and a vmdesc (no complete device section survived the cut)',
      ]);
      expect(outcome.after.filter((d) => d.severity === 'error')).toEqual([]);
      expect(types(s)).toEqual(['START ram', 'PART ram', 'END ram', 'EOF', 'VMDESCRIPTION']);
      // RAM was sent whole before the cut: only device state is lost.
      expect(outcome.limits.lost.filter((l) => /never sent/.test(l))).toEqual([]);
    });
  });

  it('inside the cpu section: the sections before it are kept and described, the rest named as lost', () => {
    withSession(MINIMAL, (s) => {
      const cpu = fullSections(s.model()).find((e) => e.idstr === 'cpu')!;
      const before = fullSections(s.model()).filter((e) => e.offset + e.length <= cpu.offset);
      expect(before.map((e) => e.idstr)).toEqual(['timer', 'cpu_common']);
      const at = CUTS['inside cpu'](s);
      cutAt(s, at);
      const outcome = runRepairs(s);
      expect(outcome.actions[0].edit.fixups).toEqual([
        `dropped the ${at - cpu.offset} bytes after ${hex(cpu.offset)} (the unfinished part of FULL cpu)`,
        'added QEMU_VM_EOF and a vmdesc describing the 2 complete device sections (2 described as one buffer of their payload size)',
        'lost without a donor: the device sections after the cut, the CPU state included',
      ]);
      expect(outcome.after.filter((d) => d.severity === 'error')).toEqual([]);
      expect(fullSections(s.model()).map((e) => e.idstr)).toEqual(['timer', 'cpu_common']);
      expect(s.model().vmdesc!.devices.map((d) => d.name)).toEqual(['timer', 'cpu_common']);
      expect(outcome.limits.lost[0]).toBe('the CPU state: the result has no "cpu" section, so its vCPUs start from reset');
    });
  });
});

describe('the same cuts with another save of the VM as donor', () => {
  const tmp = tempFolder('migwb-cut-anywhere-');

  it("after START ram: the cut copy is a prefix of the donor, so the donor's rest is appended and the result is the donor", async () => {
    const donorFile = await otherSave(MINIMAL, `${tmp()}/other.mig`);
    withSession(MINIMAL, (s) => {
      cutAt(s, CUTS['after START ram'](s));
      const outcome = runRepairs(s, s.addDonor(donorFile));
      expect(outcome.actions.map((a) => a.code)).toEqual(['complete-from-donor']);
      expect(Buffer.from(readBytes(s.view, 0, s.view.size)).equals(fs.readFileSync(donorFile))).toBe(true);
      expect(outcome.limits).toEqual({ lost: [] });
    });
  });

  it('inside the cpu section: the vmdesc entries come from the donor, and the lost sections are grafted from it', async () => {
    const donorFile = await otherSave(MINIMAL, `${tmp()}/other.mig`);
    withSession(MINIMAL, (s) => {
      const devices = fullSections(s.model()).map((e) => e.idstr);
      cutAt(s, CUTS['inside cpu'](s));
      const outcome = runRepairs(s, s.addDonor(donorFile));
      expect(outcome.actions.map((a) => a.code)).toEqual(['end-truncated-stream', 'graft-missing-sections']);
      expect(outcome.actions[0].edit.fixups[1]).toBe("added QEMU_VM_EOF and a vmdesc describing the 2 complete device sections (2 taken from the donor's)");
      expect(outcome.after.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(fullSections(s.model()).map((e) => e.idstr)).toEqual(devices);
      expect(outcome.limits).toEqual({ lost: [] });
    });
  });
});

describe('the parser reads a cut inside a device section as a cut, wherever it falls', () => {
  it('at 40 cuts ending on a zero byte of the cpu section, and every 97th byte: truncated (never a missing footer before a QEMU_VM_EOF that is a zero byte of the payload)', () => {
    withSession(MINIMAL, (s) => {
      const cpu = fullSections(s.model()).find((e) => e.idstr === 'cpu')!;
      const bytes = readBytes(s.view, cpu.offset, cpu.length);
      // Past the header (a cut inside the header is another case), up to the footer: every cut
      // whose last byte is zero (the case this guards), up to 40 of them, and every 97th byte.
      const first = cpu.payloadOffset! + 1;
      const last = cpu.offset + cpu.length - 6;
      const lastByte = (at: number) => bytes[at - 1 - cpu.offset];
      const zeros = [];
      for (let at = first; at <= last && zeros.length < 40; at++) if (lastByte(at) === 0) zeros.push(at);
      expect(zeros).toHaveLength(40);
      for (const at of [...zeros, ...Array.from({ length: Math.floor((last - first) / 97) }, (_, i) => first + 97 * i)]) {
        cutAt(s, at);
        const errors = s.model().diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
        expect(errors, `cut at ${hex(at)} (last byte ${hex(lastByte(at), 2)})`).toEqual(['truncated']);
        s.undo();
      }
    });
  });
});
