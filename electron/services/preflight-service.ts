import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { preflight, type PreflightResult, type PreflightTarget } from '../../shared/preflight/preflight';
import { parseVmstateSchema, SchemaError, type VmstateSchema } from '../../shared/preflight/vmstate-schema';
import { releaseById } from '../../shared/transform/releases';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import type { OpenedImage } from './open-image';
import { deviceCatalog, machineList, type QemuBinary } from './qemu-binaries';
import { planLaunch, type LaunchOptions, type LaunchPlan } from './qemu-launch';
import { UserError } from './user-error';

export interface PreflightOptions extends LaunchOptions {
  /** A -dump-vmstate JSON file to use instead of asking the binary. */
  schema?: string;
}

export interface PreflightRun {
  plan: LaunchPlan;
  qemu: QemuBinary;
  /** Where the schema came from. */
  schemaFrom: string;
  result: PreflightResult;
}

/** Predicts whether the QEMU of --qemu/--to loads the image with the command line qemu-args builds. */
export function runPreflight(img: OpenedImage, options: PreflightOptions): PreflightRun {
  if (!options.qemu && !options.to) throw new UserError('preflight needs the QEMU to predict for: --qemu BIN or --to qemu-7.2|qemu-10.0');
  const plan = planLaunch(img, options);
  const qemu = plan.qemu!;
  const schema = options.schema ? { schema: readSchema(options.schema), from: options.schema } : binarySchema(qemu);
  const target: PreflightTarget = {
    program: path.basename(qemu.path),
    version: qemu.version,
    release: releaseById(qemu.series),
    machines: machineList(qemu),
    devices: deviceCatalog(qemu),
    schema: schema.schema,
  };
  const result = preflight({ image: { source: img.source, model: img.model }, command: plan.command, target, fileOffset: img.fileOffsetOf, imageName: img.path });
  return { plan, qemu, schemaFrom: schema.from, result };
}

function readSchema(file: string): VmstateSchema {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not a readable -dump-vmstate JSON file: ${(e as Error).message}`);
  }
  try {
    return parseVmstateSchema(json);
  } catch (e) {
    if (e instanceof SchemaError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

const schemas = new Map<string, { schema: VmstateSchema; from: string }>();

/** The binary's -dump-vmstate, run once per binary (path, size, mtime, version) and kept in the cache folder. */
export function binarySchema(qemu: QemuBinary): { schema: VmstateSchema; from: string } {
  const st = fs.statSync(qemu.path);
  const key = createHash('sha256').update(`${qemu.path}\0${st.size}\0${st.mtimeMs}\0${qemu.version}`).digest('hex').slice(0, 32);
  const hit = schemas.get(key);
  if (hit) return hit;
  const dir = schemaCacheDir();
  const file = path.join(dir, `${path.basename(qemu.path)}-${qemu.version}-${key}.json`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-vmstate-'));
    try {
      const out = path.join(scratch, 'vmstate.json');
      const r = spawnSync(qemu.path, ['-M', 'none', '-nodefaults', '-display', 'none', '-dump-vmstate', out], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0 || !fs.existsSync(out)) throw new UserError(`${qemu.path} -dump-vmstate failed: ${(r.stderr || '').trim().split('\n')[0]}`);
      const bytes = fs.readFileSync(out);
      writeFileAtomic(file, (fd) => writeAll(fd, bytes));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  const entry = { schema: readSchema(file), from: file };
  schemas.set(key, entry);
  return entry;
}

function schemaCacheDir(): string {
  if (process.env.MIGWB_SCHEMA_CACHE_DIR) return process.env.MIGWB_SCHEMA_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'migwb', 'vmstate-schemas');
}
