import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

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

export function haveQemu(version: QemuVersion): boolean {
  return binaryWorks(QEMU[version], version);
}

/** Another system emulator of a version: qemu-system-arm, -aarch64, -riscv64, -s390x (7.2: Debian's qemu-system-arm/-misc). */
export function qemuBinary(version: QemuVersion, name: string): string {
  return path.join(path.dirname(QEMU[version]), name);
}

/** The binary exists and is that QEMU version. */
export function binaryWorks(bin: string, version: QemuVersion): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 && (r.stdout ?? '').startsWith(`QEMU emulator version ${version}.`);
}

/** Polls `done` every 50 ms for up to a minute. */
export async function until(done: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface GuestOptions {
  /** The system emulator (a path); default QEMU 7.2's x86_64. */
  binary?: string;
  /** Machine, memory and devices; -S, -display none and QMP are added. */
  args: string[];
  /** Files the arguments name relatively (payload, disks): copied into the guest's private folder. */
  files?: string[];
  /** Let the guest run this long before it is saved (firmware only; no OS is needed). */
  runMs?: number;
}

/** A guest made at test time (no OS needed: a paused or firmware-only VM), reachable over QMP. */
export interface Guest {
  qmp: Qmp;
  /** The guest's private folder (its files, the QMP socket). */
  dir: string;
  /** Migrates the VM into `file` (exec:cat) with these capabilities, and waits until it completed. */
  saveTo(file: string, capabilities?: string[]): Promise<void>;
  quit(): Promise<void>;
}

export async function startGuest(o: GuestOptions): Promise<Guest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-guest-'));
  for (const f of o.files ?? []) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  const socket = path.join(dir, 'qmp.sock');
  const proc = spawn(o.binary ?? QEMU['7.2'], [...o.args, '-S', '-display', 'none', '-qmp', `unix:${socket},server=on,wait=off`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const quit = async (qmp?: Qmp) => {
    if (qmp && proc.exitCode === null) await Promise.race([qmp.execute('quit').catch(() => undefined), sleep(2000)]);
    qmp?.close();
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let qmp: Qmp;
  try {
    qmp = await Qmp.connect(socket, proc, 30_000);
    if (o.runMs) {
      await qmp.execute('cont');
      await sleep(o.runMs);
    }
  } catch (e) {
    await quit();
    throw new Error(`${(e as Error).message}; QEMU said: ${stderr.trim()}`);
  }
  return {
    qmp,
    dir,
    async saveTo(file, capabilities = []) {
      if (capabilities.length) await qmp.execute('migrate-set-capabilities', { capabilities: capabilities.map((c) => ({ capability: c, state: true })) });
      await qmp.execute('migrate', { uri: `exec:cat > '${file.replace(/'/g, `'\\''`)}'` });
      let status = '';
      await until(async () => ['completed', 'failed'].includes((status = (await qmp.execute('query-migrate')).status)), 'the migration');
      if (status !== 'completed') throw new Error(`the migration to ${file} ${status}; QEMU said: ${stderr.trim()}`);
    },
    quit: () => quit(qmp),
  };
}

/** Makes a guest, saves it into `file`, and ends it. */
export async function saveGuest(o: GuestOptions & { file: string; capabilities?: string[] }): Promise<void> {
  const guest = await startGuest(o);
  try {
    await guest.saveTo(o.file, o.capabilities);
  } finally {
    await guest.quit();
  }
}

/** A QMP connection: JSON commands, events collected on the side. */
export class Qmp {
  private buffer = '';
  private readonly waiting: { resolve: (msg: any) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  readonly events: any[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    // QEMU may exit at any moment (a failed load ends the process): fail whatever waits.
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line);
        if (msg.event) this.events.push(msg);
        else this.waiting.shift()?.resolve(msg);
      }
    });
  }

  static async connect(socketPath: string, proc: ChildProcess, timeoutMs: number): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`QEMU exited with status ${proc.exitCode} before QMP was reachable`);
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(socketPath, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(socket);
        await qmp.next(); // greeting
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (e) {
        if (proc.exitCode !== null || Date.now() > deadline) throw e;
        await sleep(50);
      }
    }
  }

  private next(): Promise<any> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<any> {
    const reply = this.next();
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const msg = await reply;
    if (msg.error) throw new Error(`QMP ${command}: ${msg.error.desc}`);
    return msg.return;
  }

  /** An HMP command line through QMP (human-monitor-command); returns its text output. */
  hmp(commandLine: string): Promise<string> {
    return this.execute('human-monitor-command', { 'command-line': commandLine });
  }

  close(): void {
    this.socket.destroy();
  }
}

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
  timeoutMs?: number;
  /** Another system emulator of the same version (qemu-system-arm, -riscv64, …); default the x86_64 one. */
  binary?: string;
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
  quit(): Promise<void>;
}

/**
 * Starts QEMU paused with the image as incoming migration (like NAME.meta.json's
 * load_check) and waits until the load completed or failed.
 */
export async function loadInQemu(o: LoadOptions): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-qemu-'));
  for (const f of o.files ?? []) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  const socket = path.join(dir, 'qmp.sock');
  const quoted = `'${o.image.replace(/'/g, `'\\''`)}'`;
  const incoming = o.capabilities?.length ? ['-incoming', 'defer'] : ['-incoming', `exec:cat ${quoted}`];
  const proc = spawn(o.binary ?? (o.version === '7.2' ? QEMU['7.2'] : QEMU['10.0']), [...o.args, '-S', ...incoming, '-qmp', `unix:${socket},server=on,wait=off`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timeoutMs = o.timeoutMs ?? 120_000;
  const lines = () => stderr.split('\n').filter((l) => l && !l.includes('has no peer'));
  const quit = async (qmp?: Qmp) => {
    try {
      if (qmp && proc.exitCode === null) await Promise.race([qmp.execute('quit').catch(() => undefined), sleep(2000)]);
    } finally {
      qmp?.close();
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  let qmp: Qmp | undefined;
  try {
    qmp = await Qmp.connect(socket, proc, 30_000);
    if (o.capabilities?.length) {
      await qmp.execute('migrate-set-capabilities', { capabilities: o.capabilities.map((c) => ({ capability: c, state: true })) });
      await qmp.execute('migrate-incoming', { uri: `exec:cat ${quoted}` });
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await Promise.race([
        qmp.execute('query-migrate').then((r) => r.status as string, () => 'exited'),
        exited.then(() => 'exited'),
      ]);
      if (status === 'completed') {
        const runstate = (await qmp.execute('query-status')).status;
        const q = qmp;
        return { loaded: true, status, runstate, exitCode: null, stderr: lines(), qmp: q, quit: () => quit(q) };
      }
      if (status === 'failed' || status === 'exited' || Date.now() > deadline) {
        const exitCode = await Promise.race([exited, sleep(3000).then(() => null)]);
        const q = qmp;
        await quit(q);
        return { loaded: false, status: status === 'exited' ? 'qemu exited' : status, exitCode, stderr: lines(), quit: async () => undefined };
      }
      await sleep(50);
    }
  } catch (e) {
    const exitCode = await Promise.race([exited, sleep(3000).then(() => null)]);
    await quit(qmp);
    return { loaded: false, status: `qemu exited (${(e as Error).message})`, exitCode, stderr: lines(), quit: async () => undefined };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
