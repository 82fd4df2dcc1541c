import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * QEMU's own analyser, the reference tool. .ci/run fetches it into build/tools with
 * ../shared/tools/get-analyze-migration.sh; MIGWB_ANALYZE_MIGRATION overrides the path.
 */
export const ANALYZE_MIGRATION =
  process.env.MIGWB_ANALYZE_MIGRATION ?? path.join(__dirname, '..', '..', 'build', 'tools', 'analyze-migration-10.0.py');

export const haveAnalyzeMigration = fs.existsSync(ANALYZE_MIGRATION);

/** stdout of `analyze-migration.py -f FILE -d MODE`, or undefined if the script fails on it. */
export function runAnalyzeMigration(file: string, mode: 'state' | 'desc'): string | undefined {
  try {
    return execFileSync('python3', [ANALYZE_MIGRATION, '-f', file, '-d', mode], {
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
  } catch {
    return undefined;
  }
}
