import { describe, expect, it } from 'vitest';
import { fullSections, sectionLabel } from '../../shared/edit/sections';
import type { QemuStreamModel, StreamElement } from '../../shared/formats/qemu-stream/model';
import { payloadRange } from '../../shared/formats/qemu-stream/section-decoder';
import { readBytes, type ByteSource } from '../../shared/io/byte-source';
import { EditSession } from '../../electron/edit/edit-session';
import { openImage } from '../../electron/services/open-image';
import { corpusPath } from '../helpers/corpus';

/**
 * The transform rules checked in process against images QEMU itself saved (no QEMU needed,
 * so `npm run mutate` can run it per mutant): the same paused guest saved by QEMU 7.2 and by
 * 10.0, in the machine types NAME.meta.json records. Transforming one into the other's
 * release must give the other's stream: the same elements, the same
 * CONFIGURATION, every device section byte for byte (except the RTC, whose registers hold
 * the wall clock of the save), and the same vmdesc. The RAM differs only by the payload the
 * 10.0 images carry, so RAM records are left out. The cross-version matrix with real QEMU
 * (qemu-matrix.test.ts) then proves the results load.
 */
const PC72 = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'); // 7.2, -M pc = pc-i440fx-7.2
const PC10_AS_72 = corpusPath('qemu10', 'x86_64-pc-i440fx-7.2-payload-paused-16M.mig'); // 10.0, -M pc-i440fx-7.2
const PC10 = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig'); // 10.0, -M pc = pc-i440fx-10.0

/** The RTC's registers hold the time of the save (VOLATILE_SECTIONS of the QEMU matrix). */
const VOLATILE = new Set(['mc146818rtc:0']);

const PAIRS = [
  { from: PC72, to: 'qemu-10.0', machine: 'compat', native: PC10_AS_72, machineType: 'pc-i440fx-7.2', rules: ['globalstate-runstate', 'field-renames', 'vmdesc-configuration', 'vmdesc-last-index'] },
  { from: PC72, to: 'qemu-10.0', machine: 'newest', native: PC10, machineType: 'pc-i440fx-10.0', rules: ['machine-type', 'switchover-start', 'globalstate-runstate', 'field-renames', 'vmdesc-configuration', 'vmdesc-last-index'] },
  { from: PC10_AS_72, to: 'qemu-7.2', machine: 'compat', native: PC72, machineType: 'pc-i440fx-7.2', rules: ['globalstate-runstate', 'field-renames', 'vmdesc-configuration', 'vmdesc-last-index'] },
  { from: PC10, to: 'qemu-7.2', machine: 'newest', native: PC72, machineType: 'pc-i440fx-7.2', rules: ['machine-type', 'switchover-start', 'globalstate-runstate', 'field-renames', 'vmdesc-configuration', 'vmdesc-last-index'] },
] as const;

/**
 * Every element but RAM records and the end, as type, section, version and command, sorted:
 * QEMU finds a section by its idstr and instance, so the order in which a release registers
 * its devices (which differs between 7.2 and 10.0) is not something a transform must copy.
 */
function skeleton(model: QemuStreamModel): string[] {
  return model.elements.filter((e) => e.idstr !== 'ram' && e.type !== 'EOF').map((e) => [e.type, e.idstr && sectionLabel(e), e.versionId, e.cmdName, e.machine].filter((x) => x !== undefined).join(' ')).sort();
}

/** The vmdesc as JSON per device (and its other keys), in section order's place a sorted one. */
function vmdescByDevice(model: QemuStreamModel): Record<string, string> {
  const { devices, ...rest } = model.vmdesc!;
  const out: Record<string, string> = { '': JSON.stringify(rest) };
  for (const d of devices) out[`${d.name}:${d.instance_id}`] = JSON.stringify(d);
  return out;
}

function payload(source: ByteSource, e: StreamElement): Buffer {
  const { start, end } = payloadRange(e);
  return Buffer.from(readBytes(source, start, end - start));
}

function configurationBytes(source: ByteSource, model: QemuStreamModel): Buffer | undefined {
  const c = model.configuration;
  return c && Buffer.from(readBytes(source, c.offset, c.length));
}

describe('transform rules against the same guest saved by QEMU 7.2 and 10.0', () => {
  for (const p of PAIRS) {
    it(`${p.from.split('/').slice(-2).join('/')} → ${p.to} ${p.machine} equals ${p.native.split('/').slice(-2).join('/')}`, () => {
      const session = EditSession.over(openImage(p.from));
      const native = openImage(p.native);
      try {
        // Planning leaves the image's model as it was: a second plan (the app's dialog plans on
        // every choice) finds the same changes.
        const dryRun = session.transform({ to: p.to, machine: p.machine }, { dryRun: true });
        const { plan, applied } = session.transform({ to: p.to, machine: p.machine });
        expect(plan.changes.map((c) => c.rule)).toEqual(dryRun.plan.changes.map((c) => c.rule));
        expect(plan.blockers).toEqual([]);
        expect(plan.target.machine).toBe(p.machineType);
        expect([...new Set(plan.changes.map((c) => c.rule))]).toEqual(p.rules);
        expect(applied).toBeDefined();
        const out = session.describedModel();
        expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(out.machineType).toBe(p.machineType);
        expect(skeleton(out)).toEqual(skeleton(native.model));
        expect(configurationBytes(session.view, out)).toEqual(configurationBytes(native.source, native.model));
        const theirs = new Map(fullSections(native.model).map((e) => [sectionLabel(e), e]));
        const differing = fullSections(out)
          .filter((e) => !VOLATILE.has(sectionLabel(e)))
          .filter((e) => !payload(session.view, e).equals(payload(native.source, theirs.get(sectionLabel(e))!)))
          .map(sectionLabel);
        expect(differing).toEqual([]);
        expect(vmdescByDevice(out)).toEqual(vmdescByDevice(native.model));
      } finally {
        session.close();
        native.close();
      }
    });
  }
});
