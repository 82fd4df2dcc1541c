import * as fs from 'node:fs';
import { engineOf } from '../formats/engines';
import type { NodeEngineRow } from '../formats/node-format';
import { UserError } from '../services/user-error';

/** Options whose value is a file that is not an image. */
const NON_IMAGE_FILE_OPTIONS = new Set(['--db', '--journal', '--report', '--vmdesc-from', '--donor']);

/**
 * The engine a migwb command line is for: the command is one the engine serves and its image
 * arguments (existing files, by content) are the engine's images. Images of an engine and
 * other images in one command (a search over Xen and QEMU images) are refused in one line.
 */
export function engineForCommandLine(argv: readonly string[]): NodeEngineRow | undefined {
  const [command, ...rest] = argv;
  const files = rest.filter((a, i) => !a.startsWith('-') && !NON_IMAGE_FILE_OPTIONS.has(rest[i - 1]) && isRegularFile(a));
  const engines = files.map((f) => engineOf(f)?.engine);
  const engine = engines.find((e) => e);
  if (!engine || !engine.commands.has(command)) return undefined;
  if (command === 'search' && engines.some((e) => e !== engine)) {
    throw new UserError(`search ${engine.name} streams and other images in separate runs: their memory is addressed differently`);
  }
  return engine;
}

function isRegularFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}
