import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRamBlock, readGuestRange } from '../../shared/formats/qemu-stream/ram-reader';
import { corpusPath, metaOf, qemuCorpusImages } from '../helpers/corpus';
import { withImage } from '../helpers/parse';

const PAYLOAD = fs.readFileSync(corpusPath('qemu', 'payload-1M.bin'));
const PAYLOAD_SHA256 = createHash('sha256').update(PAYLOAD).digest('hex');

describe('the planted payload of NAME.meta.json is found at its block offset with the stated sha256', () => {
  it('every image named for a payload states one in its meta (so none of them is left out below)', () => {
    const named = qemuCorpusImages().filter((image) => /-payload-/.test(path.basename(image)));
    expect(named.length).toBeGreaterThanOrEqual(12);
    for (const image of named) expect(metaOf(image).planted_payload, path.basename(image)).toBeDefined();
  });

  for (const image of qemuCorpusImages()) {
    const payload = metaOf(image).planted_payload!;
    if (!payload) continue;
    it(path.basename(image), () => {
      // Older metas state the block offset; pc.ram below 640 KiB..4 GiB maps guest-physical 1:1.
      const offset = parseInt(payload.ramblock_offset ?? payload.guest_phys_addr, 16);
      const bytes = withImage(image, (src, model) => {
        const block = findRamBlock(model, payload.ramblock);
        expect(block).toBeGreaterThanOrEqual(0);
        return readGuestRange(src, model, block, offset, payload.size ?? PAYLOAD.length);
      });
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(payload.sha256 ?? PAYLOAD_SHA256);
      for (const markerOffset of payload.marker_offsets_in_payload ?? []) {
        const at = parseInt(markerOffset, 16);
        expect(Buffer.from(bytes.subarray(at, at + 22)).toString('latin1')).toBe('MIGIMG-FORENSIC-MARKER');
      }
    });
  }
});
