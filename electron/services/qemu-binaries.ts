import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TargetArch } from '../../shared/launch/hardware';
import { UserError } from './user-error';

/**
 * The QEMU a command targets: a binary given with --qemu, or a version given with --to
 * (qemu-7.2, qemu-10.0), looked up as qemu-system-<arch> in /opt/qemu-<version>/bin (where
 * ../shared/tools/install-qemu-10.sh puts 10.0 beside the system's 7.2), /usr/local/bin,
 * /usr/bin and PATH.
 */
export interface QemuBinary {
  path: string;
  /** "7.2.22" */
  version: string;
  /** "7.2": what --to names and what vmstate schemas are keyed by. */
  series: string;
}

export interface QemuChoice {
  /** An emulator binary. */
  qemu?: string;
  /** "qemu-7.2", "qemu-10.0" (or "7.2"). */
  to?: string;
}

const TARGET_NAME = /^(?:qemu-)?(\d+\.\d+)$/;

export function parseTarget(to: string): string {
  const m = TARGET_NAME.exec(to.trim());
  if (!m) throw new UserError(`--to ${JSON.stringify(to)} is not a QEMU version: write it as qemu-7.2 or qemu-10.0`);
  return m[1];
}

/** Finds the emulator for `arch`, or says why not. `undefined` when neither --qemu nor --to was given. */
export function resolveQemu(choice: QemuChoice, arch: TargetArch): QemuBinary | undefined {
  if (choice.qemu && choice.to) throw new UserError('give either --qemu BIN or --to VERSION, not both');
  if (choice.qemu) {
    const binary = qemuVersion(choice.qemu);
    if (!binary) throw new UserError(`${choice.qemu} is not a QEMU emulator that runs here ("${choice.qemu} --version" failed)`);
    return binary;
  }
  if (!choice.to) return undefined;
  const series = parseTarget(choice.to);
  const name = `qemu-system-${arch}`;
  for (const dir of searchDirs(series)) {
    const candidate = path.join(dir, name);
    if (!fs.existsSync(candidate)) continue;
    const binary = qemuVersion(candidate);
    if (binary?.series === series) return binary;
  }
  throw new UserError(`no ${name} of QEMU ${series} was found (looked in ${searchDirs(series).join(', ')}); install it or give its path with --qemu`);
}

function searchDirs(series: string): string[] {
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...new Set([`/opt/qemu-${series}/bin`, '/usr/local/bin', '/usr/bin', ...fromPath])];
}

const versions = new Map<string, QemuBinary | undefined>();

/** Runs `BIN --version` once per binary. */
export function qemuVersion(binary: string): QemuBinary | undefined {
  const resolved = path.resolve(binary);
  if (!versions.has(resolved)) {
    const r = spawnSync(resolved, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    const m = r.status === 0 ? /QEMU emulator version (\d+)\.(\d+)\.(\d+)/.exec(r.stdout) : null;
    versions.set(resolved, m ? { path: resolved, version: `${m[1]}.${m[2]}.${m[3]}`, series: `${m[1]}.${m[2]}` } : undefined);
  }
  return versions.get(resolved);
}

export interface MachineList {
  /** Every machine type the binary knows. */
  types: Set<string>;
  /** Aliases ("pc") and the type each stands for ("pc-i440fx-7.2"). */
  aliases: Map<string, string>;
}

const machineLists = new Map<string, MachineList>();

/** `BIN -machine help`, parsed: "pc-i440fx-7.2  Standard PC (i440FX + PIIX, 1996) (default)", "pc  … (alias of pc-i440fx-7.2)". */
export function machineList(binary: QemuBinary): MachineList {
  let list = machineLists.get(binary.path);
  if (!list) {
    const r = spawnSync(binary.path, ['-machine', 'help'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new UserError(`${binary.path} -machine help failed: ${(r.stderr || '').trim().split('\n')[0]}`);
    list = { types: new Set(), aliases: new Map() };
    for (const line of r.stdout.split('\n').slice(1)) {
      const m = /^(\S+)\s+(.*)$/.exec(line.trim());
      if (!m) continue;
      const alias = /\(alias of (\S+)\)/.exec(m[2]);
      if (alias) list.aliases.set(m[1], alias[1]);
      else list.types.add(m[1]);
    }
    machineLists.set(binary.path, list);
  }
  return list;
}

export interface DeviceCatalog {
  /** Every -device driver the binary offers (`-device help`; aliases included). */
  drivers: Set<string>;
  /** The properties of a driver (`-device DRIVER,help`), or undefined when the binary does not have it. */
  properties(driver: string): Set<string> | undefined;
}

const catalogs = new Map<string, DeviceCatalog>();

/** What devices and device properties a binary has, asked once per binary and driver. */
export function deviceCatalog(binary: QemuBinary): DeviceCatalog {
  let catalog = catalogs.get(binary.path);
  if (!catalog) {
    const r = spawnSync(binary.path, ['-device', 'help'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new UserError(`${binary.path} -device help failed: ${(r.stderr || '').trim().split('\n')[0]}`);
    const drivers = new Set<string>();
    for (const m of r.stdout.matchAll(/^name "([^"]+)"(?:.*?alias "([^"]+)")?/gm)) {
      drivers.add(m[1]);
      if (m[2]) drivers.add(m[2]);
    }
    const props = new Map<string, Set<string> | undefined>();
    catalog = {
      drivers,
      properties(driver) {
        if (!drivers.has(driver)) return undefined;
        if (!props.has(driver)) {
          const h = spawnSync(binary.path, ['-device', `${driver},help`], { encoding: 'utf8', timeout: 20_000 });
          props.set(driver, h.status === 0 ? new Set([...h.stdout.matchAll(/^\s+([A-Za-z0-9_.-]+)=/gm)].map((x) => x[1])) : undefined);
        }
        return props.get(driver);
      },
    };
    catalogs.set(binary.path, catalog);
  }
  return catalog;
}
