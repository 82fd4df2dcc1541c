import { spawnSync } from 'node:child_process';

/**
 * Outside tools the tests use, found the same way everywhere. A test that needs one is a
 * visible skip (`skipIf`, with the reason in its title) where the tool is missing, and
 * test/architecture/ci-tools.test.ts fails in CI if any is missing, so CI never skips.
 */

/** True if `command …args` runs and exits 0 (`--version` by default). */
export function toolRuns(command: string, args: string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** qemu-img (7.2 from Debian, else the one beside QEMU 10.0). */
export const QEMU_IMG = ['/usr/bin/qemu-img', '/opt/qemu-10.0/bin/qemu-img'].find((p) => toolRuns(p));

/** .ci/run sets MIGWB_REQUIRE_TOOLS=1: there every tool must be present. */
export const TOOLS_REQUIRED = process.env.MIGWB_REQUIRE_TOOLS === '1';
