import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../electron/io/file-source';
import { declaredRamBytes } from '../../shared/formats/qemu-stream/declared-ram';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { qemuCorpusImages } from '../helpers/corpus';

/**
 * The RAM a stream declares in its first megabyte (its MEM_SIZE block list) bounds what a
 * compressed save whose XML says nothing may decompress to (issue 11): it must be exactly
 * what the whole stream's block list adds up to, for every architecture in the corpus.
 */
describe('the RAM a stream declares at its start', () => {
  it('equals the block list of the whole stream, read from the first 1 MiB', () => {
    const images = qemuCorpusImages();
    expect(images.length).toBeGreaterThan(3);
    for (const image of images) {
      const fd = fs.openSync(image, 'r');
      const start = Buffer.alloc(Math.min(1 << 20, fs.fstatSync(fd).size));
      fs.readSync(fd, start, 0, start.length, 0);
      fs.closeSync(fd);
      const source = new FileSource(image);
      const whole = parseQemuStream(source).elements.find((e) => e.ramBlocks?.length)?.ramBlocks ?? [];
      source.close();
      // A mapped-ram stream's pages sit at file offsets past its start, so its first MiB parses
      // as cut: no bound from it (such a stream cannot be compressed anyway: it needs seeking).
      const mappedRam = whole.some((b) => b.mappedRam);
      expect(declaredRamBytes(start), image).toBe(mappedRam ? undefined : whole.reduce((n, b) => n + b.usedLength, 0));
    }
  });

  it('is undefined for bytes that are no QEMU stream, or stop before the block list', () => {
    expect(declaredRamBytes(Buffer.alloc(1 << 20, 0xa5))).toBeUndefined();
    expect(declaredRamBytes(Buffer.from('QEVM\0\0\0\x03'))).toBeUndefined();
  });
});
