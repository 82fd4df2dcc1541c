import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHUNKED_SIGNATURE, MIN_CHUNK_SIZE } from '../../shared/formats/chunked/chunk-types';
import { RamFlag } from '../../shared/formats/qemu-stream/constants';
import { firstRecordStart, recordRange } from '../../shared/formats/qemu-stream/page-records';
import { crcOk } from '../../shared/formats/chunked/layer';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { MemorySource, readBytes } from '../../shared/io/byte-source';
import { openImage, openImageAsync } from '../../electron/services/open-image';
import { packImage } from '../../electron/services/pack-image';
import { unpackImage } from '../../electron/services/unpack-image';
import { packBytes, streamOf, tempDir, walk } from '../helpers/chunked';
import { corpusPath, damagedImages, qemuCorpusImages } from '../helpers/corpus';

/**
 * Packing and unpacking every image of the corpus: the unpacked stream is the original
 * stream byte for byte (QEMU 7.2 and 10.0 streams, libvirt saves raw and gzip, a qcow2
 * snapshot, damaged and extended copies), the container validates clean, and its chunks
 * begin exactly where the stream's elements begin.
 */
const WRAPPED = [corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'), corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav'), corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav'), corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2')];
const ALL = [...qemuCorpusImages(), ...WRAPPED, ...damagedImages('corrupt'), ...damagedImages('trailer')];

async function streamBytes(image: string): Promise<Buffer> {
  const img = await openImageAsync(image);
  try {
    return Buffer.from(readBytes(img.source, 0, img.source.size));
  } finally {
    img.close();
  }
}

describe('pack and unpack restore every corpus stream byte for byte', () => {
  for (const image of ALL) {
    it(path.relative(corpusPath(), image), async () => {
      const t = tempDir('pack');
      try {
        const original = await streamBytes(image);
        const packed = path.join(t.dir, 'x.migc');
        const result = await packImage(image, packed, {});
        expect(result.streamSize).toBe(original.length);
        expect(result.origin.stream_sha256).toMatch(/^[0-9a-f]{64}$/);
        const container = fs.readFileSync(packed);
        expect(container.subarray(0, 8)).toEqual(Buffer.from(CHUNKED_SIGNATURE));

        const unpacked = path.join(t.dir, 'x.mig');
        const u = await unpackImage(packed, unpacked);
        expect(u.stoppedBy).toBeUndefined();
        expect(u.complete).toBe(true);
        expect(fs.readFileSync(unpacked).equals(original)).toBe(true);

        // Opened like any image: the same stream, the container itself without problems.
        const img = openImage(packed);
        try {
          expect(img.kind).toBe('chunked-container');
          expect(img.containerDiagnostics).toEqual([]);
          expect(Buffer.from(readBytes(img.source, 0, img.source.size)).equals(original)).toBe(true);
          const direct = parseQemuStream(new MemorySource(original));
          expect(img.model.elements.map((e) => [e.type, e.offset, e.length])).toEqual(direct.elements.map((e) => [e.type, e.offset, e.length]));
          // Every element begins a chunk; every chunk that is not a continuation begins an element (or the stream header).
          const starts = new Set(img.model.elements.map((e) => e.offset));
          const layer = walk(container).layer;
          const opening = layer.chunks.filter((c) => c.stream !== undefined && c.type !== 'MORE' && !c.key.includes(' +'));
          if (direct.trailing) starts.add(direct.trailing.offset);
          expect(opening.map((c) => c.stream).filter((s) => s !== 0 && !starts.has(s!))).toEqual([]);
          // Up to the first bytes QEMU never reads (between EOF and the vmdesc), that is: a forward pass cannot find a vmdesc after them.
          const gap = direct.elements.findIndex((e, i) => e.type === 'UNKNOWN' && direct.elements.slice(0, i).some((x) => x.type === 'EOF'));
          for (const e of gap < 0 ? direct.elements : direct.elements.slice(0, gap + 1)) expect(opening.some((c) => c.stream === e.offset), `${e.type} at ${e.offset}`).toBe(true);
          expect(layer.chunks.every((c) => crcOk(c))).toBe(true);
        } finally {
          img.close();
        }
      } finally {
        t.remove();
      }
    });
  }
});

describe('the packer streams: any block sizes, any chunk size', () => {
  const image = corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig');
  const stream = fs.readFileSync(image);

  it('gives the same chunks whether the stream arrives in one block or in odd pieces', () => {
    const whole = packBytes(stream, { blocks: [stream.length] });
    for (const blocks of [[7, 4099, 13], [65536], [300_001, 5], [1, 2, 3, 5, 8, 13, 21, 34, 55, 89]]) expect(packBytes(stream, { blocks }).equals(whole), `blocks ${blocks}`).toBe(true);
    // Byte by byte, for the first 200 KiB (the header, the configuration, the RAM block list and many records).
    const head = stream.subarray(0, 200 << 10);
    expect(packBytes(head, { blocks: [1] }).equals(packBytes(head, { blocks: [head.length] }))).toBe(true);
  });

  it('keeps RAM records whole and no chunk larger than the chunk size', () => {
    const model = parseQemuStream(new MemorySource(stream));
    const records = new Set<number>();
    for (let r = 0; r < model.pages.runCount; r++) {
      const run = model.pages.run(r);
      const first = firstRecordStart(new MemorySource(stream), model, r);
      for (let k = 0; k < run.count; k++) records.add(recordRange(run, first, k).start);
    }
    for (const chunkSize of [MIN_CHUNK_SIZE, 40_000, 1 << 20]) {
      const container = packBytes(stream, { chunkSize, blocks: [65_536] });
      const { layer, diagnostics } = walk(container);
      expect(diagnostics).toEqual([]);
      expect(streamOf(container).equals(stream)).toBe(true);
      expect(Math.max(...layer.chunks.filter((c) => c.stream !== undefined).map((c) => c.length))).toBeLessThanOrEqual(chunkSize);
      // Every RAM continuation starts at a record: a page record, or a flags-only one (EOS, MULTIFD_FLUSH).
      const ram = layer.chunks.filter((c) => c.type === 'MORE' && c.key.startsWith('PART ram'));
      if (chunkSize < stream.length / 4) expect(ram.length).toBeGreaterThan(0);
      const flagsOnly = (at: number) => (stream.readUInt32BE(at + 4) & ~(RamFlag.EOS | RamFlag.MULTIFD_FLUSH)) === 0 && stream.readUInt32BE(at) === 0;
      expect(ram.filter((c) => !records.has(c.stream!) && !flagsOnly(c.stream!)).map((c) => c.key)).toEqual([]);
    }
  });
});
