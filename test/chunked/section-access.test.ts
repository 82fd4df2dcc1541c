import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSectionFromChunks } from '../../shared/formats/chunked/section-access';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { MemorySource } from '../../shared/io/byte-source';
import { packBytes } from '../helpers/chunked';
import { corpusPath } from '../helpers/corpus';

/**
 * A device section read from a container's chunks alone (no directory, no stream scan) is
 * the same as the full parse decodes: bytes, stream offset and every field, for every
 * device section of a QEMU 7.2 and a QEMU 10.0 image; a damaged chunk says so.
 */
describe('reading a section from its chunks without a directory', () => {
  for (const image of [corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'), corpusPath('qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig')]) {
    it(image.split('/').slice(-2).join('/'), () => {
      const stream = fs.readFileSync(image);
      const container = packBytes(stream, { chunkSize: 64 << 10 });
      const model = parseQemuStream(new MemorySource(stream));
      const fulls = model.elements.filter((e) => e.type === 'FULL');
      for (const e of fulls) {
        const got = readSectionFromChunks(new MemorySource(container), `${e.idstr}:${e.instanceId}`)!;
        expect(got.crcOk).toBe(true);
        expect(got.streamOffset).toBe(e.offset);
        expect(Buffer.from(got.bytes).equals(stream.subarray(e.offset, e.offset + e.length))).toBe(true);
        expect(got.fields).toEqual(decodeSection(new MemorySource(stream), model, e).nodes);
      }
      expect(readSectionFromChunks(new MemorySource(container), 'no-such-device')).toBeUndefined();
      const damaged = Buffer.from(container);
      const cpu = readSectionFromChunks(new MemorySource(container), 'cpu')!;
      damaged[cpu.chunks[0].offset + 40] ^= 1;
      expect(readSectionFromChunks(new MemorySource(damaged), 'cpu')!.crcOk).toBe(false);
    });
  }
});
