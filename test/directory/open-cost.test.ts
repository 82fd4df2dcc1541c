import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusPath } from '../helpers/corpus';
import { FileSource } from '../../electron/io/file-source';
import { loadStreamDetailed } from '../../electron/services/load-stream';
import type { ByteSource } from '../../shared/io/byte-source';
import { sealedCopy, tempDir } from './sealed';

/** Counts the bytes a load reads, to show opening a sealed image reads only its tail. */
class CountingSource implements ByteSource {
  bytesRead = 0;
  reads = 0;
  constructor(private readonly inner: FileSource) {}
  get size(): number {
    return this.inner.size;
  }
  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    const n = this.inner.readInto(target, targetOffset, length, position);
    this.bytesRead += n;
    this.reads++;
    return n;
  }
}

function measure(file: string) {
  const inner = new FileSource(file);
  try {
    const src = new CountingSource(inner);
    const { model, via } = loadStreamDetailed(src);
    const directory = model.elements.find((e) => e.type === 'DIRECTORY')?.length ?? 0;
    return { via, bytesRead: src.bytesRead, reads: src.reads, directory, vmdesc: model.vmdescLocation?.jsonLength ?? 0, size: src.size };
  } finally {
    inner.close();
  }
}

const dir = tempDir('open-cost');

describe('opening a sealed image reads its tail, the directory and the vmdesc, whatever the stream size', () => {
  const images = ['x86_64-pc-minimal-paused-16M.mig', 'x86_64-q35-minimal-running-32M.mig', 'x86_64-pc-xbzrle-dirty-running-32M.mig'].map((f) => corpusPath('qemu', f));
  images.push(corpusPath('qemu10', 'x86_64-pc-mapped-ram-payload-paused-4M.mig'));

  it.each(images.map((f) => [path.basename(f), f]))('%s', (_, image) => {
    const m = measure(sealedCopy(image, dir));
    expect(m.via).toBe('directory');
    // Besides the directory and the vmdesc: locators, header, and the sampled headers/records
    // re-read for validation, a few KiB whatever the image's size.
    const other = m.bytesRead - m.directory - m.vmdesc;
    expect(other).toBeLessThan(12 * 1024);
    expect(m.reads).toBeLessThan(80);
    // A scan reads the whole file; this read a small part of it.
    expect(m.bytesRead).toBeLessThan(m.size / 3);
  });
});
