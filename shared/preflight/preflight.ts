import { fieldPaths } from '../edit/field-path';
import { readBytes } from '../io/byte-source';
import { describeSection, type StreamElement } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import type { QemuCommand } from '../launch/qemu-command';
import { detectFindings } from '../transform/detect';
import { compareVersions, parseMachineType, type QemuRelease } from '../transform/releases';
import type { ImageView, RuleFinding } from '../transform/rule';
import { compressRule, mappedRamToInlineRule } from '../transform/rules/ram';
import { schemaFindings } from './schema-checks';
import type { VmstateSchema } from './vmstate-schema';

/**
 * `migwb preflight`: will this QEMU load this image with the command line qemu-args
 * builds, and if not, what is the first error QEMU prints? Predicted without running the
 * guest, in QEMU's own order:
 *
 * 1. start-up: the machine type and every -device driver and property must exist in the
 *    binary (its `-machine help` and `-device help`);
 * 2. the capabilities set over QMP before the load must be ones the release accepts;
 * 3. the stream, in file order: the transform rules' detectors (the same rows
 *    `migwb transform` applies, each citing QEMU's error) and the target's
 *    `-dump-vmstate` schema (section versions, subsections).
 *
 * Every predicted failure names its section, field and offset and what fixes it.
 */
export interface PreflightTarget {
  /** The emulator's name as QEMU prefixes its stderr lines ("qemu-system-x86_64"). */
  program: string;
  /** "7.2.22" */
  version: string;
  /** The release row of the transform rules, when the version is one they know. */
  release?: QemuRelease;
  /** The machine types the binary offers and its aliases ("pc" → "pc-i440fx-7.2"). */
  machines?: { types: ReadonlySet<string>; aliases: ReadonlyMap<string, string> };
  /** The binary's -device drivers and their properties. */
  devices?: { drivers: ReadonlySet<string>; properties(driver: string): ReadonlySet<string> | undefined };
  schema?: VmstateSchema;
}

export type PreflightStage = 'start' | 'capabilities' | 'stream';

export interface PredictedFailure {
  stage: PreflightStage;
  /** The transform rule or preflight check that predicts it. */
  check: string;
  section?: string;
  field?: string;
  /** Stream offset (see fileOffset for the file). */
  offset?: number;
  fileOffset?: number;
  reason: string;
  /** What QEMU prints, first line first, as it prints it (stderr lines with the program prefix; a QMP error as QMP returns it). */
  qemuLines: string[];
  /** What makes it load: a transform, another machine type or QEMU, or nothing known. */
  fix: string;
  /** No edit of the image makes this target load it. */
  blocker: boolean;
}

export interface PreflightResult {
  loads: boolean;
  /** The machine type the command line runs (aliases resolved). */
  machine: string;
  /** QEMU's first error line, when it refuses the image. */
  firstError?: string;
  /** Every failure found, in the order QEMU meets them; QEMU stops at the first. */
  failures: PredictedFailure[];
  /** Lines QEMU prints although it loads the image. */
  notices: string[];
  /** What the prediction could not take into account. */
  limits: string[];
}

export interface PreflightInput {
  image: ImageView;
  command: QemuCommand;
  target: PreflightTarget;
  /** File offset holding a stream offset, when the stream is stored as is. */
  fileOffset?(streamOffset: number): number | undefined;
  /** How the user names the image in a suggested command. */
  imageName: string;
}

export function preflight(input: PreflightInput): PreflightResult {
  const { image, command, target } = input;
  const limits: string[] = [];
  const machine = target.machines?.aliases.get(command.machineType) ?? command.machineType;
  const failures: PredictedFailure[] = [];
  const say = (line: string) => `${target.program}: ${line}`;
  const transformCommand = (m: string) => `migwb transform ${input.imageName} --to qemu-${target.release?.version ?? target.version.split('.').slice(0, 2).join('.')} --machine ${m} -o OUT`;

  const findings = target.release ? detectFindings(image, { release: target.release, machine, capabilities: command.capabilities }) : [];
  if (!target.release) limits.push(`QEMU ${target.version} is not a release the transform rules know; the prediction uses its machine and device lists and its vmstate schema only`);
  if (!target.schema) limits.push('no vmstate schema of the target: section versions and subsections were not compared');

  // 1. start-up
  const machineFinding = findings.find((f) => f.subject === 'machine' && f.qemuError);
  if (machineFinding) {
    failures.push(fromFinding(machineFinding, 'start', say, input, transformCommand));
  } else if (target.machines && !target.machines.types.has(machine)) {
    failures.push({ stage: 'start', check: 'machine-type-known', reason: `QEMU ${target.version} has no machine type ${machine}`, qemuLines: [say('unsupported machine type'), 'Use -machine help to list supported machines'], fix: 'pick a machine type of the target with --machine (migwb transform then makes the image fit it)', blocker: false });
  }
  if (target.devices) failures.push(...deviceFailures(command, target, say));
  else limits.push('the target binary was not asked for its devices: -device drivers and properties were not checked');

  // 2. capabilities, set over QMP before migrate-incoming
  if (target.release) {
    for (const cap of command.capabilities) {
      if (target.release.capabilities.includes(cap)) continue;
      const rule = CAPABILITY_RULES[cap];
      failures.push({
        stage: 'capabilities',
        check: 'capability-known',
        section: 'configuration',
        reason: `the stream needs capability ${cap}, which QEMU ${target.release.version} does not have`,
        qemuLines: [`Parameter 'capability' does not accept value '${cap}'`],
        fix: rule ? `${transformCommand(machine)} (rule ${rule}: the stream then no longer needs ${cap})` : `no transform removes the need for ${cap}`,
        blocker: !rule,
      });
      break;
    }
  }

  // 3. the stream, in the order the loader reads it
  const stream = [
    ...findings.filter((f) => f.qemuError && f.subject !== 'machine').map((f) => fromFinding(f, 'stream', say, input, transformCommand)),
    ...(target.schema ? schemaFindings(image, target.schema).map((f) => fromFinding(f, 'stream', say, input, transformCommand)) : []),
  ].sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
  failures.push(...stream);

  const first = failures[0];
  return {
    loads: !first,
    machine,
    firstError: first?.qemuLines[0],
    failures,
    notices: first ? [] : loadNotices(image, machine, say),
    limits,
  };
}

/** Which transform rule makes a capability unnecessary. */
const CAPABILITY_RULES: Readonly<Record<string, string>> = {
  compress: compressRule.name,
  'mapped-ram': mappedRamToInlineRule.name,
};

/** Lines QEMU's stderr gets from a rule finding: the first with the program prefix, as QEMU prints error_report lines. */
function fromFinding(f: RuleFinding, stage: PreflightStage, say: (l: string) => string, input: PreflightInput, transformCommand: (m: string) => string): PredictedFailure {
  const lines = (f.qemuError ?? []).map((l) => (l.startsWith('Use -machine help') ? l : say(l)));
  const where = locate(input, f.offset, f.subject);
  return {
    stage,
    check: f.rule,
    section: where.section,
    field: where.field,
    offset: f.offset,
    fileOffset: input.fileOffset?.(f.offset),
    reason: f.reason,
    qemuLines: lines,
    fix: f.blocker ? `no edit makes this QEMU load it: ${f.blocker.closest}` : `${transformCommand(input.command.machineType)} (rule ${f.rule})`,
    blocker: !!f.blocker,
  };
}

/** The section and the innermost decoded field holding a stream offset. */
function locate(input: PreflightInput, offset: number, subject: string): { section?: string; field?: string } {
  const e = sectionAt(input.image.model.elements, offset);
  if (!e || (e.type !== 'FULL' && e.type !== 'CONFIGURATION')) return { section: subject };
  const section = e.type === 'CONFIGURATION' ? 'configuration' : describeSection(e);
  // A finding at the section's start concerns the section, not its first field.
  const payload = e.type === 'CONFIGURATION' ? e.offset + 1 : e.payloadOffset;
  if (payload === undefined || offset <= payload) return { section };
  let field: string | undefined;
  let best = Infinity;
  for (const { path, node } of fieldPaths(decodeSection(input.image.source, input.image.model, e).nodes)) {
    if (node.offset <= offset && offset < node.offset + node.size && node.size < best) {
      best = node.size;
      field = path;
    }
  }
  return { section, field };
}

function sectionAt(elements: readonly StreamElement[], offset: number): StreamElement | undefined {
  return elements.find((e) => e.offset <= offset && offset < e.offset + e.length);
}

function deviceFailures(command: QemuCommand, target: PreflightTarget, say: (l: string) => string): PredictedFailure[] {
  const out: PredictedFailure[] = [];
  const devices = target.devices!;
  for (let i = 0; i < command.argv.length - 1; i++) {
    if (command.argv[i] !== '-device') continue;
    const option = command.argv[i + 1];
    // QemuOpts: "a=b,c=d", a comma inside a value doubled.
    const [driver, ...props] = option.replace(/,,/g, '\0').split(',').map((p) => p.replace(/\0/g, ','));
    if (!devices.drivers.has(driver)) {
      out.push({ stage: 'start', check: 'device-known', section: undefined, reason: `this QEMU ${target.version} build has no ${driver} device`, qemuLines: [say(`-device ${option}: '${driver}' is not a valid device model name`)], fix: `use a QEMU build that has ${driver}`, blocker: true });
      break;
    }
    const known = devices.properties(driver);
    const missing = props.map((p) => p.slice(0, p.indexOf('='))).find((name) => name !== 'id' && name !== 'bus' && known && !known.has(name));
    if (missing) {
      out.push({ stage: 'start', check: 'device-property-known', reason: `${driver} of QEMU ${target.version} has no property ${missing}, which the image's state needs`, qemuLines: [say(`-device ${option}: Property '${driver}.${missing}' not found`)], fix: `use a QEMU whose ${driver} has ${missing}`, blocker: true });
      break;
    }
  }
  return out;
}

/**
 * What QEMU prints on a successful load: a stream without a vmdesc, read by a machine
 * type that expects one, makes qemu_loadvm_state print the byte it found instead (the
 * load still succeeds: "It doesn't seem worth failing").
 */
function loadNotices(image: ImageView, machine: string, say: (l: string) => string): string[] {
  const m = image.model;
  const version = parseMachineType(machine).version;
  const suppressing = version !== undefined && compareVersions(version, '2.3') < 0;
  if (m.vmdescLocation || suppressing || !m.sawEof) return [];
  // QEMU reads one byte after QEMU_VM_EOF; at the end of the stream qemu_get_byte gives 0.
  const next = m.trailing ? readBytes(image.source, m.trailing.offset, 1)[0] ?? 0 : 0;
  return [say(`Expected vmdescription section, but got ${next}`)];
}
