import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * QEMU's own analyser, the reference tool. .ci/run fetches it into build/tools with
 * ../shared/tools/get-analyze-migration.sh; MIGWB_ANALYZE_MIGRATION overrides the path.
 */
export const ANALYZE_MIGRATION =
  process.env.MIGWB_ANALYZE_MIGRATION ?? path.join(__dirname, '..', '..', 'build', 'tools', 'analyze-migration-10.0.py');

export const haveAnalyzeMigration = fs.existsSync(ANALYZE_MIGRATION);

export interface AnalyzeRun {
  /** The script exited 0. */
  ok: boolean;
  stdout: string;
  /** What the script printed on stderr (its traceback and exceptions, when it failed). */
  stderr: string;
}

/**
 * Runs `analyze-migration.py -f FILE -d MODE`. The script failing on a file is a result
 * (`ok: false` with its error); python3 or the script missing is not, and throws.
 */
export function runAnalyzeMigration(file: string, mode: 'state' | 'desc', script = ANALYZE_MIGRATION): AnalyzeRun {
  if (!fs.existsSync(script)) throw new Error(`analyze-migration.py is not at ${script}; .ci/run fetches it with ../shared/tools/get-analyze-migration.sh`);
  const r = spawnSync('python3', [script, '-f', file, '-d', mode], { maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.error) throw new Error(`could not run python3 ${script}: ${r.error.message}`);
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** The script's output for a file it must be able to read; throws with its error otherwise. */
export function analyzeMigrationOutput(file: string, mode: 'state' | 'desc', script = ANALYZE_MIGRATION): string {
  const r = runAnalyzeMigration(file, mode, script);
  if (!r.ok) throw new Error(`analyze-migration.py -d ${mode} failed on ${file}: ${r.stderr.trimEnd().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}
