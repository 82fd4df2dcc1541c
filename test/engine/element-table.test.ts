import { describe, expect, it } from 'vitest';
import { corpusPath, qemuCorpusImages, readJson, sidecar } from '../helpers/corpus';
import { parseFile, wireElements } from '../helpers/parse';
import * as path from 'node:path';
import { toSnakeCase } from '../../shared/util/wire';
import { summarizeStream } from '../../shared/formats/qemu-stream/summary';

describe('element table equals NAME.sections.json, offset for offset', () => {
  for (const image of qemuCorpusImages()) {
    const reference = readJson(sidecar(image, 'sections'));
    if (reference.error) continue; // covered below: the reference walker could not index it
    it(path.basename(image), () => {
      const model = parseFile(image);
      expect(model.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      const ours = wireElements(model);
      expect(ours.map((e) => `${e.offset}:${e.type}`)).toEqual(reference.elements.map((e) => `${e.offset}:${e.type}`));
      // Every fact the reference states holds for ours (ours may add detail, e.g. record offsets).
      reference.elements.forEach((ref, i) => expect(ours[i], `element ${i} at ${ref.offset}`).toMatchObject(ref));
      const summary = toSnakeCase(summarizeStream(model)) as Record<string, unknown>;
      expect(summary.file_version).toBe(reference.file_version);
      expect(summary.size).toBe(reference.size);
      expect(summary.trailing_bytes).toBe(reference.trailing_bytes);
      expect(summary.section_footers).toBe(reference.section_footers);
      expect(summary.page_size).toBe(reference.page_size);
      if (reference.mapped_ram_regions) expect(summary.mapped_ram_regions).toEqual(reference.mapped_ram_regions);
    });
  }
});

describe('without a vmdesc', () => {
  it('the reference walker indexed every corpus image but the one without a vmdesc (checked below)', () => {
    const unindexed = qemuCorpusImages().filter((image) => readJson(sidecar(image, 'sections')).error);
    expect(unindexed.map((image) => path.basename(image))).toEqual(['x86_64-pc-suppress-vmdesc-paused-16M.mig']);
  });

  it('suppress-vmdesc: every section is delimited by its footer, at the same offsets as the same VM saved with a vmdesc', () => {
    // The reference walker gave up on this image ("no vmdesc: cannot skip FULL section timer").
    expect(readJson(sidecar(corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'), 'sections')).error).toMatch(/no vmdesc/);
    const model = parseFile(corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'));
    const twin = readJson(sidecar(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), 'sections'));
    const ours = wireElements(model);
    const expected = twin.elements.filter((e) => e.type !== 'VMDESCRIPTION');
    expect(ours.map((e) => [e.offset, e.type, e.idstr, e.length])).toEqual(expected.map((e) => [e.offset, e.type, e.idstr, e.length]));
    expect(ours.filter((e) => e.type === 'FULL').every((e) => e.delimited_by === 'footer-scan')).toBe(true);
    expect(model.diagnostics.map((d) => d.code)).toEqual(['no-vmdesc']);
  });
});
