import * as fs from 'node:fs';
import * as path from 'node:path';
import { corpusPath } from '../helpers/corpus';
import { sealImage } from '../../electron/services/seal-image';

/**
 * A small library folder: hard links to corpus images (cheap, never modified: the corpus
 * must not change), copies where a test changes, renames or deletes files, a sealed copy,
 * a damaged image and a file that is not an image.
 */
export const LINKED = [
  ['qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'],
  ['qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'],
  ['qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig'],
  ['qemu', 'corrupt/x86_64-q35-minimal-running-32M.flip-hdr.mig'],
] as const;
export const COPIED = ['x86_64-pc-minimal-paused-16M.mig', 'x86_64-pc-ignore-shared-paused-16M.mig'] as const;

export function makeLibraryFolder(root: string): string {
  const lib = path.join(root, 'library');
  fs.mkdirSync(path.join(lib, 'sub', 'deeper'), { recursive: true });
  for (const [folder, name] of LINKED) linkOrCopy(corpusPath(folder, name), path.join(lib, path.basename(name)));
  for (const name of COPIED) fs.copyFileSync(corpusPath('qemu', name), path.join(lib, 'sub', name));
  sealImage(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), { kind: 'copy', output: path.join(lib, 'sub', 'deeper', 'sealed-without-extension') });
  fs.copyFileSync(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.meta.json'), path.join(lib, 'notes.mig'));
  return lib;
}

export function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to); // another filesystem
  }
}
