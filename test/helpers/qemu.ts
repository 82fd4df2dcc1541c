import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Qmp } from '../../electron/services/qmp';

/**
 * Real QEMU for real checks: load an image with -incoming and talk to it over QMP/HMP.
 * QEMU 7.2 is the system QEMU (../shared/tools/install-qemu-7.2.sh); 10.0 sits beside it
 * in /opt/qemu-10.0 (install-qemu-10.sh). .ci/run installs both.
 */
export const QEMU = {
  '7.2': process.env.MIGWB_QEMU_72 ?? '/usr/bin/qemu-system-x86_64',
  '10.0': process.env.MIGWB_QEMU_10 ?? '/opt/qemu-10.0/bin/qemu-system-x86_64',
} as const;
export type QemuVersion = keyof typeof QEMU;

/** A QEMU system emulator of this version: given by architecture ('x86_64', 'aarch64', …) or by the binary's path. */
export function haveQemu(version: QemuVersion, archOrBinary = 'x86_64'): boolean {
  const binary = archOrBinary.includes('/') ? archOrBinary : qemuBinary(version, archOrBinary);
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.startsWith(`QEMU emulator version ${version}.`);
}

/** The system emulator of a version for an architecture (x86_64, aarch64, arm, riscv64, …). */
export function qemuBinary(version: QemuVersion, arch: string): string {
  return QEMU[version].replace(/qemu-system-x86_64$/, `qemu-system-${arch}`);
}

export { Qmp };

export interface LoadOptions {
  version: QemuVersion;
  /** The image to load (absolute path). */
  image: string;
  /** QEMU arguments after the binary, e.g. NAME.meta.json's qemu_argv.slice(1). */
  args: string[];
  /** Files the arguments name relatively (payload, disks): copied into a private folder, so QEMU never writes to the corpus. */
  files?: string[];
  /** Migration capabilities the destination needs (compress, x-ignore-shared, mapped-ram, multifd). */
  capabilities?: string[];
  /** Load with migrate-incoming file:IMAGE (what mapped-ram needs) instead of exec:cat. */
  fileUri?: boolean;
  timeoutMs?: number;
  /** Another system emulator of the same version (qemu-system-arm, -riscv64, …); default the x86_64 one. */
  binary?: string;
  /** The command QEMU runs to read the stream (-incoming "exec:…"); default `cat IMAGE`. */
  incoming?: string;
}

export interface LoadResult {
  /** QEMU accepted the stream: migration status "completed". */
  loaded: boolean;
  status: string;
  runstate?: string;
  exitCode: number | null;
  /** QEMU's stderr, without the harmless "has no peer" NIC warnings. */
  stderr: string[];
  /** Open while `loaded`; call quit() when done. */
  qmp?: Qmp;
  /** QEMU's stderr up to now (while `loaded`: what it prints after the load too, e.g. -device qxl,cmdlog=1). */
  stderrNow?: () => string[];
  quit(): Promise<void>;
}

/**
 * Starts QEMU paused with the image as incoming migration (like NAME.meta.json's
 * load_check) and waits until the load completed or failed.
 */
export async function loadInQemu(o: LoadOptions): Promise<LoadResult> {
  const quoted = `'${o.image.replace(/'/g, `'\\''`)}'`;
  const uri = o.fileUri ? `file:${o.image}` : `exec:${o.incoming ?? `cat ${quoted}`}`;
  const capabilities = o.capabilities ?? [];
  const deferred = capabilities.length > 0 || !!o.fileUri;
  return startQemu({
    binary: o.binary ?? (o.version === '7.2' ? QEMU['7.2'] : QEMU['10.0']),
    argv: [...o.args, '-S', '-incoming', deferred ? 'defer' : uri],
    qmp: deferred
      ? [
          ...(capabilities.length ? [{ execute: 'migrate-set-capabilities', arguments: { capabilities: capabilities.map((c) => ({ capability: c, state: true })) } }] : []),
          { execute: 'migrate-incoming', arguments: { uri } },
        ]
      : [],
    files: o.files,
    timeoutMs: o.timeoutMs,
  });
}

export interface StartOptions {
  binary: string;
  /** QEMU's arguments, used as they are (a QMP socket for the harness is added before -S). */
  argv: string[];
  /** QMP commands to send before waiting for the load (capabilities, migrate-incoming of -incoming defer). */
  qmp?: { execute: string; arguments?: Record<string, unknown> }[];
  files?: string[];
  timeoutMs?: number;
}

export interface StartResult extends LoadResult {
  /** Why QEMU did not load: a QMP command's error, else QEMU's first stderr line that is not a warning. */
  firstError?: string;
}

/** Runs QEMU with the given arguments and incoming migration, and waits until the load completed or failed. */
export async function startQemu(o: StartOptions): Promise<StartResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-qemu-'));
  for (const f of o.files ?? []) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  const socket = path.join(dir, 'qmp.sock');
  const at = o.argv.lastIndexOf('-S');
  const argv = [...o.argv.slice(0, at < 0 ? o.argv.length : at), '-qmp', `unix:${socket},server=on,wait=off`, ...(at < 0 ? [] : o.argv.slice(at))];
  // stdin stays open: a deferred load gets "-monitor stdio", which must not see end-of-file.
  const proc = spawn(o.binary, argv, { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timeoutMs = o.timeoutMs ?? 120_000;
  const lines = () => stderr.split('\n').filter((l) => l && !l.includes('has no peer'));
  const firstError = () => lines().find((l) => !/: warning: /.test(l));
  const quit = async (qmp?: Qmp) => {
    try {
      if (qmp && proc.exitCode === null) await Promise.race([qmp.execute('quit').catch(() => undefined), sleep(2000)]);
    } finally {
      qmp?.close();
      proc.stdin?.destroy();
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const refused = async (status: string, qmp: Qmp | undefined, error?: string): Promise<StartResult> => {
    const exitCode = await Promise.race([exited, sleep(3000).then(() => null)]);
    await quit(qmp);
    return { loaded: false, status, exitCode, stderr: lines(), firstError: error ?? firstError(), quit: async () => undefined };
  };
  let qmp: Qmp | undefined;
  try {
    qmp = await Qmp.connect(socket, proc, 30_000);
    for (const c of o.qmp ?? []) {
      try {
        await qmp.execute(c.execute, c.arguments);
      } catch (e) {
        const message = (e as Error).message;
        if (!message.startsWith(`QMP ${c.execute}: `)) throw e;
        return await refused(`${c.execute} refused`, qmp, message.slice(`QMP ${c.execute}: `.length));
      }
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await Promise.race([
        qmp.execute<{ status: string }>('query-migrate').then((r) => r.status, () => 'exited'),
        exited.then(() => 'exited'),
      ]);
      if (status === 'completed') {
        const runstate = (await qmp.execute<{ status: string }>('query-status')).status;
        const q = qmp;
        return { loaded: true, status, runstate, exitCode: null, stderr: lines(), stderrNow: lines, firstError: firstError(), qmp: q, quit: () => quit(q) };
      }
      if (status === 'failed' || status === 'exited' || Date.now() > deadline) return await refused(status === 'exited' ? 'qemu exited' : status, qmp);
      await sleep(50);
    }
  } catch (e) {
    return refused(`qemu exited (${(e as Error).message})`, qmp);
  }
}

/**
 * Loads an image that must load: fails the test with QEMU's status and stderr otherwise,
 * runs `fn` with the loaded QEMU, and quits QEMU whatever happens.
 */
export async function withLoadedImage<T>(o: LoadOptions, fn: (qmp: Qmp, loaded: LoadResult) => Promise<T>): Promise<T> {
  const r = await loadInQemu(o);
  try {
    // A plain throw fails the test alike, and keeps this module free of vitest for `npm run bench` (the display bench boots guests with it).
    if (r.status !== 'completed') throw new Error(`QEMU ${o.version} did not load ${o.image}: status ${r.status}; ${r.stderr.join(' | ')}`);
    return await fn(r.qmp!, r);
  } finally {
    await r.quit();
  }
}

export interface GuestOptions {
  /** The system emulator (QEMU['7.2'], /usr/bin/qemu-system-s390x, …). */
  binary: string;
  /** Arguments after the binary; -display none, -nic none and the QMP socket are added. */
  args: string[];
  /** Files the arguments name relatively (payloads), copied into the guest's private folder. */
  files?: string[];
  /** Start the CPUs (the firmware runs and programs the PCI BARs); default: paused with -S. */
  running?: boolean;
}

export interface Guest {
  qmp: Qmp;
  /** The guest's private working folder (removed by quit). */
  dir: string;
  /** QEMU's stderr up to now. */
  stderr(): string;
  quit(): Promise<void>;
}

/** Starts a guest with QMP connected; call quit() in finally, or use withGuest. */
export async function startGuest(o: GuestOptions): Promise<Guest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-guest-'));
  for (const f of o.files ?? []) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  const socket = path.join(dir, 'qmp.sock');
  const proc = spawn(o.binary, [...o.args, ...(o.running ? [] : ['-S']), '-display', 'none', '-nic', 'none', '-qmp', `unix:${socket},server=on,wait=off`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let qmp: Qmp | undefined;
  const quit = async () => {
    try {
      if (qmp && proc.exitCode === null) await Promise.race([qmp.execute('quit').catch(() => undefined), sleep(2000)]);
    } finally {
      qmp?.close();
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    qmp = await Qmp.connect(socket, proc, 30_000);
  } catch (e) {
    await quit();
    throw new Error(`${o.binary} did not start: ${(e as Error).message}; stderr: ${stderr.trim()}`);
  }
  return { qmp, dir, stderr: () => stderr, quit };
}

/** Runs `fn` with a started guest and quits it whatever happens. */
export async function withGuest<T>(o: GuestOptions, fn: (guest: Guest) => Promise<T>): Promise<T> {
  const guest = await startGuest(o);
  try {
    return await fn(guest);
  } finally {
    await guest.quit();
  }
}

/**
 * Migrates the VM out into `file` (exec:cat) and waits until QEMU reports the migration
 * "completed"; a failed or cancelled migration, or none within the time, throws with QEMU's status.
 */
export async function migrateToFile(qmp: Qmp, file: string, timeoutMs = 120_000): Promise<void> {
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 2 ** 30 });
  await qmp.execute('migrate', { uri: `exec:cat > '${file.replace(/'/g, `'\\''`)}'` });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await qmp.execute<{ status: string; 'error-desc'?: string }>('query-migrate');
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') throw new Error(`the outgoing migration to ${file} ${info.status}: ${info['error-desc'] ?? 'no reason given'}`);
    if (Date.now() > deadline) throw new Error(`the outgoing migration to ${file} did not complete within ${timeoutMs} ms (status ${info.status})`);
    await sleep(50);
  }
}

export interface SaveOptions {
  version: QemuVersion;
  binary?: string;
  /** QEMU arguments (machine, devices); -S and the QMP socket are added. */
  args: string[];
  /** Files the arguments name relatively, copied into a private folder. */
  files?: string[];
  /** Where to write the image (absolute). */
  image: string;
  capabilities?: string[];
  parameters?: Record<string, unknown>;
  /** migrate to file:IMAGE (mapped-ram needs it) instead of exec:cat > IMAGE. */
  fileUri?: boolean;
  /** Let the guest run this long before migrating (a running guest), and migrate while it runs. */
  runMs?: number;
  /** Parameters to set this long after the migration started (to let an iterating migration converge). */
  converge?: { afterMs: number; parameters: Record<string, unknown> };
  timeoutMs?: number;
}

/** Starts QEMU paused with `args`, optionally lets the guest run, and migrates it to `image`. */
export async function saveInQemu(o: SaveOptions): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-qemu-save-'));
  for (const f of o.files ?? []) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  const socket = path.join(dir, 'qmp.sock');
  const proc = spawn(o.binary ?? QEMU[o.version], [...o.args, '-S', '-qmp', `unix:${socket},server=on,wait=off`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    const qmp = await Qmp.connect(socket, proc, 30_000);
    try {
      await migrateTo(qmp, o);
    } finally {
      await Promise.race([qmp.execute('quit').catch(() => undefined), sleep(2000)]);
      qmp.close();
    }
  } catch (e) {
    throw new Error(`saving with QEMU ${o.version} failed: ${(e as Error).message}; stderr: ${stderr.trim()}`);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Migrates the VM behind `qmp` to a file (exec:cat > IMAGE, or file:IMAGE) and waits until it completed. */
export async function migrateTo(qmp: Qmp, o: Pick<SaveOptions, 'image' | 'capabilities' | 'parameters' | 'fileUri' | 'runMs' | 'timeoutMs' | 'converge'>): Promise<void> {
  if (o.capabilities?.length) await qmp.execute('migrate-set-capabilities', { capabilities: o.capabilities.map((c) => ({ capability: c, state: true })) });
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3, ...(o.parameters ?? {}) });
  if (o.runMs) {
    await qmp.execute('cont');
    await sleep(o.runMs);
  }
  const uri = o.fileUri ? `file:${o.image}` : `exec:cat > '${o.image.replace(/'/g, `'\\''`)}'`;
  await qmp.execute('migrate', { uri });
  const started = Date.now();
  let converging = !o.converge;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    const { status } = await qmp.execute<{ status: string }>('query-migrate');
    if (status === 'completed') return;
    if (status === 'failed' || Date.now() > deadline) throw new Error(`migration ${status}`);
    if (!converging && Date.now() - started >= o.converge!.afterMs) {
      await qmp.execute('migrate-set-parameters', o.converge!.parameters);
      converging = true;
    }
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
