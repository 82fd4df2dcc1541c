import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OpenedImage } from './open-image';
import { planLaunch, type LaunchOptions, type LaunchPlan } from './qemu-launch';
import { Qmp } from './qmp';
import { UserError } from './user-error';

/**
 * `migwb load`: starts the QEMU of qemu-args paused, with the image as incoming migration
 * and two monitor sockets (QMP and HMP), and waits until QEMU has read the stream. QEMU is
 * started in its own process group, so it can outlive migwb (--detach).
 */
export interface LoadStartOptions extends LaunchOptions {
  /** Where the sockets and QEMU's log go (default: a new folder in the temp dir). */
  socketDir?: string;
  /** Leave QEMU running when migwb exits. */
  detach?: boolean;
  timeoutMs?: number;
}

export interface LoadedVm {
  plan: LaunchPlan;
  binary: string;
  pid: number;
  qmpSocket: string;
  hmpSocket: string;
  /** QEMU's stderr. */
  log: string;
  /** completed: QEMU loaded the stream; failed: it refused it (see `errors`). */
  status: 'completed' | 'failed';
  /** The guest's run state after the load (prelaunch or paused: it does not run until "cont"). */
  runstate?: string;
  /** QEMU's error lines, when it refused the stream. */
  errors: string[];
  child: ChildProcess;
  qmp?: Qmp;
}

export async function startLoad(img: OpenedImage, options: LoadStartOptions = {}): Promise<LoadedVm> {
  const dir = options.socketDir ? path.resolve(options.socketDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-load-'));
  fs.mkdirSync(dir, { recursive: true });
  const qmpSocket = path.join(dir, 'qmp.sock');
  const hmpSocket = path.join(dir, 'hmp.sock');
  const log = path.join(dir, 'qemu.log');
  for (const s of [qmpSocket, hmpSocket]) if (fs.existsSync(s)) throw new UserError(`${s} exists: another QEMU may be using ${dir}; give another --socket-dir`);
  const plan = planLaunch(img, { ...options, extra: ['-qmp', `unix:${qmpSocket},server=on,wait=off`, '-monitor', `unix:${hmpSocket},server=on,wait=off`] });
  const binary = plan.qemu?.path ?? findOnPath(plan.command.binary);
  if (!binary) throw new UserError(`${plan.command.binary} is not on PATH; give the emulator with --qemu BIN or a version with --to`);
  const errFd = fs.openSync(log, 'w');
  const child = spawn(binary, plan.command.argv, { cwd: dir, detached: true, stdio: ['ignore', 'ignore', errFd] });
  fs.closeSync(errFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = { plan, binary, pid: child.pid ?? -1, qmpSocket, hmpSocket, log, child };
  const errors = () => qemuErrors(fs.readFileSync(log, 'utf8'));
  let qmp: Qmp;
  try {
    qmp = await Qmp.connect(qmpSocket, child, 30_000);
  } catch {
    await Promise.race([exited, sleep(3000)]);
    return { ...base, status: 'failed', errors: errors() };
  }
  try {
    for (const c of plan.command.qmp) await qmp.execute(c.execute, c.arguments);
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      const status = await Promise.race([qmp.execute<{ status: string }>('query-migrate').then((r) => r.status, () => 'exited'), exited.then(() => 'exited')]);
      if (status === 'completed') {
        const runstate = (await qmp.execute<{ status: string }>('query-status')).status;
        if (options.detach) child.unref();
        return { ...base, status: 'completed', runstate, errors: [], qmp };
      }
      if (status === 'failed' || status === 'exited') break;
      if (Date.now() > deadline) throw new UserError(`QEMU had not finished reading the image after ${Math.round((options.timeoutMs ?? 600_000) / 1000)} s; it was stopped`);
      await sleep(50);
    }
  } catch (e) {
    if (!(e instanceof Error) || !/QMP/.test(e.message)) {
      stop(child, qmp);
      throw e;
    }
  }
  await Promise.race([exited, sleep(3000)]);
  stop(child, qmp);
  return { ...base, status: 'failed', errors: errors() };
}

/** Ends a QEMU started by startLoad (quit over QMP, else SIGKILL to its process). */
export function stop(child: ChildProcess, qmp?: Qmp): void {
  if (child.exitCode === null && child.signalCode === null) {
    qmp?.execute('quit').catch(() => undefined);
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 2000).unref();
  }
  setTimeout(() => qmp?.close(), 2100).unref();
}

/** QEMU's stderr without its warnings: the lines that say why it stopped. */
export function qemuErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() && !/: warning: /.test(l));
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
