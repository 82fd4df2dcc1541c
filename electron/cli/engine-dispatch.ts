import * as fs from 'node:fs';
import { engineOf } from '../formats/engines';
import type { NodeEngineRow } from '../formats/node-format';

/** Options whose value is a file that is not an image. */
const NON_IMAGE_FILE_OPTIONS = new Set(['--db', '--journal', '--report', '--vmdesc-from', '--donor']);

/**
 * The engine a migwb command line is for: the command is one the engine serves and its image
 * argument (an existing file, by content) is the engine's image.
 */
export function engineForCommandLine(argv: readonly string[]): NodeEngineRow | undefined {
  const [command, ...rest] = argv;
  const files = rest.filter((a, i) => !a.startsWith('-') && !NON_IMAGE_FILE_OPTIONS.has(rest[i - 1]) && isRegularFile(a));
  const engine = files.map((f) => engineOf(f)?.engine).find((e) => e);
  return engine && engine.commands.has(command) ? engine : undefined;
}

function isRegularFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}
