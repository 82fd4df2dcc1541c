import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Set by esbuild in the bundled CLI (build-cli.mjs): the way from the bundle's folder up to
 * build/ (".." for build/cli/migwb.js, "../.." for its workers in build/cli/workers/).
 */
declare const MIGWB_BUNDLE_TO_BUILD_ROOT: string | undefined;

/** True in the bundled CLI and its bundled workers, false in the app's and the tests' code. */
export const BUNDLED_CLI = typeof MIGWB_BUNDLE_TO_BUILD_ROOT === 'string';

/**
 * Where the build outputs are. Compiled, this file is build/electron/build-paths.js; in the
 * bundled CLI, the bundle says where build/ is. Run from the TypeScript sources (tests), it
 * is electron/build-paths.ts and the outputs are in build/ (npm test builds first).
 */
const compiled = path.basename(path.dirname(__dirname)) === 'build';
export const BUILD_ROOT = BUNDLED_CLI ? path.resolve(__dirname, MIGWB_BUNDLE_TO_BUILD_ROOT!) : compiled ? path.dirname(__dirname) : path.join(__dirname, '..', 'build');

/** The version in the repository's package.json (beside build/). */
export function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(BUILD_ROOT, '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** The renderer bundle built by Vite. */
export const RENDERER_DIR = path.join(BUILD_ROOT, 'renderer');

/** The migwb launcher, for commands QEMU runs through a shell (exec: migration of a qcow2 snapshot). */
export const MIGWB_LAUNCHER = path.join(BUILD_ROOT, '..', 'bin', 'migwb.js');
