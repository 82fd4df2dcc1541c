import { EditError } from '../edit/errors';
import { fullSections, sectionLabel } from '../edit/sections';
import { compareVersions, compatMachine, MACHINE_FAMILIES, newestMachine, parseMachineType, QEMU_RELEASES, releaseById, releaseHasMachine, type QemuRelease } from './releases';
import type { ImageView, TransformTarget } from './rule';
import { TRANSFORM_RULES } from './rules';

/** What the user asked for (`migwb transform --to --machine --template`, or the app's dialog). */
export interface TransformRequest {
  /** "qemu-7.2", "qemu-10.0" (or "7.2"). May be left out with a template, whose release is then used. */
  to?: string;
  /**
   * The target machine type: a versioned name ("pc-i440fx-7.2"), a family ("pc", "q35",
   * "virt": the release's newest), "newest", or "compat" (the default: the image's own
   * machine type where the target still offers it).
   */
  machine?: string;
  /** A native image of the target with the same configuration. */
  template?: ImageView;
  templatePath?: string;
  /** Normalising rules to run as well, by name ("xbzrle-to-page", "inline-to-mapped-ram"). */
  options?: string[];
}

/** Turns a request into a target, or a one-line EditError saying what is wrong with it. */
export function resolveTarget(image: ImageView, request: TransformRequest): TransformTarget {
  const template = request.template;
  const release = targetRelease(request);
  const machine = targetMachine(image, request, release);
  if (template) checkTemplate(image, template, release, machine, request.templatePath ?? 'the template');
  const options = request.options ?? [];
  const optional = TRANSFORM_RULES.filter((r) => r.kind === 'normalise').map((r) => r.name);
  for (const o of options) if (!optional.includes(o)) throw new EditError(`unknown transform option "${o}"; the options are ${optional.join(', ') || 'none'}`);
  return { release, machine, template, options, capabilities: undefined };
}

function targetRelease(request: TransformRequest): QemuRelease {
  if (request.to !== undefined) {
    const release = releaseById(request.to.trim());
    if (!release) throw new EditError(`unknown target "${request.to}": use --to ${QEMU_RELEASES.map((r) => r.id).join(' or --to ')}, or give a --template saved by the target QEMU`);
    return release;
  }
  if (request.template) return templateRelease(request.template);
  throw new EditError(`give the target with --to ${QEMU_RELEASES.map((r) => r.id).join('|')} (or a --template saved by the target QEMU)`);
}

/**
 * The release a template was saved by: a known one when its machine type belongs to one,
 * else a release of the template's own version with the newest known release's abilities
 * (the rules then treat it like that one, and the template supplies the layouts).
 */
function templateRelease(template: ImageView): QemuRelease {
  const machine = template.model.machineType;
  const version = machine ? parseMachineType(machine).version : undefined;
  if (!version) throw new EditError('the template does not record a versioned machine type, so its QEMU release is unknown; give --to');
  const known = QEMU_RELEASES.find((r) => r.version === version);
  if (known) return known;
  const newest = [...QEMU_RELEASES].sort((a, b) => compareVersions(a.version, b.version)).at(-1)!;
  if (compareVersions(version, newest.version) < 0) throw new EditError(`the template was saved with ${machine}; give --to for its QEMU release (${QEMU_RELEASES.map((r) => r.id).join(', ')})`);
  const family = parseMachineType(machine!).family!;
  const commands = template.model.elements.filter((e) => e.type === 'COMMAND').map((e) => e.cmd ?? 0);
  return {
    ...newest,
    id: `qemu-${version}`,
    version,
    machines: { versions: { ...newest.machines.versions, [family.name]: { oldest: newest.machines.versions[family.name]?.oldest ?? version, newest: version } } },
    maxCommand: Math.max(newest.maxCommand, ...commands),
  };
}

function targetMachine(image: ImageView, request: TransformRequest, release: QemuRelease): string {
  const own = image.model.machineType;
  const asked = request.machine?.trim();
  let machine: string | undefined;
  if (!asked || asked === 'compat') machine = request.template?.model.machineType ?? (own ? compatMachine(release, own) : undefined);
  else if (asked === 'newest') machine = own ? newestMachine(release, own) : undefined;
  else if (release.machines.versions[asked]) machine = parseMachineTypeFamily(asked) + release.machines.versions[asked].newest;
  else machine = asked;
  if (!machine) {
    throw new EditError(own ? `QEMU ${release.version} has no machine type of the family of ${own}` : 'the image does not record its machine type (it has no CONFIGURATION); give the target machine type with --machine');
  }
  const m = parseMachineType(machine);
  const o = own ? parseMachineType(own) : undefined;
  if (o?.family && m.family && o.family !== m.family) {
    if (!asked && request.template) throw new EditError(`the template was saved with ${machine}, a ${m.family.name} machine, the image with ${own}, a ${o.family.name} machine: it is not an image of the same configuration`);
    throw new EditError(`${machine} is a ${m.family.name} machine, the image is a ${o.family.name} machine (${own}); choose a ${o.family.prefix}* machine type`);
  }
  if (o?.family && !m.family && machine !== own) throw new EditError(`"${machine}" is not a machine type of the ${o.family.name} family; use ${o.family.prefix}X.Y, ${o.family.name}, newest or compat`);
  if (!o?.family && own && machine !== own && !releaseHasMachine(release, machine)) throw new EditError(`unknown machine type "${machine}"`);
  return machine;
}

/** "pc" → "pc-i440fx-": the versioned prefix of a family alias. */
function parseMachineTypeFamily(alias: string): string {
  return MACHINE_FAMILIES.find((f) => f.name === alias)?.prefix ?? `${alias}-`;
}

/**
 * A template must be a native image of the target: saved by the target release with the
 * target machine type, of the same configuration (the same RAM blocks and devices).
 */
function checkTemplate(image: ImageView, template: ImageView, release: QemuRelease, machine: string, name: string): void {
  const t = template.model;
  if (t.diagnostics.some((d) => d.severity === 'error')) throw new EditError(`${name} has errors (run "migwb validate" on it); a template must be an intact image`);
  if (!t.machineType) throw new EditError(`${name} does not record its machine type (no CONFIGURATION)`);
  if (t.machineType !== machine) throw new EditError(`${name} was saved with ${t.machineType}, not the target machine type ${machine}; leave out --machine to use the template's`);
  if (!releaseHasMachine(release, t.machineType)) throw new EditError(`${name} was saved with ${t.machineType}, which QEMU ${release.version} does not offer: it is not an image of the target`);
  const tenOrLater = compareVersions(release.version, '10.0') >= 0;
  if (t.vmdesc && t.configuration && (t.vmdesc.configuration !== undefined) !== tenOrLater) {
    throw new EditError(
      tenOrLater
        ? `${name} was not saved by QEMU ${release.version}: its vmdesc has no "configuration", which QEMU 10.0 and later always write (it looks like QEMU 9.x or older)`
        : `${name} was not saved by QEMU ${release.version}: its vmdesc has a "configuration", which only QEMU 10.0 and later write`,
    );
  }
  if (t.elements.some((e) => e.type === 'COMMAND' && (e.cmd ?? 0) > release.maxCommand)) throw new EditError(`${name} was not saved by QEMU ${release.version}: it has migration commands that release does not know`);
  const problems = configurationDifferences(image, template);
  if (problems.length) throw new EditError(`${name} is not an image of the same configuration: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`);
}

/** Sections whose presence depends on the QEMU version or machine type, not on the configuration. */
const VERSION_DEPENDENT_SECTIONS = /(?:^|\/)(?:virtio-mem-device-early)$/;

/** What makes two images different configurations: other RAM blocks or sizes, other devices. */
export function configurationDifferences(image: ImageView, other: ImageView): string[] {
  const out: string[] = [];
  const a = image.model;
  const b = other.model;
  if (a.pageSize !== b.pageSize) out.push(`page size ${b.pageSize}, not ${a.pageSize}`);
  const blocks = new Map(a.ramBlocks.map((x) => [x.id, x.usedLength]));
  for (const x of b.ramBlocks) {
    const mine = blocks.get(x.id);
    if (mine === undefined) out.push(`it has RAM block ${x.id}, the image does not`);
    else if (mine !== x.usedLength) out.push(`RAM block ${x.id} is ${x.usedLength} bytes there and ${mine} here`);
    blocks.delete(x.id);
  }
  for (const id of blocks.keys()) out.push(`the image has RAM block ${id}, it does not`);
  const sections = (m: typeof a) => new Set(fullSections(m).filter((e) => !VERSION_DEPENDENT_SECTIONS.test(e.idstr ?? '')).map(sectionLabel));
  const mine = sections(a);
  const theirs = sections(b);
  const devices = (labels: Set<string>) => new Set([...labels].filter((l) => /^[0-9a-f]{4}:[0-9a-f]{2}:/.test(l)));
  for (const l of devices(theirs)) if (!mine.has(l)) out.push(`it has device ${l}, the image does not`);
  for (const l of devices(mine)) if (!theirs.has(l)) out.push(`the image has device ${l}, it does not`);
  return out;
}
