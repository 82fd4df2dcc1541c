import * as path from 'node:path';

/**
 * Where the build outputs are. Compiled, this file is build/electron/build-paths.js; run
 * from the TypeScript sources (tests), it is electron/build-paths.ts and the outputs are in
 * build/ (npm test builds first).
 */
const compiled = path.basename(path.dirname(__dirname)) === 'build';
export const BUILD_ROOT = compiled ? path.dirname(__dirname) : path.join(__dirname, '..', 'build');

/** The renderer bundle built by Vite. */
export const RENDERER_DIR = path.join(BUILD_ROOT, 'renderer');

/** The migwb launcher, for commands QEMU runs through a shell (exec: migration of a qcow2 snapshot). */
export const MIGWB_LAUNCHER = path.join(BUILD_ROOT, '..', 'bin', 'migwb.js');
