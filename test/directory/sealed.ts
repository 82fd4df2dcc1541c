import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileSource } from '../../electron/io/file-source';
import { loadStreamDetailed, type LoadedStream, type LoadOptions } from '../../electron/services/load-stream';
import { sealImage } from '../../electron/services/seal-image';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';

/** A private temporary folder for one test file's outputs. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `migwb-${prefix}-`));
}

/** Seals `image` into a copy in `dir` and returns the copy's path. */
export function sealedCopy(image: string, dir: string, name = path.basename(image)): string {
  const out = path.join(dir, name);
  sealImage(image, { kind: 'copy', output: out });
  return out;
}

/** Opens a file and loads its model the way the workbench does (directory, sidecar, scan). */
export function load(file: string, options: LoadOptions = {}): LoadedStream {
  const src = new FileSource(file);
  try {
    return loadStreamDetailed(src, options);
  } finally {
    src.close();
  }
}

/** The model as plain data (page runs listed), for deep comparison. */
export function comparable(model: QemuStreamModel): unknown {
  return { ...model, pages: [...model.pages.runs()] };
}
