import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../electron/services/open-image';
import { resolveQemu } from '../../electron/services/qemu-binaries';
import { UserError } from '../../electron/services/user-error';
import { compatMachine, newestMachine, QEMU_RELEASES } from '../../shared/transform/releases';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf } from '../helpers/corpus';
import { makeGuest, mapLimit, richGuests, type MadeGuest } from '../helpers/guests';
import { qemuArgsJson, type QemuArgsJson } from '../helpers/launch';
import { haveQemu, migrateTo, Qmp, QEMU, startQemu, type QemuVersion, type StartResult } from '../helpers/qemu';

/**
 * The proof of issue 14, with real QEMU 7.2 and 10.0:
 * 1. every corpus image (qemu/, qemu10/, libvirt/, the qcow2) and guests made here with
 *    more devices loads in its own QEMU started with the output of `migwb qemu-args` alone,
 *    its planted payload reads back intact, and the loaded VM saves the same sections and
 *    RAM blocks again (the rebuilt VM is the source's);
 * 2. `migwb preflight` predicts QEMU's verdict and first error line for every image
 *    against QEMU 7.2 and 10.0, each with the compat and the newest machine type, before
 *    and after `migwb transform`.
 * Both print their table. At most two QEMUs run at a time.
 */
interface TestImage {
  label: string;
  path: string;
  /** The QEMU that saved it. */
  native: QemuVersion;
  payload?: { gpa: number; size: number; sha256: string };
  /** For made guests: the devices of the saving command line. */
  devices?: string;
}

const PARALLEL = 2;
const haveBoth = haveQemu('7.2') && haveQemu('10.0');

function corpusImages(): TestImage[] {
  const out: TestImage[] = [];
  const add = (dir: string, file: string, native: QemuVersion) => {
    const p = corpusPath(dir, file);
    const planted = dir === 'libvirt' ? undefined : metaOf(p.replace(/\.qcow2$/, '.mig')).planted_payload;
    const sha256 = planted?.sha256 ?? planted?.checked_in_extracted_stream?.sha256;
    out.push({ label: `${dir}/${file}`, path: p, native, payload: planted && sha256 ? { gpa: Number(planted.guest_phys_addr), size: planted.size ?? 1 << 20, sha256 } : undefined });
  };
  for (const f of fs.readdirSync(corpusPath('qemu')).filter((f) => f.endsWith('.mig') || f.endsWith('.qcow2')).sort()) add('qemu', f, '7.2');
  for (const f of fs.readdirSync(corpusPath('qemu10')).filter((f) => f.endsWith('.mig')).sort()) add('qemu10', f, '10.0');
  for (const f of fs.readdirSync(corpusPath('libvirt')).filter((f) => f.endsWith('.sav')).sort()) add('libvirt', f, '7.2');
  return out;
}

/** QEMU started with qemu-args' output and nothing else (the harness only adds its QMP socket). */
async function startFromPlan(plan: QemuArgsJson): Promise<StartResult> {
  return startQemu({ binary: plan.binary, argv: plan.argv, qmp: plan.qmp, timeoutMs: 120_000 });
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** FULL/START sections (idstr:instance v version) and RAM blocks (id=size) of a stream, sorted. */
function shapeOf(file: string): { sections: string[]; blocks: string[] } {
  const img = openImage(file);
  try {
    const sections = img.model.elements.filter((e) => e.type === 'FULL' || e.type === 'START').map((e) => `${e.idstr}:${e.instanceId} v${e.versionId}`);
    return { sections: sections.sort(), blocks: img.model.ramBlocks.map((b) => `${b.id}=${b.usedLength}`).sort() };
  } finally {
    img.close();
  }
}

function diff(a: string[], b: string[]): string {
  const missing = a.filter((x) => !b.includes(x));
  const extra = b.filter((x) => !a.includes(x));
  return [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ');
}

/** preflight's prediction and QEMU's verdict for one image, QEMU binary and machine type, as the table shows them. */
async function predictAndRun(file: string, binary: string, machine: string) {
  const p = await migwb('preflight', '--json', '--qemu', binary, '--machine', machine, file);
  if (p.code === 2) throw new Error(`migwb preflight ${file}: ${p.err}`);
  const prediction = JSON.parse(p.out);
  const plan = await qemuArgsJson('--qemu', binary, '--machine', machine, file);
  const run = await startFromPlan(plan);
  await run.quit();
  const predicted = prediction.loads ? `loads${prediction.notices[0] ? ` (${prediction.notices[0]})` : ''}` : `refused: ${prediction.first_error}`;
  const actual = run.loaded ? `loads${run.firstError ? ` (${run.firstError})` : ''}` : `refused: ${run.firstError ?? run.status}`;
  return { predicted, actual, match: predicted === actual, loads: run.loaded };
}

describe.skipIf(!haveBoth)('a lone image to a running VM: qemu-args and preflight with real QEMU 7.2 and 10.0', () => {
  let dir: string;
  let images: TestImage[];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-launch-'));
    const made: MadeGuest[] = await mapLimit(richGuests(), PARALLEL, (spec) => makeGuest(dir, spec));
    images = [...corpusImages(), ...made.map((g) => ({ label: `made: ${g.name}`, path: g.image, native: g.version, payload: g.payload, devices: g.devices }))];
  }, 300_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every image loads in its own QEMU started with the output of qemu-args alone: payload intact, the same sections and RAM blocks saved again', async () => {
    const rows = await mapLimit(images, PARALLEL, async (image) => {
      const plan = await qemuArgsJson('--to', `qemu-${image.native}`, image.path);
      const run = await startFromPlan(plan);
      const row = { image, plan, loaded: run.loaded, verdict: run.loaded ? 'loaded' : `REFUSED: ${run.firstError ?? run.status}`, payload: '-', resave: '-' };
      if (!run.loaded) return row;
      try {
        if (image.payload) {
          const dump = path.join(dir, `${path.basename(image.path)}.${image.native}.pmem`);
          await run.qmp!.execute('pmemsave', { val: image.payload.gpa, size: image.payload.size, filename: dump });
          row.payload = sha256(dump) === image.payload.sha256 ? 'intact' : 'DIFFERS';
        }
        const again = path.join(dir, `${path.basename(image.path)}.${image.native}.resaved`);
        await migrateTo(run.qmp!, { image: again, fileUri: plan.capabilities.includes('mapped-ram') });
        const before = shapeOf(image.path);
        const after = shapeOf(again);
        const d = [diff(before.sections, after.sections), diff(before.blocks, after.blocks)].filter(Boolean).join('; ');
        row.resave = d ? `DIFFERS: ${d}` : 'same';
      } finally {
        await run.quit();
      }
      return row;
    });
    console.log(
      [
        '',
        'qemu-args: each image loaded by its own QEMU started with the printed command line alone',
        ...rows.flatMap((r) => [
          `${r.image.label.padEnd(66)} QEMU ${r.image.native.padEnd(5)} ${r.verdict}; payload ${r.payload}; re-saved VM: ${r.resave}`,
          ...(r.image.devices ? [`    saved from: ${r.image.devices}`] : []),
          `    ${[r.plan.binary, ...r.plan.argv].join(' ')}`,
          ...r.plan.monitor.map((m: string) => `    (monitor) ${m}`),
        ]),
      ].join('\n'),
    );
    for (const r of rows) {
      expect(r.verdict, r.image.label).toBe('loaded');
      if (r.image.payload) expect(r.payload, r.image.label).toBe('intact');
      expect(r.resave, r.image.label).toBe('same');
    }
    expect(rows.filter((r) => r.image.label.startsWith('made:')).length).toBe(richGuests().length);
  }, 1_200_000);

  it("preflight's verdict and first error line are QEMU's, for every image × QEMU 7.2/10.0 × compat/newest machine type, before and after migwb transform", async () => {
    interface Cell {
      image: TestImage;
      release: (typeof QEMU_RELEASES)[number];
      machine: string;
      binary?: string;
      skipped?: string;
    }
    const cells: Cell[] = [];
    for (const image of images) {
      const plan = await qemuArgsJson(image.path);
      for (const release of QEMU_RELEASES) {
        const machines = [...new Set([compatMachine(release, plan.machine_type) ?? plan.machine_type, newestMachine(release, plan.machine_type) ?? plan.machine_type])];
        let binary: string | undefined;
        let skipped: string | undefined;
        try {
          binary = resolveQemu({ to: release.id }, plan.hardware.machine.arch)?.path;
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          skipped = `no qemu-system-${plan.hardware.machine.arch} of ${release.id} is installed`;
        }
        for (const machine of machines) cells.push({ image, release, machine, binary, skipped });
      }
    }
    const rows = await mapLimit(cells, PARALLEL, async (cell) => {
      if (cell.skipped) return { cell, before: undefined, after: undefined };
      const before = await predictAndRun(cell.image.path, cell.binary!, cell.machine);
      let after: { transform: string; predicted?: string; actual?: string; match?: boolean } | undefined;
      if (!before.loads) {
        const out = path.join(dir, `${path.basename(cell.image.path)}.to-${cell.release.version}.${cell.machine}.mig`);
        const t = await migwb('transform', cell.image.path, '--to', cell.release.id, '--machine', cell.machine, '-o', out);
        if (t.code !== 0) after = { transform: `not made: ${(t.out + t.err).trim().split('\n').find((l) => /^\s+\[/.test(l))?.trim() ?? (t.out + t.err).trim().split('\n').pop()}` };
        else after = { transform: 'made', ...(await predictAndRun(out, cell.binary!, cell.machine)) };
      }
      return { cell, before, after };
    });
    const lines = ['', 'preflight against QEMU: every image × QEMU × machine type (predicted | actual)'];
    for (const r of rows) {
      const head = `${r.cell.image.label.padEnd(66)} ${r.cell.release.id.padEnd(9)} ${r.cell.machine.padEnd(16)}`;
      if (!r.before) {
        lines.push(`${head} SKIPPED: ${r.cell.skipped}`);
        continue;
      }
      lines.push(`${head} ${r.before.match ? 'same' : 'DIFFERENT'}: ${r.before.predicted}${r.before.match ? '' : ` | actual ${r.before.actual}`}`);
      if (r.after) lines.push(`${' '.repeat(66)}   after transform: ${r.after.transform}${r.after.predicted ? ` → ${r.after.match ? 'same' : 'DIFFERENT'}: ${r.after.predicted}${r.after.match ? '' : ` | actual ${r.after.actual}`}` : ''}`);
    }
    const checked = rows.filter((r) => r.before);
    const transformed = rows.filter((r) => r.after?.predicted);
    lines.push(`${checked.length} cells checked before transform, ${transformed.length} after; ${rows.length - checked.length} skipped (no emulator)`);
    console.log(lines.join('\n'));
    for (const r of checked) {
      expect(r.before!.predicted, `${r.cell.image.label} → ${r.cell.release.id} ${r.cell.machine}`).toBe(r.before!.actual);
      if (r.after?.predicted) expect(r.after.predicted, `${r.cell.image.label} transformed → ${r.cell.release.id} ${r.cell.machine}`).toBe(r.after.actual);
    }
    // The matrix really spans both directions, both machine types and failures of every stage.
    expect(checked.some((r) => r.cell.release.id === 'qemu-7.2' && r.cell.image.native === '10.0')).toBe(true);
    expect(checked.some((r) => r.cell.release.id === 'qemu-10.0' && r.cell.image.native === '7.2')).toBe(true);
    expect(checked.filter((r) => !r.before!.loads).length).toBeGreaterThan(10);
    expect(transformed.filter((r) => r.after!.predicted!.startsWith('loads')).length).toBeGreaterThan(5);
  }, 2_400_000);

  it('damaged copies beyond the corpus: a section version from the future, a subsection nobody knows: the schema checks say what QEMU says', async () => {
    const source = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    const damaged = {
      'version 9 of mc146818rtc': Buffer.from(source),
      'subsection pckbd/extended_statX': Buffer.from(source.toString('latin1').replaceAll('pckbd/extended_state', 'pckbd/extended_statX'), 'latin1'),
    };
    const rtc = damaged['version 9 of mc146818rtc'];
    const header = rtc.indexOf(Buffer.from('\x0bmc146818rtc\x00\x00\x00\x00\x00\x00\x00\x03', 'latin1'));
    expect(header).toBeGreaterThan(0);
    rtc[header + 19] = 9;
    const lines: string[] = [];
    for (const [what, bytes] of Object.entries(damaged)) {
      const file = path.join(dir, `${what.replace(/[^a-z0-9]+/gi, '-')}.mig`);
      fs.writeFileSync(file, bytes);
      for (const version of ['7.2', '10.0'] as const) {
        const r = await predictAndRun(file, QEMU[version], 'pc-i440fx-7.2');
        lines.push(`${what.padEnd(34)} QEMU ${version.padEnd(5)} ${r.match ? 'same' : 'DIFFERENT'}: ${r.predicted}${r.match ? '' : ` | actual ${r.actual}`}`);
        expect(r.predicted, `${what} on ${version}`).toBe(r.actual);
        expect(r.loads).toBe(false);
      }
    }
    console.log(['', 'preflight against QEMU on damaged copies', ...lines].join('\n'));
  }, 300_000);

  it('migwb load --detach starts QEMU paused with the image loaded and prints its QMP and HMP sockets; the payload is in guest memory', async () => {
    const image = images.find((i) => i.label === 'qemu/x86_64-pc-e1000-payload-paused-32M.mig')!;
    const sockets = fs.mkdtempSync(path.join(dir, 'load-'));
    const r = await migwb('load', '--detach', '--json', '--to', 'qemu-7.2', '--socket-dir', sockets, image.path);
    const out = JSON.parse(r.out);
    expect(r.code, r.err).toBe(0);
    expect(out).toMatchObject({ status: 'completed', runstate: 'prelaunch', detached: true, qmp_socket: path.join(sockets, 'qmp.sock'), hmp_socket: path.join(sockets, 'hmp.sock') });
    const qmp = await Qmp.connect(out.qmp_socket, undefined, 10_000);
    try {
      expect(await qmp.hmp('xp /22c 0x100000')).toContain("'M' 'I' 'G' 'I' 'M' 'G'");
      expect((await qmp.execute<{ status: string }>('query-status')).status).toBe('prelaunch');
    } finally {
      await qmp.execute('quit').catch(() => undefined);
      qmp.close();
    }
  }, 120_000);

  it('migwb load prints QEMU\'s own error and exits 1 when QEMU refuses the image', async () => {
    const image = images.find((i) => i.label === 'qemu10/x86_64-pc-minimal-payload-paused-16M.mig')!;
    const r = await migwb('load', '--to', 'qemu-7.2', '--machine', 'pc-i440fx-7.2', image.path);
    expect(r.code).toBe(1);
    expect(r.out).toContain("qemu-system-x86_64: Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
    expect(r.out).toContain('migwb preflight');
  }, 120_000);
});
