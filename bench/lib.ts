import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sealImage } from '../electron/services/seal-image';

/** Shared helpers for `npm run bench`. Benchmarks print ratios; they are not tests. */
export const REPO = path.resolve(__dirname, '..', '..');
export const SHARED = path.resolve(REPO, '..', 'shared');
export const BENCH_DIR = process.env.MIGWB_BENCH_DIR ?? path.join(os.homedir(), '.cache', 'migwb', 'bench');
export const TOOLS_DIR = path.join(REPO, 'build', 'tools');
/** The installed launcher: what a user runs. */
export const MIGWB = path.join(REPO, 'bin', 'migwb.js');

export const BIG_IMAGES = {
  random1G: path.join(BENCH_DIR, 'x86_64-pc-2G-random1G-paused.mig'),
  zero4G: path.join(BENCH_DIR, 'x86_64-pc-4G-zero-paused.mig'),
};

/** Builds the large benchmark images with ../shared/tools/make-bench-images.sh if missing. */
export function ensureBenchImages(): void {
  if (Object.values(BIG_IMAGES).every((f) => fs.existsSync(f))) return;
  console.log(`making benchmark images in ${BENCH_DIR} (needs qemu-system-x86_64, about 20 s)`);
  execFileSync('bash', [path.join(SHARED, 'tools', 'make-bench-images.sh'), BENCH_DIR], { stdio: 'inherit' });
}

/** Path of QEMU's analyze-migration.py VERSION, fetched into build/tools if missing. */
export function analyzeMigration(version: '7.2' | '10.0'): string {
  const file = path.join(TOOLS_DIR, `analyze-migration-${version}.py`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(TOOLS_DIR, { recursive: true });
    execFileSync('bash', [path.join(SHARED, 'tools', 'get-analyze-migration.sh'), version, file], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return file;
}

/** Reads a file once so later runs measure warm-cache behaviour. */
export function warm(file: string): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let pos = 0; fs.readSync(fd, buf, 0, buf.length, pos) > 0; pos += buf.length);
  fs.closeSync(fd);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median wall time in ms of running a command `runs` times; throws if it fails. `beforeEach`
 * runs untimed before every run (deleting the last run's output is not part of the work).
 */
export function timeCommand(cmd: string, args: string[], runs: number, beforeEach?: () => void): number {
  return timeCommandWithCpu(cmd, args, runs, { beforeEach }).wall;
}

/**
 * Medians of a command's wall time and of the CPU time (user + system) it used, in ms. On a
 * shared machine the CPU time says what the command costs when the wall time says how long
 * it waited for a core; Linux only (the CPU time of waited-for children in /proc/self/stat,
 * in clock ticks of 10 ms), NaN elsewhere. `pipeStdout`: the command writes into a pipe, not
 * /dev/null (GNU grep stops at the first match when its output is /dev/null).
 */
export function timeCommandWithCpu(cmd: string, args: string[], runs: number, options: { beforeEach?: () => void; pipeStdout?: boolean } = {}): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    options.beforeEach?.();
    const cpu0 = childrenCpuMs();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', options.pipeStdout ? 'pipe' : 'ignore', 'pipe'], maxBuffer: 1 << 30 });
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    cpus.push(childrenCpuMs() - cpu0);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

/** User + system CPU ms of this process's waited-for children (cutime + cstime, at 100 ticks a second). */
export function childrenCpuMs(): number {
  try {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ');
    // After "pid (comm) ", field 3 (state) is index 0: cutime and cstime are fields 16 and 17.
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return NaN;
  }
}

/** Runs a bench child script (compiled next to this file) and returns its JSON result. */
export function runChild<T>(script: string, args: string[]): T {
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out) as T;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => '| ' + r.map((cell, c) => cell.padEnd(widths[c])).join(' | ') + ' |';
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

export function verdict(ok: boolean): string {
  return ok ? 'met' : 'NOT met';
}

/** A sealed copy of a benchmark image (section directory appended), made once in BENCH_DIR/sealed. */
export function sealedCopy(image: string): string {
  const sealed = path.join(BENCH_DIR, 'sealed', path.basename(image));
  if (!fs.existsSync(sealed) || fs.statSync(sealed).mtimeMs < fs.statSync(image).mtimeMs) {
    fs.mkdirSync(path.dirname(sealed), { recursive: true });
    sealImage(image, { kind: 'copy', output: sealed, overwrite: true });
  }
  return sealed;
}
