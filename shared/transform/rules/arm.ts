import { fullSections, sectionLabel } from '../../edit/sections';
import type { StreamElement } from '../../formats/qemu-stream/model';
import { payloadRange } from '../../formats/qemu-stream/section-decoder';
import { be32, concatBytes } from '../../io/bytes';
import { compareVersions } from '../releases';
import type { ImageView, SectionDraft, TransformRule } from '../rule';
import { fieldBytes, readSection, replaceTopFields, sectionLayout } from '../section-layout';
import { finding } from './helpers';

/**
 * ARM CPU state: the coprocessor registers travel as two parallel lists, indexes and
 * values (target/arm/machine.c vmstate_arm_cpu), and each release has its own list for a
 * CPU model. cpu_post_load walks both sorted lists: a register in the incoming list that
 * the destination lacks fails the load; one only the destination has keeps its reset
 * value. cpreg_vmstate_array_len is checked with VMSTATE_INT32_POSITIVE_LE (≤ the
 * destination's count). The target's list is learned from a template image.
 */

const LENGTH = 'cpreg_vmstate_array_len';
const INDEXES = 'cpreg_vmstate_indexes';
const VALUES = 'cpreg_vmstate_values';
/**
 * Identification registers (CRn 0: MIDR, ID_*, CTR, CLIDR, CCSIDR…, but not the writable
 * CSSELR) are constants of the target's CPU model: write_list_to_cpustate writes each
 * incoming value and fails the load when the register reads back otherwise.
 */
export function isIdRegister(index: bigint): boolean {
  const coproc = Number((index >> 16n) & 0xfffn);
  const low = Number(index & 0xffffn);
  if (coproc === 0x13) {
    // AArch64 system register: op0, op1, CRn, CRm, op2.
    const op0 = (low >> 14) & 3;
    const op1 = (low >> 11) & 7;
    const crn = (low >> 7) & 0xf;
    return op0 === 3 && crn === 0 && op1 !== 2;
  }
  if (coproc === 15) {
    const crn = (low >> 11) & 0xf;
    const opc1 = (low >> 3) & 0xf;
    return crn === 0 && opc1 !== 2;
  }
  return false;
}

/** CNTFRQ defaults: 62.5 MHz (backcompat-cntfrq, machine types ≤ 9.0) and 1 GHz. */
const CNTFRQ_VALUES = new Set([62_500_000n, 1_000_000_000n]);

interface CpregLists {
  indexes: bigint[];
  values: bigint[];
}

function cpuSections(image: ImageView): StreamElement[] {
  return fullSections(image.model).filter((e) => {
    const entry = e.deviceIndex !== undefined ? image.model.vmdesc?.devices[e.deviceIndex] : undefined;
    return entry?.vmsd_name === 'cpu' && entry.fields?.some((f) => f.name === INDEXES);
  });
}


function readLists(s: SectionDraft): CpregLists | undefined {
  const layout = sectionLayout(s);
  const idx = layout.fields.find((f) => f.field.name === INDEXES);
  const val = layout.fields.find((f) => f.field.name === VALUES);
  if (!idx || !val || idx.field.size !== 8 || val.field.size !== 8) return undefined;
  const u64s = (b: Uint8Array) => Array.from({ length: b.length / 8 }, (_, i) => new DataView(b.buffer, b.byteOffset + i * 8, 8).getBigUint64(0, false));
  return { indexes: u64s(fieldBytes(s, idx)), values: u64s(fieldBytes(s, val)) };
}

export const armCpregRule: TransformRule = {
  name: 'arm-cpreg-list',
  description:
    "The ARM CPU's coprocessor register lists are reconciled with the target's list (learned from a template): registers the target lacks are dropped, registers only the target has keep the template's (reset) values, as cpu_post_load would, and identification registers take the target model's constants (write_list_to_cpustate refuses others); cpreg_vmstate_array_len and the vmdesc array lengths follow.",
  changedIn: { since: '8.0', keyedBy: 'release' },
  cites: [{ source: 'target/arm/machine.c cpu_post_load (matching the index lists), vmstate_arm_cpu (VMSTATE_INT32_POSITIVE_LE(cpreg_vmstate_array_len), VMSTATE_VARRAY_INT32 indexes/values)' }, { source: 'target/arm/helper.c write_list_to_cpustate / cpreg lists', compat: 'hw_compat_9_0: arm-cpu backcompat-cntfrq=true' }],
  kind: 'required',
  detect(image, target) {
    const out = [];
    for (const e of cpuSections(image)) {
      const mine = readLists(readSection(image, e));
      if (!mine) continue;
      const t = target.template && fullSections(target.template.model).find((x) => x.idstr === e.idstr && x.instanceId === e.instanceId);
      if (target.template) {
        const theirs = t && t.deviceIndex !== undefined ? readLists(readSection(target.template, t)) : undefined;
        if (!theirs) continue; // the template rebase reports the section
        const dropped = mine.indexes.filter((x) => !theirs.indexes.includes(x));
        const added = theirs.indexes.filter((x) => !mine.indexes.includes(x));
        if (!dropped.length && !added.length) continue;
        const { start } = payloadRange(e);
        out.push(
          finding(this, {
            subject: sectionLabel(e),
            offset: start,
            reason: `the target's register list for this CPU has ${theirs.indexes.length} entries, the image's ${mine.indexes.length}: ${dropped.length} only in the image, ${added.length} only in the target`,
            qemuError:
              mine.indexes.length > theirs.indexes.length
                ? [`Invalid value ${mine.indexes.length} expecting positive value <= ${theirs.indexes.length}`, `Failed to load cpu:${LENGTH}`, `error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`, 'load of migration failed: Invalid argument']
                : dropped.length
                  ? [`error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`, 'load of migration failed: Operation not permitted']
                  : undefined,
            detail: { dropped: dropped.length, added: added.length },
          }),
        );
        continue;
      }
      // Without a template: the lists differ whenever another release saved the image.
      const savedByTen = !!image.model.vmdesc?.configuration;
      const targetTen = compareVersions(target.release.version, '10.0') >= 0;
      if (savedByTen === targetTen) continue;
      out.push(
        finding(this, {
          subject: sectionLabel(e),
          offset: payloadRange(e).start,
          reason: `QEMU ${target.release.version} keeps another coprocessor register list for this CPU than the QEMU that saved the image (${mine.indexes.length} entries); the list is learned from a template`,
          qemuError: targetTen
            ? [`error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`, 'load of migration failed: Operation not permitted']
            : [`Invalid value ${mine.indexes.length} expecting positive value <= (QEMU ${target.release.version}'s register count for this CPU)`],
          blocker: { closest: `the same transform with --template: an image QEMU ${target.release.version} saved of the same VM (same -M ${target.machine} and -cpu)` },
        }),
      );
    }
    return out;
  },
  apply(draft, f) {
    const template = draft.target.template!;
    const e = fullSections(draft.image.model).find((x) => x.payloadOffset === f.offset)!;
    const t = fullSections(template.model).find((x) => x.idstr === e.idstr && x.instanceId === e.instanceId)!;
    const s = draft.section(e);
    const mine = readLists(s)!;
    const theirs = readLists(readSection(template, t))!;
    const source = new Map(mine.indexes.map((x, i) => [x, mine.values[i]]));
    let frequency: { from: bigint; to: bigint } | undefined;
    const identification: string[] = [];
    const values = theirs.indexes.map((x, i) => {
      const v = source.get(x);
      if (v === undefined) return theirs.values[i];
      if (v !== theirs.values[i] && isIdRegister(x)) {
        identification.push(`0x${x.toString(16)}: 0x${v.toString(16)} → 0x${theirs.values[i].toString(16)}`);
        return theirs.values[i];
      }
      if (v !== theirs.values[i] && CNTFRQ_VALUES.has(v) && CNTFRQ_VALUES.has(theirs.values[i])) {
        frequency = { from: v, to: theirs.values[i] };
        return theirs.values[i];
      }
      return v;
    });
    const dropped = mine.indexes.filter((x) => !theirs.indexes.includes(x));
    const added = theirs.indexes.filter((x) => !source.has(x));
    const layout = sectionLayout(s);
    const first = layout.fields.findIndex((x) => x.field.name === LENGTH);
    const parts = layout.fields.slice(first, first + 3);
    if (parts.map((p) => p.field.name).join() !== [LENGTH, INDEXES, VALUES].join()) throw new Error(`internal: unexpected ARM cpu layout in ${sectionLabel(e)}`);
    const u64s = (xs: bigint[]) => {
      const b = new Uint8Array(xs.length * 8);
      xs.forEach((x, i) => new DataView(b.buffer).setBigUint64(i * 8, x, false));
      return b;
    };
    const n = theirs.indexes.length;
    replaceTopFields(s, parts, [{ ...parts[0].field }, { ...parts[1].field, array_len: n }, { ...parts[2].field, array_len: n }], concatBytes(be32(n), u64s(theirs.indexes), u64s(values)));
    const hex = (xs: bigint[]) => xs.slice(0, 8).map((x) => '0x' + x.toString(16)).join(', ') + (xs.length > 8 ? ', …' : '');
    draft.note({
      rule: this.name,
      subject: sectionLabel(e),
      offset: f.offset,
      action: `coprocessor register lists: ${mine.indexes.length} → ${n} entries (${LENGTH} ${mine.indexes.length} → ${n}, vmdesc array_len too)`,
      details: [
        ...(dropped.length ? [`${dropped.length} registers the target does not have were dropped: ${hex(dropped)}`] : []),
        ...(added.length ? [`${added.length} registers only the target has take the template's values (their reset values): ${hex(added)}`] : []),
        ...identification.map((x) => `identification register ${x} (the target CPU model's constant)`),
      ],
    });
    if (dropped.length) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${dropped.length} coprocessor registers of the source are not carried over (QEMU ${draft.target.release.version} does not have them for this CPU)` });
    if (added.length) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${added.length} coprocessor registers start from the target's reset values` });
    if (identification.length) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${identification.length} identification register${identification.length === 1 ? '' : 's'} read as QEMU ${draft.target.release.version} models the CPU (${identification.join('; ')})` });
    if (frequency) {
      draft.difference({ rule: this.name, subject: sectionLabel(e), what: `CNTFRQ (generic timer frequency) is ${frequency.to} Hz on ${draft.target.machine}, it was ${frequency.from} Hz: a guest that read it at boot keeps timing with the old frequency (a machine type with the same backcompat-cntfrq keeps it)` });
    }
  },
};
