import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { payloadRange } from '../../shared/formats/qemu-stream/section-decoder';
import { readBytes } from '../../shared/io/byte-source';
import { compatMachine, newestMachine as newestMachineOf, parseMachineType, releaseById } from '../../shared/transform/releases';
import { openImage } from '../../electron/services/open-image';
import { migwb } from './cli';
import { corpusPath, metaOf, qemuCorpusImages } from './corpus';
import { loadInQemu, migrateTo, qemuBinary, saveInQemu, type QemuVersion } from './qemu';

/**
 * The cross-version matrix: every source image (corpus images either QEMU can start, and
 * images made here by both QEMUs) transformed to the other release, in the compat machine
 * type and in the target's newest, then loaded by the real target QEMU and checked.
 */

export interface SourceSpec {
  /** "corpus qemu/x86_64-pc-minimal-paused-16M" or "made 7.2 q35-xhci". */
  id: string;
  image: string;
  version: QemuVersion;
  arch: string;
  /** QEMU arguments after the binary, with -M naming the image's own machine type. */
  args: string[];
  files: string[];
  /** Capabilities a destination enables to load it. */
  capabilities: string[];
  fileUri?: boolean;
  /** Guest memory to read back after loading: the planted payload. */
  payload: { gpa: number; size: number; sha256?: string };
  /** The guest ran before it was saved, so its device state is not the reset state. */
  ran: boolean;
  /** A qcow2 snapshot: transformed with --stream-only. */
  streamOnly?: boolean;
  /** Transform options to use (e.g. --mapped-ram), and how the target then loads it. */
  transformFlags?: string[];
  loadsWithFile?: boolean;
}

export interface CellPlan {
  target: QemuVersion;
  machine: string;
}

export interface CellResult {
  source: SourceSpec;
  target: QemuVersion;
  machine: string;
  /** QEMU's verdict on the image as it is. */
  before: { loaded: boolean; firstError: string | null };
  /** The plan's prediction for the image as it is, and what the plan says. */
  predicted: { loads: boolean; firstError: string | null };
  usedTemplate: boolean;
  /** The payload's sha256 read back from the source loaded natively. */
  referencePayloadSha: string | null;
  /** Sections the source's own QEMU re-saves differently after loading the image (QEMU's own doing). */
  referenceRoundTrip: string[];
  blockers: { rule: string; reason: string; closest: string }[];
  changes: string[];
  differences: string[];
  /** The sections the plan says the target will see differently. */
  differenceSubjects: string[];
  after?: {
    loaded: boolean;
    stderr: string[];
    payloadSha: string | null;
    registersDiffer: string[];
    /** Sections that differ between the target's re-save and the transformed image. */
    roundTrip: string[];
    /** Sections that differ between the target's re-save and a native image of the target. */
    vsNative: string[];
  };
  /** Why the cell did not run at all (a missing binary), if so. */
  skipped?: string;
  error?: string;
}

/** Sections whose bytes depend on wall-clock time or on the run state, not on the transform. */
export const VOLATILE_SECTIONS = new Set(['globalstate:0', 'mc146818rtc:0', 'pl031:0']);

const PAYLOAD = { x86: { gpa: 0x100000, size: 0x100000 }, arm: { gpa: 0x40100000, size: 0x100000 } };
const PAYLOAD_FILE = corpusPath('qemu', 'payload-1M.bin');
/** The payload planted in every image made here, as the corpus's meta files record it. */
const PAYLOAD_SHA256 = createHash('sha256').update(fs.readFileSync(PAYLOAD_FILE)).digest('hex');

export function archOf(binaryName: string): string {
  return binaryName.replace(/^.*qemu-system-/, '');
}

/** Corpus images with a meta argv; the qcow2 one through its .qcow2 container. */
export function corpusSources(): SourceSpec[] {
  const out: SourceSpec[] = [];
  for (const image of qemuCorpusImages()) {
    const meta = metaOf(image);
    if (!meta.qemu_argv) continue;
    const qcow2 = image.endsWith('.vmstate.mig');
    const dir = path.dirname(image);
    const version: QemuVersion = String(meta.qemu_version ?? '').startsWith('10.') ? '10.0' : '7.2';
    const argv: string[] = meta.qemu_argv.slice(1);
    const files = argv.flatMap((a) => [...a.matchAll(/file=([^,]+)/g)].map((m) => m[1])).map((f) => path.join(dir, f));
    const arch = archOf(meta.qemu_argv[0]);
    const machine = meta.machine_type ?? null;
    const ownMachine = machine ?? openImage(image).model.machineType ?? argv[argv.indexOf('-M') + 1];
    const args = withMachine(argv, ownMachine);
    const planted = meta.planted_payload;
    const gpa = planted?.guest_phys_addr ? Number(planted.guest_phys_addr) : arch.startsWith('arm') || arch === 'aarch64' ? PAYLOAD.arm.gpa : PAYLOAD.x86.gpa;
    const capabilities: string[] = (meta.migration_capabilities ?? []).filter((c: string) => c !== 'xbzrle');
    out.push({
      id: `corpus ${path.basename(dir)}/${path.basename(qcow2 ? image.replace(/\.vmstate\.mig$/, '.qcow2') : image)}`,
      image: qcow2 ? image.replace(/\.vmstate\.mig$/, '.qcow2') : image,
      version,
      arch,
      args,
      files,
      capabilities,
      fileUri: capabilities.includes('mapped-ram'),
      payload: { gpa, size: 0x100000, sha256: planted?.sha256 },
      ran: /running|savevm/.test(path.basename(image)) || (meta.guest_state ?? '').startsWith('running'),
      streamOnly: qcow2,
    });
  }
  return out;
}

/** -M MACHINE in an argument list (added when missing). */
export function withMachine(args: string[], machine: string): string[] {
  const i = args.findIndex((a) => a === '-M' || a === '-machine');
  if (i < 0) return ['-M', machine, ...args];
  const out = [...args];
  out[i + 1] = out[i + 1].includes(',') ? machine + out[i + 1].slice(out[i + 1].indexOf(',')) : machine;
  return out;
}

export function machineOf(args: string[]): string {
  const i = args.findIndex((a) => a === '-M' || a === '-machine');
  return args[i + 1].split(',')[0];
}

interface Recipe {
  name: string;
  versions: QemuVersion[];
  arch: string;
  /** The machine type family alias ("pc", "q35", "virt"); each version's newest is used. */
  family: string;
  args: string[];
  capabilities?: string[];
  fileUri?: boolean;
  /** Let the guest run and dirty pages while it migrates (XBZRLE). */
  dirty?: boolean;
}

const COMMON_X86 = ['-m', '16M', '-display', 'none', '-monitor', 'none', '-serial', 'null', '-nic', 'none', '-rtc', 'base=2020-01-01T00:00:00,clock=vm', '-device', 'loader,file=payload-1M.bin,addr=0x100000,force-raw=on'];
const COMMON_ARM = ['-m', '32M', '-display', 'none', '-monitor', 'none', '-serial', 'null', '-nic', 'none', '-device', 'loader,file=payload-1M.bin,addr=0x40100000,force-raw=on'];

/** The images made here: pc and q35 with a PCIe device, virtio-mem, mapped-ram, compress, XBZRLE, armv7 and aarch64 virt. */
export const RECIPES: readonly Recipe[] = [
  { name: 'pc', versions: ['7.2', '10.0'], arch: 'x86_64', family: 'pc', args: COMMON_X86 },
  { name: 'q35-xhci', versions: ['7.2', '10.0'], arch: 'x86_64', family: 'q35', args: [...COMMON_X86, '-device', 'qemu-xhci'] },
  { name: 'q35-e1000e', versions: ['7.2', '10.0'], arch: 'x86_64', family: 'q35', args: [...COMMON_X86.filter((a, i, all) => a !== '-nic' && all[i - 1] !== '-nic'), '-netdev', 'user,id=n0', '-device', 'e1000e,netdev=n0'] },
  { name: 'virtio-mem', versions: ['7.2', '10.0'], arch: 'x86_64', family: 'pc', args: ['-m', '16M,maxmem=512M', '-object', 'memory-backend-ram,id=vmem0,size=64M', '-device', 'virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0', ...COMMON_X86.slice(2)] },
  { name: 'mapped-ram', versions: ['10.0'], arch: 'x86_64', family: 'pc', args: COMMON_X86, capabilities: ['mapped-ram', 'multifd'], fileUri: true },
  { name: 'compress', versions: ['7.2'], arch: 'x86_64', family: 'pc', args: COMMON_X86, capabilities: ['compress'] },
  { name: 'xbzrle', versions: ['7.2', '10.0'], arch: 'x86_64', family: 'pc', args: [...COMMON_X86, '-drive', 'file=dirty-boot-64K.raw,format=raw,if=ide,index=0'], capabilities: ['xbzrle'], dirty: true },
  { name: 'armv7-virt', versions: ['7.2', '10.0'], arch: 'arm', family: 'virt', args: ['-cpu', 'cortex-a15', ...COMMON_ARM] },
  { name: 'aarch64-virt', versions: ['7.2', '10.0'], arch: 'aarch64', family: 'virt', args: ['-cpu', 'cortex-a57', ...COMMON_ARM] },
];

const NEWEST: Record<QemuVersion, Record<string, string>> = {
  '7.2': { pc: 'pc-i440fx-7.2', q35: 'pc-q35-7.2', virt: 'virt-7.2' },
  '10.0': { pc: 'pc-i440fx-10.0', q35: 'pc-q35-10.0', virt: 'virt-10.0' },
};

export function newestMachine(version: QemuVersion, family: string): string {
  return NEWEST[version][family];
}

/** Makes a recipe's image with one QEMU version; returns its source spec. */
export async function makeSource(recipe: Recipe, version: QemuVersion, dir: string): Promise<SourceSpec> {
  const machine = newestMachine(version, recipe.family);
  const args = ['-M', machine, ...recipe.args];
  const image = path.join(dir, `made-${version}-${recipe.name}.mig`);
  const files = [PAYLOAD_FILE, ...(recipe.dirty ? [corpusPath('qemu', 'dirty-boot-64K.raw')] : [])];
  await saveInQemu({
    version,
    binary: qemuBinary(version, recipe.arch),
    args,
    files,
    image,
    capabilities: recipe.capabilities,
    fileUri: recipe.fileUri,
    ...(recipe.dirty ? { runMs: 1000, parameters: { 'max-bandwidth': 4 * 1024 * 1024, 'downtime-limit': 1 }, converge: { afterMs: 3000, parameters: { 'max-bandwidth': 8 * 1024 ** 3, 'downtime-limit': 30000 } } } : {}),
  });
  const arm = recipe.arch !== 'x86_64';
  return {
    id: `made ${version} ${recipe.name}`,
    image,
    version,
    arch: recipe.arch,
    args,
    files,
    capabilities: (recipe.capabilities ?? []).filter((c) => c !== 'xbzrle'),
    fileUri: recipe.fileUri,
    payload: { ...(arm ? PAYLOAD.arm : PAYLOAD.x86), sha256: PAYLOAD_SHA256 },
    ran: !!recipe.dirty,
  };
}

/** The cells of a source: the other release in the compat machine type and in its newest (once when they are the same). */
export function cellsOf(source: SourceSpec): CellPlan[] {
  const target: QemuVersion = source.version === '7.2' ? '10.0' : '7.2';
  const release = releaseById(target)!;
  const own = machineOf(source.args);
  const same = !parseMachineType(own).family || compatMachine(release, own) === newestMachineOf(release, own);
  return same ? [{ target, machine: 'newest' }] : [
    { target, machine: 'compat' },
    { target, machine: 'newest' },
  ];
}

/** Loads a source natively (its own QEMU and machine): registers and payload to compare with. */
export interface Reference {
  registers: string;
  payloadSha: string | null;
  /** Sections QEMU re-saves differently right after loading the image natively. */
  roundTrip: string[];
  error?: string;
}

/**
 * Loads a source natively (its own QEMU and machine): the registers and payload to compare
 * with, and the sections the source's own QEMU already re-saves differently after a load.
 */
export async function nativeReference(source: SourceSpec, dir: string): Promise<Reference> {
  const stream = source.streamOnly ? await extractStream(source) : source.image;
  const r = await loadInQemu({ version: source.version, binary: qemuBinary(source.version, source.arch), image: stream, args: source.args, files: source.files, capabilities: source.capabilities, fileUri: source.fileUri });
  if (!r.loaded) return { registers: '', payloadSha: null, roundTrip: [], error: r.stderr.join(' | ') || r.status };
  try {
    const registers = await r.qmp!.hmp('info registers');
    const payloadSha = await pmemSha(r, source);
    const resaved = path.join(dir, `reference-${source.id.replace(/[^\w.-]+/g, '_')}.mig`);
    await migrateTo(r.qmp!, { image: resaved, fileUri: source.fileUri });
    return { registers, payloadSha, roundTrip: sectionDifferences(stream, resaved) };
  } finally {
    await r.quit();
  }
}

async function pmemSha(r: Awaited<ReturnType<typeof loadInQemu>>, source: SourceSpec): Promise<string> {
  const file = path.join(os.tmpdir(), `migwb-pmem-${process.pid}-${Math.random().toString(36).slice(2)}.bin`);
  await r.qmp!.execute('pmemsave', { val: source.payload.gpa, size: source.payload.size, filename: file });
  const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  fs.rmSync(file, { force: true });
  return sha;
}

const extracted = new Map<string, string>();

/** The VM state of a qcow2 snapshot as a bare stream (migwb's own --stream-only save, untransformed). */
async function extractStream(source: SourceSpec): Promise<string> {
  let out = extracted.get(source.image);
  if (out) return out;
  out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-vmstate-')), 'vmstate.mig');
  const r = await migwb('apply', source.image, emptyJournalFor(source.image), '-o', out, '--stream-only');
  if (r.code !== 0) throw new Error(`extracting the snapshot's stream failed: ${r.err}`);
  extracted.set(source.image, out);
  return out;
}

function emptyJournalFor(image: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-journal-')), 'empty.json');
  const bytes = fs.readFileSync(image);
  fs.writeFileSync(file, JSON.stringify({ format: 'migwb-edit-journal', version: 1, image: { path: image, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, sources: [], edits: [], undone: [] }));
  return file;
}

const natives = new Map<string, Promise<string>>();

/** A native image of the target: the same arguments, the target's QEMU and machine type, saved fresh (once per configuration). */
export function nativeImage(source: SourceSpec, target: QemuVersion, machine: string, dir: string): Promise<string> {
  const image = path.join(dir, `native-${source.image.replace(/[^\w.-]+/g, '_')}-${target}-${machine}.mig`);
  let made = natives.get(image);
  if (!made) {
    made = saveInQemu({ version: target, binary: qemuBinary(target, source.arch), args: withMachine(source.args, machine), files: source.files, image }).then(() => image);
    natives.set(image, made);
  }
  return made;
}

/** Registers as name → value, from `info registers` (x86 "EAX=…", segment lines, ARM "R00=…"). */
export function registerValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/\b([A-Za-z][A-Za-z0-9_]*)\s*=\s*([0-9a-fA-F]+(?: [0-9a-fA-F]{8} [0-9a-fA-F]{8} [0-9a-fA-F]{8})?)/g)) if (!out.has(m[1])) out.set(m[1], m[2].toLowerCase());
  return out;
}

export function registerDifferences(a: string, b: string): string[] {
  const x = registerValues(a);
  const y = registerValues(b);
  return [...x].filter(([k, v]) => y.has(k) && y.get(k) !== v).map(([k, v]) => `${k} ${v} → ${y.get(k)}`);
}

/** FULL sections whose version or payload differ between two images (idstr:instance), and those only one has. */
export function sectionDifferences(a: string, b: string): string[] {
  const x = openImage(a);
  const y = openImage(b);
  try {
    const key = (e: { idstr?: string; instanceId?: number }) => `${e.idstr}:${e.instanceId}`;
    const fulls = (m: typeof x) => new Map(m.model.elements.filter((e) => e.type === 'FULL').map((e) => [key(e), e]));
    const A = fulls(x);
    const B = fulls(y);
    const out: string[] = [];
    for (const [k, e] of A) {
      const f = B.get(k);
      if (!f) {
        out.push(`${k} (only in the first)`);
        continue;
      }
      const p = payloadRange(e);
      const q = payloadRange(f);
      const same = e.versionId === f.versionId && Buffer.from(readBytes(x.source, p.start, p.end - p.start)).equals(Buffer.from(readBytes(y.source, q.start, q.end - q.start)));
      if (!same) out.push(k);
    }
    for (const k of B.keys()) if (!A.has(k)) out.push(`${k} (only in the second)`);
    return out;
  } finally {
    x.close();
    y.close();
  }
}

/** Runs one cell: the verdict before, the transform, and the checks after. */
export async function runCell(source: SourceSpec, cell: CellPlan, reference: Reference, dir: string): Promise<CellResult> {
  const binary = qemuBinary(cell.target, source.arch);
  const result: CellResult = { source, target: cell.target, machine: cell.machine, before: { loaded: false, firstError: null }, predicted: { loads: false, firstError: null }, usedTemplate: false, referencePayloadSha: reference.payloadSha, referenceRoundTrip: reference.roundTrip, blockers: [], changes: [], differences: [], differenceSubjects: [] };
  if (!fs.existsSync(binary)) {
    result.skipped = `QEMU ${cell.target} has no ${path.basename(binary)} here`;
    return result;
  }
  const base = path.join(dir, `${source.id.replace(/[^\w.-]+/g, '_')}-to-${cell.target}-${cell.machine}`);
  const flags = [...(source.transformFlags ?? [])];
  // The plan without a template; with the native image as template when the plan asks for one.
  let run = await transformCli(source, cell, flags, `${base}.mig`);
  const machine = run.plan.target.machine;
  result.machine = machine;
  const targetCaps = source.capabilities.filter((c) => !['compress', 'mapped-ram', 'multifd', 'xbzrle'].includes(c));
  if (run.plan.blockers.some((b) => b.closest.includes('--template'))) {
    run = await transformCli(source, cell, [...flags, '--template', await nativeImage(source, cell.target, machine, dir)], `${base}.mig`);
    result.usedTemplate = true;
  }
  const plan = run.plan;
  result.predicted = { loads: plan.before.loads, firstError: plan.before.qemu_error?.[0] ?? null };
  result.blockers = plan.blockers.map((b) => ({ rule: b.rule, reason: b.reason, closest: b.closest }));
  result.changes = plan.changes.map((c) => `${c.rule}: ${c.action}`);
  result.differences = plan.differences.map((d) => `${d.subject}: ${d.what}`);
  result.differenceSubjects = plan.differences.map((d) => d.subject);

  // QEMU's verdict on the image as it is (capabilities the target does not know are not offered).
  const original = source.streamOnly ? await extractStream(source) : source.image;
  const beforeCaps = source.capabilities.filter((c) => c !== 'compress' || cell.target === '7.2').filter((c) => c !== 'mapped-ram' || cell.target === '10.0').filter((c) => c !== 'multifd' || source.capabilities.includes('mapped-ram') === (cell.target === '10.0'));
  const before = await loadInQemu({ version: cell.target, binary, image: original, args: withMachine(source.args, machine), files: source.files, capabilities: beforeCaps, fileUri: source.fileUri && beforeCaps.includes('mapped-ram') });
  result.before = { loaded: before.loaded, firstError: before.loaded ? null : (before.stderr[0]?.replace(/^[^:]*qemu-system-\w+: /, '') ?? before.status) };
  await before.quit();
  if (plan.blockers.length) return result;

  // Nothing to change: the target loads the image as it is.
  const transformed = run.written ?? original;
  const mappedRam = flags.includes('--mapped-ram');
  const loaded = await loadInQemu({ version: cell.target, binary, image: transformed, args: withMachine(source.args, machine), files: source.files, capabilities: [...targetCaps, ...(mappedRam ? ['mapped-ram'] : [])], fileUri: mappedRam });
  result.after = { loaded: loaded.loaded, stderr: loaded.stderr, payloadSha: null, registersDiffer: [], roundTrip: [], vsNative: [] };
  if (!loaded.loaded) return result;
  try {
    result.after.payloadSha = await pmemSha(loaded, source);
    result.after.registersDiffer = registerDifferences(reference.registers, await loaded.qmp!.hmp('info registers'));
    const resaved = `${base}.resaved.mig`;
    await migrateTo(loaded.qmp!, { image: resaved, fileUri: mappedRam });
    result.after.roundTrip = sectionDifferences(transformed, resaved);
    result.after.vsNative = sectionDifferences(await nativeImage(source, cell.target, machine, dir), resaved);
  } finally {
    await loaded.quit();
  }
  return result;
}

/** What the matrix reads of `migwb transform --json` (snake_case). */
interface PlanJson {
  target: { machine: string };
  before: { loads: boolean; qemu_error: string[] | null };
  blockers: { rule: string; reason: string; closest: string }[];
  changes: { rule: string; action: string }[];
  differences: { subject: string; what: string }[];
}

async function transformCli(source: SourceSpec, cell: CellPlan, flags: string[], out: string): Promise<{ plan: PlanJson; written?: string }> {
  const r = await migwb('transform', source.image, '--to', `qemu-${cell.target}`, '--machine', machineArgument(source, cell), '-o', out, '--json', ...(source.streamOnly ? ['--stream-only'] : []), ...flags);
  if (r.code === 2) throw new Error(`migwb transform could not run: ${r.err.trim()}`);
  const json = JSON.parse(r.out);
  return { plan: json.plan, written: json.output?.path };
}

/**
 * "compat" or "newest", or for a stream that does not record its machine type (no
 * CONFIGURATION, machine types ≤ 2.3) the machine type it was saved with, or its family.
 */
function machineArgument(source: SourceSpec, cell: CellPlan): string {
  const recorded = openImage(source.image);
  const known = recorded.model.machineType;
  recorded.close();
  if (known) return cell.machine;
  const own = machineOf(source.args);
  return cell.machine === 'compat' ? own : own.replace(/^pc-i440fx-.*$/, 'pc').replace(/^pc-q35-.*$/, 'q35').replace(/^virt-.*$/, 'virt');
}

/** Runs async jobs with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The README's before/after table. */
export function verdictTable(results: readonly CellResult[]): string {
  const rows = ['| source (saved by) | target | as it is, QEMU says | transform | after: loads, payload, registers | vs native image of the target |', '|---|---|---|---|---|---|'];
  for (const r of results) {
    const src = `${r.source.id.replace(/^corpus |^made /, '')} (${r.source.version}, ${machineOf(r.source.args)})`;
    const target = `${r.target} -M ${r.machine}`;
    if (r.skipped) {
      rows.push(`| ${src} | ${target} | — | not run: ${r.skipped} | — | — |`);
      continue;
    }
    const before = r.before.loaded ? 'loads' : `\`${r.before.firstError}\``;
    let transform: string;
    let after = '—';
    let native = '—';
    if (r.error) transform = `error: ${r.error}`;
    else if (r.blockers.length) transform = `**cannot**: ${r.blockers[0].reason}; closest: ${r.blockers[0].closest}`;
    else {
      transform = `${r.changes.length} change${r.changes.length === 1 ? '' : 's'} (${[...new Set(r.changes.map((c) => c.split(':')[0]))].join(', ')})${r.usedTemplate ? ', with the native image as template' : ''}`;
      if (r.after) {
        after = r.after.loaded ? `**loads**; payload ${r.after.payloadSha === (r.source.payload.sha256 ?? r.referencePayloadSha) ? 'intact' : 'DIFFERS'}; registers ${r.after.registersDiffer.length ? `differ: ${r.after.registersDiffer.slice(0, 3).join(', ')}` : 'equal'}` : `fails: \`${r.after.stderr[0] ?? ''}\``;
        const diffs = r.after.vsNative.filter((s) => !VOLATILE_SECTIONS.has(s));
        const predicted = diffs.filter((s) => r.differenceSubjects.includes(s));
        const others = diffs.filter((s) => !predicted.includes(s));
        native = !r.after.loaded ? '—' : r.source.ran && diffs.length ? `${diffs.length} sections differ (the guest ran)` : others.length ? `differs: ${others.join(', ')}` : predicted.length ? `same sections except ${predicted.join(', ')}, as the plan says` : 'same sections';
      }
    }
    rows.push(`| ${src} | ${target} | ${before} | ${transform} | ${after} | ${native} |`);
  }
  return rows.join('\n') + '\n';
}
