import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Temporary files name the process that writes them, so a later run can tell the files of
 * a writer killed with kill -9 (or a crash, or a power cut) from those of one still at work,
 * and remove only the former. Each pattern captures the writer's PID.
 */
export const TEMPORARY_PATTERNS = {
  /** writeFileAtomic / saveAtomically: `.NAME.migwb-PID-HEX.tmp` beside the target. */
  atomicWrite: /^\..*\.migwb-(\d+)-[0-9a-f]+\.tmp$/,
  /** The decompression cache: `KEY.qevm.tmp-PID-TIME` while decompressing, `KEY.partial-PID.*` for a stream kept only by its process. */
  decompressCache: /^[0-9a-f]{64}\.(?:qevm\.tmp-(\d+)-\d+|partial-(\d+)\.(?:qevm|json))$/,
} as const;

/** Whether a process with this id is running (EPERM: it is, as another user). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` matching `pattern` whose writer is no longer running.
 * Best effort: a folder that cannot be listed, or a file another run removed first, is fine.
 * Returns the number of files removed.
 */
export function removeStaleTemporaries(dir: string, pattern: RegExp): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = pattern.exec(name);
    const pid = m ? Number(m.slice(1).find((g) => g !== undefined)) : NaN;
    if (!Number.isInteger(pid) || processAlive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true });
      removed++;
    } catch {
      // not ours to remove after all (permissions): leave it
    }
  }
  return removed;
}
