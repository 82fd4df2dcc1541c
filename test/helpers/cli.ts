import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as path from 'node:path';
import { runCli } from '../../electron/cli/main';

export const REPO = path.join(__dirname, '..', '..');

/** Runs migwb in-process with captured output (`bytes`: what it wrote as raw bytes). */
export async function migwb(...args: string[]): Promise<{ code: number; out: string; err: string; bytes: Buffer }> {
  let out = '';
  let err = '';
  const raw: Buffer[] = [];
  const code = await runCli(args, { out: (t) => void (out += t), outBytes: (b) => void raw.push(Buffer.from(b)), err: (t) => void (err += t), errIsTTY: false });
  return { code, out, err, bytes: Buffer.concat(raw) };
}

/** Runs the real launcher (bin/migwb.js over the build) in a child process. */
export function migwbProcess(...args: string[]): { code: number; out: string; err: string } {
  return migwbProcessWith({}, ...args);
}

/** The real launcher with spawn options (another uid, another working directory, …). */
export function migwbProcessWith(options: SpawnSyncOptions, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), ...args], { maxBuffer: 1 << 28, ...options, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
