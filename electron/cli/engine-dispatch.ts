import * as fs from 'node:fs';
import type { NodeEngineRow } from '../formats/node-format';

/** Options whose value is a file that is not an image. */
const NON_IMAGE_FILE_OPTIONS = new Set(['--db', '--journal', '--report', '--vmdesc-from', '--donor']);

/**
 * The engine a migwb command line is for: the command is one the engine serves and its image
 * argument (an existing file, by content) is the engine's image. Detection and the engines
 * are loaded only as far as needed: not at all without a file argument, the engines only
 * for an engine's image.
 */
export async function engineForCommandLine(argv: readonly string[]): Promise<NodeEngineRow | undefined> {
  const [command, ...rest] = argv;
  const files = rest.filter((a, i) => !a.startsWith('-') && !NON_IMAGE_FILE_OPTIONS.has(rest[i - 1]) && isRegularFile(a));
  if (!files.length) return undefined;
  const { loadEngineOf } = await import('../formats/engine-format');
  for (const file of files) {
    const engine = await loadEngineOf(file);
    if (engine) return engine.commands.has(command) ? engine : undefined;
  }
  return undefined;
}

function isRegularFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}
