import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileSource } from '../../electron/io/file-source';
import { parseXen } from '../../shared/formats/xen/parse';
import type { XenStreamModel } from '../../shared/formats/xen/model';
import { piecesSource } from '../../shared/formats/xen/writer';
import type { Piece } from '../../shared/edit/pieces';
import { readBytes, type ByteSource } from '../../shared/io/byte-source';

/** Parses a Xen file and hands the open source and model to `fn`. */
export function withXen<T>(file: string, fn: (src: FileSource, model: XenStreamModel) => T): T {
  const src = new FileSource(file);
  try {
    return fn(src, parseXen(src));
  } finally {
    src.close();
  }
}

/** The bytes a writer's pieces stand for. */
export function piecesBytes(source: ByteSource, pieces: Piece[]): Uint8Array {
  const view = piecesSource(source, pieces);
  return readBytes(view, 0, view.size);
}

/** A fresh folder under the OS temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'migwb-xen-'): { dir: string; file: (name: string, bytes?: Uint8Array) => string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    file: (name, bytes) => {
      const p = path.join(dir, name);
      if (bytes) fs.writeFileSync(p, bytes);
      return p;
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
