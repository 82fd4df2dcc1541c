import * as fs from 'node:fs';
import { UserError } from '../../services/user-error';
import { XEN_COMMANDS } from './xen-cli';
import { isXenFile } from './xen-file';

/**
 * Whether a migwb command line is about Xen streams: a command the Xen commands provide and
 * image arguments that are Xen streams by content (never by name). Mixing Xen and QEMU images
 * in one search is refused with a one-line error.
 */
export function isXenCommandLine(argv: readonly string[]): boolean {
  const [command, ...rest] = argv;
  if (!XEN_COMMANDS.has(command) || command === 'transform') return false;
  const files = rest.filter((a) => !a.startsWith('-') && isRegularFile(a));
  const xen = files.filter(isXenFile);
  if (!xen.length) return false;
  if (command === 'search' && xen.length !== files.length) throw new UserError('search Xen streams and QEMU images in separate runs: their memory is addressed differently (pfns vs RAM blocks)');
  return true;
}

function isRegularFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}
