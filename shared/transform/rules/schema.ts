import { fullSections, sectionLabel } from '../../edit/sections';
import type { StreamElement } from '../../formats/qemu-stream/model';
import type { VmdescDescribed, VmdescField } from '../../formats/qemu-stream/vmdesc';
import { compareVersions, type ReleaseVersion } from '../releases';
import type { ImageView, RuleFinding, TransformRule, TransformTarget } from '../rule';
import { dropSubsection, fieldBytes, replaceTopField, replaceTopFields, sectionLayout, topField } from '../section-layout';
import { finding, machineVersionAtLeast } from './helpers';

/**
 * Field-level schema differences between releases, found by diffing the two releases'
 * `-dump-vmstate` schemas (and QEMU's vmstate-static-checker.py output between them):
 * layouts that changed, fields renamed with the same bytes, subsections only the newer
 * release knows.
 */

const atLeast = (target: TransformTarget, since: ReleaseVersion) => compareVersions(target.release.version, since) >= 0;

function sectionsByVmsd(image: ImageView, vmsd: string): StreamElement[] {
  return fullSections(image.model).filter((e) => e.deviceIndex !== undefined && image.model.vmdesc?.devices[e.deviceIndex]?.vmsd_name === vmsd);
}

// ------------------------------------------------------------------ globalstate

const RUNSTATE_OLD = 100;
const RUNSTATE_NEW = 32;

export const globalstateRule: TransformRule = {
  name: 'globalstate-runstate',
  description:
    'QEMU 8.2 cut globalstate.runstate from 100 to 32 bytes and put has_vm_was_suspended, vm_was_suspended and 66 unused bytes in the rest (same 104 bytes). The bytes and the vmdesc are rewritten to the target layout; a newer target gets has_vm_was_suspended=1 as it writes it.',
  changedIn: { since: '8.2', keyedBy: 'release' },
  cites: [{ source: 'migration/global_state.c vmstate_globalstate, global_state_do_store (runstate[32], has_vm_was_suspended, vm_was_suspended, unused[66])' }],
  kind: 'cosmetic',
  detect(image, target) {
    const out: RuleFinding[] = [];
    for (const e of sectionsByVmsd(image, 'globalstate')) {
      const entry = image.model.vmdesc!.devices[e.deviceIndex!];
      const runstate = entry.fields?.find((f) => f.name === 'runstate');
      const wantsNew = atLeast(target, '8.2');
      if (runstate?.size === RUNSTATE_OLD && wantsNew) out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: `QEMU ${target.release.version} writes runstate[32] + has_vm_was_suspended + vm_was_suspended`, detail: { to: 'split' } }));
      if (runstate?.size === RUNSTATE_NEW && !wantsNew) out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: `QEMU ${target.release.version} writes runstate[100]`, detail: { to: 'merge' } }));
    }
    return out;
  },
  apply(draft, f) {
    const e = fullSections(draft.image.model).find((x) => x.offset === f.offset)!;
    const s = draft.section(e);
    const runstate = topField(s, 'runstate');
    if (!runstate) return;
    const bytes = fieldBytes(s, runstate);
    const name = String.fromCharCode(...bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0)));
    if ((f.detail as { to: string }).to === 'split') {
      const out = new Uint8Array(RUNSTATE_OLD);
      out.set(bytes.subarray(0, RUNSTATE_NEW));
      out[RUNSTATE_NEW] = 1;
      out[RUNSTATE_NEW + 1] = name === 'suspended' ? 1 : 0;
      replaceTopField(s, runstate, [
        { name: 'runstate', type: 'buffer', size: RUNSTATE_NEW },
        { name: 'has_vm_was_suspended', type: 'uint8', size: 1 },
        { name: 'vm_was_suspended', type: 'uint8', size: 1 },
        { name: 'unused', type: 'buffer', size: RUNSTATE_OLD - RUNSTATE_NEW - 2 },
      ], out);
      draft.note({ rule: this.name, subject: 'globalstate', offset: e.offset, action: `runstate[100] "${name}" → runstate[32] + has_vm_was_suspended=1 + vm_was_suspended=${out[RUNSTATE_NEW + 1]} + unused[66]` });
    } else {
      const parts = sectionLayout(s).fields.slice(runstate.index, runstate.index + 4);
      const suspended = s.payload[runstate.offset + RUNSTATE_NEW] === 1 && s.payload[runstate.offset + RUNSTATE_NEW + 1] === 1;
      const out = new Uint8Array(RUNSTATE_OLD);
      out.set(bytes.subarray(0, RUNSTATE_NEW));
      replaceTopFields(s, parts, [{ name: 'runstate', type: 'buffer', size: RUNSTATE_OLD }], out);
      draft.note({ rule: this.name, subject: 'globalstate', offset: e.offset, action: `runstate[32] "${name}" + has_vm_was_suspended + vm_was_suspended + unused[66] → runstate[100]` });
      if (suspended) draft.difference({ rule: this.name, subject: 'globalstate', what: `the guest was suspended (S3) when saved; QEMU ${draft.target.release.version} does not carry vm_was_suspended, so it resumes as "${name}" says` });
    }
  },
};

// ------------------------------------------------------------------ renames (same bytes)

interface FieldRename {
  vmsd: string;
  /** The field's name (and vmdesc type) before and after. */
  from: string;
  to: string;
  fromType?: string;
  toType?: string;
  since: ReleaseVersion;
  source: string;
}

/**
 * Fields a release renamed or retyped without changing their bytes (the loader does not
 * care; the vmdesc then describes them as the target does).
 */
export const FIELD_RENAMES: readonly FieldRename[] = [
  { vmsd: 'hpet', from: 'num_timers', to: 'num_timers_save', since: '10.0', source: 'hw/timer/hpet.c vmstate_hpet (VMSTATE_UINT8_V(num_timers_save, HPETState, 2), "num_timers must match")' },
  { vmsd: 'ahci', from: 'ports', to: 'ports', fromType: 'int32 equal', toType: 'uint32 equal', since: '10.0', source: 'hw/ide/ahci.c vmstate_ahci (ports: VMSTATE_INT32_EQUAL → VMSTATE_UINT32_EQUAL, same 4 bytes)' },
];

export const fieldRenameRule: TransformRule = {
  name: 'field-renames',
  description: 'Fields a release renamed or retyped without changing their bytes (hpet num_timers → num_timers_save, ahci ports int32 → uint32). The vmdesc describes them as the target does.',
  cites: FIELD_RENAMES.map((r) => ({ source: r.source })),
  kind: 'cosmetic',
  detect(image, target) {
    const out: RuleFinding[] = [];
    for (const r of FIELD_RENAMES) {
      const up = atLeast(target, r.since);
      const [from, to] = up ? [r.from, r.to] : [r.to, r.from];
      const [fromType, toType] = up ? [r.fromType, r.toType] : [r.toType, r.fromType];
      for (const e of fullSections(image.model)) {
        const entry = e.deviceIndex !== undefined ? image.model.vmdesc?.devices[e.deviceIndex] : undefined;
        const fields = entry ? findRenamable(entry, r.vmsd, from).filter((f) => fromType === undefined || f.type === fromType) : [];
        if (fields.length) {
          const what = fromType ? `${r.vmsd}.${from} ${fromType} → ${toType}` : `${r.vmsd}.${from} → ${to}`;
          out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: `QEMU ${target.release.version} describes ${what}`, detail: { vmsd: r.vmsd, from, to, fromType: fromType ?? null, toType: toType ?? null } }));
        }
      }
    }
    return out;
  },
  apply(draft, f) {
    const { vmsd, from, to, fromType, toType } = f.detail as { vmsd: string; from: string; to: string; fromType: string | null; toType: string | null };
    const e = fullSections(draft.image.model).find((x) => x.offset === f.offset)!;
    const s = draft.section(e);
    for (const field of findRenamable(s.entry!, vmsd, from).filter((x) => fromType === null || x.type === fromType)) {
      field.name = to;
      if (toType) field.type = toType;
    }
    draft.note({ rule: this.name, subject: sectionLabel(e), offset: e.offset, action: fromType ? `vmdesc: ${vmsd}.${from} typed ${toType} (was ${fromType}; same bytes)` : `vmdesc: ${vmsd}.${from} renamed ${to} (same bytes)` });
  },
};

/** Fields named `name` directly in a struct of vmsd `vmsd` (the device itself or a nested struct). */
function findRenamable(s: VmdescDescribed, vmsd: string, name: string): VmdescField[] {
  const out: VmdescField[] = [];
  if (s.vmsd_name === vmsd) out.push(...(s.fields ?? []).filter((f) => f.name === name));
  for (const f of s.fields ?? []) if (f.struct) out.push(...findRenamable(f.struct, vmsd, name));
  for (const sub of s.subsections ?? []) out.push(...findRenamable(sub, vmsd, name));
  return out;
}

// ------------------------------------------------------------------ subsections the older release does not know

interface NewSubsection {
  vmsd: string;
  subsection: string;
  since: ReleaseVersion;
  source: string;
  /** What the target loses when it is dropped. */
  loses: string;
}

export const NEW_SUBSECTIONS: readonly NewSubsection[] = [
  { vmsd: 'i8259', subsection: 'i8259/ltim', since: '10.0', source: 'hw/intc/i8259_common.c vmstate_pic_ltim (needed when the chip is level triggered as a whole)', loses: 'the PIC\'s whole-chip level-triggered mode (ltim)' },
  { vmsd: 'acpi-ged', subsection: 'acpi-ged/cpuhp', since: '10.0', source: 'hw/acpi/generic_event_device.c vmstate_cpuhp_state (CPU hotplug state)', loses: 'the ACPI CPU hotplug state' },
];

export const newSubsectionRule: TransformRule = {
  name: 'unknown-subsections',
  description: 'Subsections a newer release sends only when needed (i8259/ltim, acpi-ged/cpuhp); an older loader rejects a subsection it does not know, so they are dropped and the plan says what the target loses.',
  cites: [{ source: 'migration/vmstate.c vmstate_subsection_load (an unknown subsection fails the load)' }, ...NEW_SUBSECTIONS.map((n) => ({ source: n.source }))],
  kind: 'required',
  detect(image, target) {
    const out: RuleFinding[] = [];
    for (const n of NEW_SUBSECTIONS) {
      if (atLeast(target, n.since)) continue;
      for (const e of fullSections(image.model)) {
        const entry = e.deviceIndex !== undefined ? image.model.vmdesc?.devices[e.deviceIndex] : undefined;
        if (entry?.subsections?.some((s) => s.vmsd_name === n.subsection)) {
          out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: `QEMU ${target.release.version} does not know subsection ${n.subsection}`, qemuError: [`error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`, 'load of migration failed: No such file or directory'], detail: { subsection: n.subsection, loses: n.loses } }));
        }
      }
    }
    return out;
  },
  apply(draft, f) {
    const { subsection, loses } = f.detail as { subsection: string; loses: string };
    const e = fullSections(draft.image.model).find((x) => x.offset === f.offset)!;
    const s = draft.section(e);
    const t = sectionLayout(s).subsections.find((x) => x.sub.vmsd_name === subsection);
    if (!t) return;
    dropSubsection(s, t);
    draft.note({ rule: this.name, subject: sectionLabel(e), offset: e.offset + t.offset, action: `subsection ${subsection} dropped (${t.size} bytes)` });
    draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${loses} is not carried over; the target keeps its own default` });
  },
};

// ------------------------------------------------------------------ fields a machine type adds

interface AddedField {
  vmsd: string;
  field: VmdescField;
  /** Machine types from this version on send it (a VMSTATE_*_TEST on a compat property). */
  since: ReleaseVersion;
  source: string;
  compat: string;
  /** What the target loses when it is dropped. */
  loses: string;
}

/** Top-level fields a device sends only on newer machine types, appended after its other fields. */
export const ADDED_FIELDS: readonly AddedField[] = [
  { vmsd: 'e1000e', field: { name: 'core.timadj', type: 'uint64', size: 8 }, since: '8.0', source: 'hw/net/e1000e.c e1000e_vmstate (VMSTATE_UINT64_TEST core.timadj, e1000e_migrate_timadj)', compat: 'hw_compat_7_2: e1000e migrate-timadj=off', loses: 'the PTP clock adjustment (TIMADJ)' },
];

export const addedFieldRule: TransformRule = {
  name: 'machine-type-fields',
  description: 'Fields a device sends only on newer machine types (e1000e core.timadj from 8.0 on): appended with the reset value 0 for a newer target, dropped for an older one.',
  changedIn: { since: '8.0', keyedBy: 'machine-type' },
  cites: ADDED_FIELDS.map((a) => ({ source: a.source, compat: a.compat })),
  kind: 'required',
  detect(image, target) {
    const out: RuleFinding[] = [];
    for (const a of ADDED_FIELDS) {
      const wants = machineVersionAtLeast(target.machine, a.since);
      for (const e of sectionsByVmsd(image, a.vmsd)) {
        const fields = image.model.vmdesc!.devices[e.deviceIndex!].fields ?? [];
        const has = fields[fields.length - 1]?.name === a.field.name;
        if (has === wants) continue;
        out.push(
          finding(this, {
            subject: sectionLabel(e),
            offset: e.offset,
            reason: `${target.machine} ${wants ? 'sends' : 'does not send'} ${a.vmsd} ${a.field.name}`,
            qemuError: wants ? [`Missing section footer for ${e.idstr}`, 'load of migration failed: Invalid argument'] : undefined,
            detail: { name: a.field.name, add: wants },
          }),
        );
      }
    }
    return out;
  },
  apply(draft, f) {
    const { name, add } = f.detail as { name: string; add: boolean };
    const a = ADDED_FIELDS.find((x) => x.field.name === name)!;
    const e = fullSections(draft.image.model).find((x) => x.offset === f.offset)!;
    const s = draft.section(e);
    const fields = sectionLayout(s).fields;
    const last = fields[fields.length - 1];
    if (add) {
      replaceTopField(s, last, [last.field, { ...a.field }], new Uint8Array([...fieldBytes(s, last), ...new Uint8Array(a.field.size)]));
      draft.note({ rule: this.name, subject: sectionLabel(e), offset: e.offset, action: `${name} appended (${a.field.size} bytes, 0: its reset value)` });
    } else {
      const value = fieldBytes(s, last);
      replaceTopFields(s, [last], [], new Uint8Array(0));
      draft.note({ rule: this.name, subject: sectionLabel(e), offset: e.offset, action: `${name} dropped (${a.field.size} bytes)` });
      if (value.some((b) => b !== 0)) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${a.loses} is not carried over` });
    }
  },
};

// ------------------------------------------------------------------ device models that report other values

interface ModelDifference {
  vmsd: string;
  /** The release where the device model started to report it. */
  since: ReleaseVersion;
  what: string;
  source: string;
}

/**
 * Values a device model sets differently in the two releases for the same guest-visible
 * state, with no layout change: the transform keeps the image's values (they are the
 * guest's state), and the plan says the target would have set them otherwise.
 */
export const MODEL_DIFFERENCES: readonly ModelDifference[] = [
  {
    vmsd: 'e1000e',
    since: '10.0',
    what: 'the PHY autonegotiation expansion register (PHY reg 6) keeps the value the source saved; QEMU 7.2 sets 0x0004 after link-up, QEMU 10.0 0x0005',
    source: 'hw/net/e1000e_core.c PHY registers (measured: the same configuration saved by 7.2 and 10.0)',
  },
];

export const modelDifferenceRule: TransformRule = {
  name: 'device-model-values',
  description: 'Registers a device model sets differently in the two releases with the same layout (e1000e PHY autonegotiation expansion): nothing is changed, the image keeps the guest\'s state, and the plan says what the target would have set.',
  cites: MODEL_DIFFERENCES.map((m) => ({ source: m.source })),
  kind: 'cosmetic',
  detect(image, target) {
    const out: RuleFinding[] = [];
    const savedByNewer = !!image.model.vmdesc?.configuration;
    for (const m of MODEL_DIFFERENCES) {
      if (savedByNewer === atLeast(target, m.since)) continue;
      for (const e of sectionsByVmsd(image, m.vmsd)) out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: m.what, detail: { what: m.what } }));
    }
    return out;
  },
  apply(draft, f) {
    draft.difference({ rule: this.name, subject: f.subject, what: (f.detail as { what: string }).what });
  },
};
