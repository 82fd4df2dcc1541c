import fc from 'fast-check';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OffsetMap } from '../../shared/api/offset-map';
import { readBytes } from '../../shared/io/byte-source';
import { openImage } from '../../electron/services/open-image';
import { corpusPath } from '../helpers/corpus';

/**
 * The one offset map: wherever it gives a file offset for a stream byte, the file holds
 * that byte there, and the way back leads to the same stream offset.
 */
describe('OffsetMap', () => {
  for (const image of [corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'), corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'), corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig')]) {
    it(`${path.basename(image)}: a mapped stream byte is that file byte, and maps back`, () => {
      const img = openImage(image);
      try {
        let mapped = 0;
        fc.assert(
          fc.property(fc.integer({ min: 0, max: img.source.size - 1 }), (offset) => {
            const file = img.offsets.fileOffsetOf(offset);
            if (file === undefined) return;
            mapped++;
            expect(readBytes(img.file, file, 1)).toEqual(readBytes(img.source, offset, 1));
            expect(img.offsets.streamOffsetOf(file)).toBe(offset);
            expect(img.offsets.translate(file, 'file')).toBe(offset);
          }),
          { numRuns: 200 },
        );
        // The corpus images are stored as they are (the qcow2 vmstate in data clusters).
        expect(mapped).toBe(200);
      } finally {
        img.close();
      }
    });
  }

  it('a stream stored whole in the file lists file offsets; a vmstate or a decompressed stream lists its own', () => {
    expect(OffsetMap.linear(0x1000).listed(8)).toBe(0x1008);
    expect(new OffsetMap('vmstate', [{ stream: 0, file: 0x50000, length: 0x10000 }]).listed(8)).toBe(8);
    expect(OffsetMap.unmapped('decompressed').listed(8)).toBe(8);
  });

  it('pieces out of file order map both ways; bytes between pieces map nowhere', () => {
    const map = new OffsetMap('vmstate', [
      { stream: 0, file: 0x3000, length: 0x1000 },
      { stream: 0x1000, file: 0x1000, length: 0x1000 },
      { stream: 0x3000, file: 0x5000, length: 0x1000 },
    ]);
    expect([map.fileOffsetOf(0x10), map.fileOffsetOf(0x1010), map.fileOffsetOf(0x2010), map.fileOffsetOf(0x3fff), map.fileOffsetOf(0x4000)]).toEqual([0x3010, 0x1010, undefined, 0x5fff, undefined]);
    expect([map.streamOffsetOf(0x3010), map.streamOffsetOf(0x1010), map.streamOffsetOf(0x2010), map.streamOffsetOf(0x5000)]).toEqual([0x10, 0x1010, undefined, 0x3000]);
    expect(map.place(0x2010)).toEqual({ offset: 0x2010, offsetSpace: 'vmstate', streamOffset: 0x2010 });
    expect(map.place(0x10)).toEqual({ offset: 0x3010, offsetSpace: 'file', streamOffset: 0x10 });
  });

  it('describes offsets as the inspector shows them', () => {
    const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
    expect(OffsetMap.ofImage({ streamBase: 0x10, offsetSpace: 'file' }).describe(4, 'stream', hex)).toBe('0x00000004 (4) · file 0x00000014');
    expect(OffsetMap.ofImage({ streamBase: 0, offsetSpace: 'file' }).describe(4, 'stream', hex)).toBe('0x00000004 (4)');
    expect(OffsetMap.ofImage({ streamBase: 0x10, offsetSpace: 'file' }).describe(4, 'file', hex)).toBe('file 0x00000004 (4)');
    expect(OffsetMap.ofImage({ streamBase: null, offsetSpace: 'vmstate' }).describe(4, 'stream', hex)).toBe('vmstate 0x00000004 (4)');
    expect(OffsetMap.ofImage({ streamBase: null, offsetSpace: 'decompressed' }).describe(4, 'stream', hex)).toBe('decompressed stream 0x00000004 (4)');
  });
});
