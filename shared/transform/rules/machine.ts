import { hex } from '../../diagnostics';
import { SectionType } from '../../formats/qemu-stream/constants';
import type { StreamElement } from '../../formats/qemu-stream/model';
import { compareVersions, oldestMachine, parseMachineType, releaseHasMachine, QEMU_RELEASES } from '../releases';
import type { ImageView, LastIndexStyle, RuleFinding, TransformRule } from '../rule';
import { lastIndexStyle } from '../vmdesc-index';
import { finding, machineVersionAtLeast } from './helpers';

/**
 * The machine type and the stream framing around it: the name in CONFIGURATION, machine
 * types a release no longer has, QEMU 10's SWITCHOVER_START command and the vmdesc's
 * "configuration" object.
 */

export const machineTypeRule: TransformRule = {
  name: 'machine-type',
  description: 'The loader compares the machine type name in CONFIGURATION with its own -M; the name is rewritten to the target machine type.',
  cites: [{ source: 'migration/savevm.c configuration_post_load ("Machine type received is … and local is …")' }],
  kind: 'required',
  detect(image, target) {
    const config = image.model.configuration;
    const machine = image.model.machineType;
    if (!config || machine === undefined || machine === target.machine) return [];
    return [
      finding(this, {
        subject: 'CONFIGURATION',
        // configuration_post_load runs after the configuration's subsections were read.
        offset: config.offset + config.length - 1,
        reason: `the image was saved with machine type ${machine}; the target runs ${target.machine}`,
        qemuError: [`Machine type received is '${machine}' and local is '${target.machine}'`, 'load of migration failed: Invalid argument'],
        detail: { from: machine, to: target.machine },
      }),
    ];
  },
  apply(draft, f) {
    const { from, to } = f.detail as { from: string; to: string };
    draft.setMachine(to);
    draft.note({ rule: this.name, subject: 'CONFIGURATION', offset: draft.image.model.configuration!.offset, action: `machine type ${from} → ${to} (be32 length and name)` });
    const a = parseMachineType(from).version;
    const b = parseMachineType(to).version;
    if (a && b && a !== b) {
      draft.difference({ rule: this.name, subject: 'machine', what: `the devices behave as ${to} defines them: the hw_compat properties between ${compareVersions(a, b) < 0 ? `${a} and ${b}` : `${b} and ${a}`} ${compareVersions(a, b) < 0 ? 'no longer apply' : 'now apply'} (the other rules carry what the stream must show of them)` });
    }
  },
};

/**
 * Machine types the target does not offer, and streams from machine types so old that
 * the target's oldest one expects framing they lack (≤ 2.3: no section footers, no
 * CONFIGURATION; hw_compat_2_3). No edit makes those load; the plan names where they do.
 */
export const unavailableMachineRule: TransformRule = {
  name: 'unavailable-machine-type',
  description: 'The target QEMU does not offer the machine type (removed, or of a family it does not build); nothing is written and the plan names a target that loads the image.',
  cites: [
    { source: 'hw/i386/pc_piix.c, hw/i386/pc_q35.c, hw/arm/virt.c DEFINE_*_MACHINE (the versioned machine types a release registers)' },
    { source: 'migration/savevm.c check_section_footer, qemu_loadvm_state_header ("Configuration section missing")', compat: 'hw_compat_2_3: migration send-section-footer=off, send-configuration=off' },
  ],
  kind: 'required',
  detect(image, target) {
    const out: RuleFinding[] = [];
    if (!releaseHasMachine(target.release, target.machine)) {
      out.push(
        finding(this, {
          subject: 'machine',
          offset: 0,
          reason: `QEMU ${target.release.version} has no machine type ${target.machine}`,
          // QEMU 7.2 prints the bare message; 10.0 names the type (measured with both).
          qemuError: [compareVersions(target.release.version, '10.0') >= 0 ? `unsupported machine type: "${target.machine}"` : 'unsupported machine type', 'Use -machine help to list supported machines'],
          blocker: { closest: closestHost(target.machine, image) },
        }),
      );
      return out;
    }
    const legacy = legacyFraming(image);
    const m = parseMachineType(target.machine);
    if (legacy && m.version && compareVersions(m.version, '2.4') >= 0) {
      const first = image.model.elements.find((e) => e.type === 'START' || e.type === 'FULL');
      out.push(
        finding(this, {
          subject: 'stream',
          offset: 8,
          reason: `the stream has ${legacy}, so it was saved with a machine type of version 2.3 or older; ${target.machine} expects both, and QEMU ${target.release.version}'s oldest ${m.family?.name ?? ''} machine type is ${oldestMachine(target.release, target.machine) ?? 'newer'}`,
          qemuError: image.model.configuration ? [`Missing section footer for ${first?.idstr ?? 'ram'}`, 'load of migration failed: Invalid argument'] : ['Configuration section missing', 'load of migration failed: Invalid argument'],
          blocker: { closest: closestHost(image.model.machineType ?? 'pc-i440fx-2.3', image) },
        }),
      );
    }
    return out;
  },
  apply() {
    // Blockers are never applied: the transform stops before writing anything.
  },
};

/** "no section footers and no CONFIGURATION" when the stream has the ≤ 2.3 framing. */
function legacyFraming(image: ImageView): string | undefined {
  const m = image.model;
  const hasSections = m.elements.some((e) => e.type === 'FULL' || e.type === 'START');
  if (!hasSections || m.sectionFooters) return undefined;
  return m.configuration ? 'no section footers' : 'no section footers and no CONFIGURATION';
}

/** The known release that offers a machine type (the image's own one loads there unchanged). */
function closestHost(machine: string, image: ImageView): string {
  const host = [...QEMU_RELEASES].reverse().find((r) => releaseHasMachine(r, machine));
  const name = image.model.machineType ?? machine;
  return host ? `${host.id} with -M ${name}` : `a QEMU release that still offers ${name}`;
}

export const switchoverStartRule: TransformRule = {
  name: 'switchover-start',
  description:
    'QEMU 10.0 machine types send QEMU_VM_COMMAND SWITCHOVER_START (08 000b 0000) before the END sections; older loaders reject the unknown command. It is dropped for them and inserted for 10.x machine types.',
  changedIn: { since: '10.0', keyedBy: 'machine-type' },
  cites: [
    { source: 'migration/savevm.c qemu_savevm_maybe_send_switchover_start, loadvm_process_command ("MIG_CMD 0x%x unknown (len 0x%x)")', compat: 'hw_compat_9_2: migration send-switchover-start=off' },
  ],
  kind: 'required',
  detect(image, target) {
    const commands = image.model.elements.filter((e) => e.type === 'COMMAND' && e.cmd === SWITCHOVER_START);
    if (commands.length && target.release.maxCommand < SWITCHOVER_START) {
      return commands.map((e) =>
        finding(this, {
          subject: 'COMMAND',
          offset: e.offset,
          reason: `QEMU ${target.release.version} does not know command ${SWITCHOVER_START} (SWITCHOVER_START)`,
          qemuError: [`MIG_CMD 0x${SWITCHOVER_START.toString(16)} unknown (len 0x${(e.dataLength ?? 0).toString(16)})`, 'load of migration failed: Invalid argument'],
          detail: { action: 'drop', offset: e.offset },
        }),
      );
    }
    const sends = target.release.maxCommand >= SWITCHOVER_START && machineVersionAtLeast(target.machine, '10.0');
    if (!sends && commands.length) {
      // The target knows the command but its machine type would not send it: drop it so the image looks native.
      return commands.map((e) => finding(this, { subject: 'COMMAND', offset: e.offset, reason: `${target.machine} does not send SWITCHOVER_START (send-switchover-start=off)`, detail: { action: 'drop', offset: e.offset } }));
    }
    const firstEnd = image.model.elements.find((e) => e.type === 'END');
    if (sends && commands.length === 0 && firstEnd) {
      return [finding(this, { subject: 'COMMAND', offset: firstEnd.offset, reason: `${target.machine} sends SWITCHOVER_START before the END sections`, detail: { action: 'insert', offset: firstEnd.offset } })];
    }
    return [];
  },
  apply(draft, f) {
    const { action, offset } = f.detail as { action: 'drop' | 'insert'; offset: number };
    const element = elementAt(draft.image.model.elements, offset);
    if (action === 'drop') {
      draft.dropElement(element);
      draft.note({ rule: this.name, subject: 'COMMAND', offset, action: `dropped QEMU_VM_COMMAND SWITCHOVER_START (5 bytes at ${hex(offset)})` });
    } else {
      draft.insertBefore(element, Uint8Array.of(SectionType.COMMAND, 0x00, SWITCHOVER_START, 0x00, 0x00), 'QEMU_VM_COMMAND SWITCHOVER_START');
      draft.note({ rule: this.name, subject: 'COMMAND', offset, action: `inserted QEMU_VM_COMMAND SWITCHOVER_START (08 000b 0000) before the first END section at ${hex(offset)}` });
    }
  },
};

const SWITCHOVER_START = 11;

export const vmdescConfigurationRule: TransformRule = {
  name: 'vmdesc-configuration',
  description: 'QEMU 10.0 describes the CONFIGURATION section at the head of the vmdesc ("configuration": {…}); 7.2 does not. The loader ignores the vmdesc; the object is dropped or added so the image reads as the target writes it.',
  changedIn: { since: '10.0', keyedBy: 'release' },
  cites: [{ source: 'migration/savevm.c qemu_savevm_state_header (json_writer_start_object "configuration")' }],
  kind: 'cosmetic',
  detect(image, target) {
    const v = image.model.vmdesc;
    const loc = image.model.vmdescLocation;
    if (!v || !loc || !image.model.configuration) return [];
    const wants = compareVersions(target.release.version, '10.0') >= 0;
    const has = v.configuration !== undefined;
    if (wants === has) return [];
    return [finding(this, { subject: 'vmdesc', offset: loc.offset, reason: wants ? `QEMU ${target.release.version} describes the configuration in the vmdesc` : `QEMU ${target.release.version} writes no "configuration" in the vmdesc`, detail: { mode: wants ? 'add' : 'drop' } })];
  },
  apply(draft, f) {
    const { mode } = f.detail as { mode: 'add' | 'drop' };
    draft.setVmdescConfiguration(mode);
    draft.note({ rule: this.name, subject: 'vmdesc', offset: f.offset, action: mode === 'add' ? '"configuration" object added (as QEMU 10.0 writes it)' : '"configuration" object dropped (QEMU 7.2 writes none)' });
  },
};

export const vmdescLastIndexRule: TransformRule = {
  name: 'vmdesc-last-index',
  description: 'QEMU 7.2 gives every element of an array described in the vmdesc its "index"; 10.0 leaves it off the last element. The loader ignores the vmdesc; the key is dropped or added so the image reads as the target writes it.',
  changedIn: { since: '10.0', keyedBy: 'release' },
  cites: [{ source: 'migration/vmstate.c vmstate_save_vmsd_v → vmsd_desc_field_start (an element is described with "index" when the count passed is above one: 7.2 passes the array length, 10.0 the elements left)' }],
  kind: 'cosmetic',
  detect(image, target) {
    const v = image.model.vmdesc;
    const loc = image.model.vmdescLocation;
    const has = v && lastIndexStyle(v);
    if (!loc || !has) return [];
    const wants: LastIndexStyle = compareVersions(target.release.version, '10.0') >= 0 ? 'not-the-last' : 'every-element';
    if (wants === has) return [];
    return [finding(this, { subject: 'vmdesc', offset: loc.offset, reason: wants === 'not-the-last' ? `QEMU ${target.release.version} describes the last element of an array without "index"` : `QEMU ${target.release.version} describes every element of an array with its "index"`, detail: { mode: wants } })];
  },
  apply(draft, f) {
    const { mode } = f.detail as { mode: LastIndexStyle };
    draft.setVmdescLastIndex(mode);
    draft.note({ rule: this.name, subject: 'vmdesc', offset: f.offset, action: mode === 'not-the-last' ? '"index" dropped from the last element of each array (as QEMU 10.0 writes it)' : '"index" added to the last element of each array (as QEMU 7.2 writes it)' });
  },
};

function elementAt(elements: readonly StreamElement[], offset: number): StreamElement {
  const e = elements.find((x) => x.offset === offset);
  if (!e) throw new Error(`internal: no element at ${offset}`);
  return e;
}
