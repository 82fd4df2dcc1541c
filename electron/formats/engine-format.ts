import { peekFormat, type Detection } from '../../shared/formats/registry';
import type { NodeEngineRow } from './node-format';
import { FileSource } from '../io/file-source';

/**
 * Whether a file is a format with an engine of its own, told without loading any engine
 * (engines.ts loads them all, with their sessions, transforms and indexers): a command on a
 * QEMU image starts without evaluating them.
 */
export function detectEngineFormat(path: string): Detection | undefined {
  let file: FileSource | undefined;
  try {
    file = new FileSource(path);
    const detection = peekFormat(file);
    return detection?.format.engine ? detection : undefined;
  } catch {
    return undefined; // missing, not a regular file, unreadable: no engine's image
  } finally {
    file?.close();
  }
}

/** The engine that reads the file at `path`, loaded only when the file is its image (engines.ts's engineOf, for callers that start without the engines). */
export async function loadEngineOf(path: string): Promise<NodeEngineRow | undefined> {
  const detection = detectEngineFormat(path);
  if (!detection) return undefined;
  const { engineOfDetection } = await import('./engines');
  return engineOfDetection(detection);
}
