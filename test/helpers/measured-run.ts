import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Runs the real CLI (bin/migwb.js over the build) as a child process and measures it: wall
 * time, and peak RSS as the kernel counts it (the child's VmHWM from /proc, read until it
 * exits, which includes its worker threads). A watchdog kills a run that passes the time
 * or memory ceiling, so a regression fails the run instead of taking the machine down.
 */
export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
  peakRssMB: number;
  /** Why the watchdog stopped it, if it did. */
  killed?: 'time' | 'memory';
}

export interface MeasureOptions {
  timeoutMs?: number;
  maxRssMB?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Takes the child's standard output as bytes, instead of collecting it as text in `out`. */
  onStdout?: (bytes: Buffer) => void;
}

const REPO = path.resolve(__dirname, '..', '..');
/** The launcher, from the sources (vitest) or from build/test/helpers (bench). */
const LAUNCHER = [path.join(REPO, 'bin', 'migwb.js'), path.join(REPO, '..', 'bin', 'migwb.js')].find((p) => fs.existsSync(p))!;

export function measureMigwb(args: string[], options: MeasureOptions = {}): Promise<MeasuredRun> {
  return measureProcess(process.execPath, [LAUNCHER, ...args], options);
}

export function measureProcess(command: string, args: string[], options: MeasureOptions = {}): Promise<MeasuredRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRssMB = options.maxRssMB ?? 2048;
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let peakKB = 0;
  let killed: MeasuredRun['killed'];
  if (options.onStdout) child.stdout.on('data', options.onStdout);
  else child.stdout.setEncoding('utf8').on('data', (t: string) => void (out.length < 1 << 24 && (out += t)));
  child.stderr.setEncoding('utf8').on('data', (t: string) => void (err.length < 1 << 24 && (err += t)));
  const sample = () => {
    const kb = peakRssKB(child.pid);
    if (kb > peakKB) peakKB = kb;
    if (!killed && peakKB / 1024 > maxRssMB) {
      killed = 'memory';
      child.kill('SIGKILL');
    }
  };
  const poll = setInterval(sample, 20);
  const timer = setTimeout(() => {
    killed ??= 'time';
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'exit' comes before the pipes close: sample the last peak while /proc still has the process.
    child.on('exit', () => sample());
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, signal, out, err, ms: Number(process.hrtime.bigint() - started) / 1e6, peakRssMB: Math.round(peakKB / 1024), ...(killed ? { killed } : {}) });
    });
  });
}

/** VmHWM (peak resident set) of a running process, in KiB; 0 once it is gone or off Linux. */
function peakRssKB(pid: number | undefined): number {
  if (pid === undefined || os.platform() !== 'linux') return 0;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}
