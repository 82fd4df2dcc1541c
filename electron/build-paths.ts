import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where build outputs are. Compiled, this file is build/electron/build-paths.js; run from
 * the TypeScript sources (tests), it is electron/build-paths.ts and the outputs are in
 * build/ (npm test builds first).
 */
const compiled = path.basename(path.dirname(__dirname)) === 'build';
export const BUILD_ROOT = compiled ? path.dirname(__dirname) : path.join(__dirname, '..', 'build');

/** Path of a compiled script of electron/ (workers need JavaScript), given the caller's __dirname. */
export function compiledScript(callerDir: string, name: string): string {
  const relative = path.relative(__dirname, callerDir);
  const file = path.join(BUILD_ROOT, 'electron', relative, name);
  if (!fs.existsSync(file)) throw new Error(`${path.relative(BUILD_ROOT, file)} is not built; run "npm run build" first`);
  return file;
}

/** The renderer bundle built by Vite. */
export const RENDERER_DIR = path.join(BUILD_ROOT, 'renderer');
