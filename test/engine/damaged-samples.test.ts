import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../shared/diagnostics';
import { corpusPath, damagedImages, readJson, sidecar, type WireElement } from '../helpers/corpus';
import { parseFile, wireElements } from '../helpers/parse';

const intact = (base: string) => readJson(sidecar(corpusPath('qemu', `${base}.mig`), 'sections')).elements;
const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 'error');
const shape = (els: WireElement[]) => els.map((e) => [e.offset, e.type, e.idstr ?? null, e.instance_id ?? null, e.length]);
const withoutVmdesc = <E extends WireElement>(els: E[]) => els.filter((e) => e.type !== 'VMDESCRIPTION');

describe('corrupt/: the diagnostics corrupt/README.md implies', () => {
  it('has a test for every sample', () => {
    expect(damagedImages('corrupt').map((f) => path.basename(f).split('.').slice(1, -1).join('.'))).toEqual(
      expect.arrayContaining(['flip-hdr', 'trunc-mid-ram', 'vmdesc-cut']),
    );
    expect(damagedImages('corrupt')).toHaveLength(9);
  });

  for (const base of ['x86_64-pc-minimal-paused-16M', 'x86_64-q35-minimal-running-32M', 'x86_64-pc-i440fx-2.3-legacy-paused-16M']) {
    it(`${base}.trunc-mid-ram: one truncation error inside the RAM PART saying what is missing`, () => {
      const file = corpusPath('qemu', 'corrupt', `${base}.trunc-mid-ram.mig`);
      const size = fs.statSync(file).size;
      const model = parseFile(file);
      const [err, ...others] = errors(model.diagnostics);
      expect(others).toEqual([]);
      expect(err.code).toBe('truncated');
      const part = intact(base).find((e) => e.type === 'PART')!;
      expect(err.offset).toBeGreaterThanOrEqual(part.offset);
      expect(err.offset).toBeLessThan(size);
      expect(err.message).toMatch(/PART ram/);
      expect(err.message).toMatch(/QEMU_VM_EOF/);
      expect(err.message).toMatch(/vmdesc/);
      const ours = wireElements(model);
      // Everything before the cut is read as in the intact image; the cut PART runs to the end.
      expect(shape(ours.slice(0, -1))).toEqual(shape(intact(base).filter((e) => e.offset < part.offset)));
      expect(ours.at(-1)).toMatchObject({ offset: part.offset, type: 'PART', damaged: true, length: size - part.offset });
    });

    it(`${base}.vmdesc-cut: the cut vmdesc is reported and every section is still found where it is`, () => {
      const file = corpusPath('qemu', 'corrupt', `${base}.vmdesc-cut.mig`);
      const model = parseFile(file);
      const errs = errors(model.diagnostics);
      expect(errs.map((d) => d.code)).toEqual(['vmdesc-truncated']);
      const vmdesc = intact(base).find((e) => e.type === 'VMDESCRIPTION')!;
      expect(errs[0].offset).toBeGreaterThanOrEqual(vmdesc.json_offset!);
      expect(errs[0].offset).toBeLessThan(fs.statSync(file).size);
      expect(errs[0].hint).toMatch(/QEMU ignores the vmdesc/);
      expect(shape(withoutVmdesc(wireElements(model)))).toEqual(shape(withoutVmdesc(intact(base))));
      // Sections the cut vmdesc no longer describes: by their footers, or (no footers) by a reported scan.
      for (const w of model.diagnostics.filter((d) => d.severity === 'warning')) {
        expect(w.code).toBe('section-delimited-heuristically');
        expect(base).toMatch(/2\.3-legacy/);
      }
    });
  }

  it('minimal.flip-hdr: the damaged idstr byte ("bpu") is pointed at and the section still read with the vmdesc', () => {
    const model = parseFile(corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.flip-hdr.mig'));
    const [err, ...others] = errors(model.diagnostics);
    expect(others).toEqual([]);
    expect(err).toMatchObject({ code: 'section-name-mismatch', offset: 0x4d6e4, length: 3 });
    expect(err.expected).toMatch(/"cpu" instance 0/);
    expect(err.found).toMatch(/"bpu"/);
    expect(err.hint).toMatch(/Unknown savevm section or instance/);
    const ours = wireElements(model);
    expect(ours.map((e) => [e.offset, e.length])).toEqual(intact('x86_64-pc-minimal-paused-16M').map((e) => [e.offset, e.length]));
    expect(ours.find((e) => e.idstr === 'bpu')).toMatchObject({ damaged: true, delimited_by: 'vmdesc' });
  });

  it('q35.flip-hdr: section type 0x14 is reported at its offset and read as FULL "timer"', () => {
    const model = parseFile(corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig'));
    expect(errors(model.diagnostics)).toEqual([expect.objectContaining({ code: 'damaged-section-type', offset: 0xbb64c, expected: expect.stringMatching(/0x04/), found: '0x14' })]);
    const ours = wireElements(model);
    expect(shape(ours)).toEqual(shape(intact('x86_64-q35-minimal-running-32M')));
    expect(ours.find((e) => e.offset === 0xbb64c)).toMatchObject({ type: 'FULL', idstr: 'timer', type_code: 0x14, damaged: true });
  });

  it('legacy.flip-hdr: cpu version 76 is reported against the vmdesc version 12 (analyze-migration.py does not notice)', () => {
    const model = parseFile(corpusPath('qemu', 'corrupt', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.flip-hdr.mig'));
    const [err, ...others] = errors(model.diagnostics);
    expect(others).toEqual([]);
    expect(err).toMatchObject({ code: 'version-mismatch', expected: 'version 12 (vmdesc)', found: 'version 76' });
    expect(err.offset).toBeLessThanOrEqual(0x4d6a9);
    expect(err.offset + err.length!).toBeGreaterThan(0x4d6a9);
    expect(shape(wireElements(model))).toEqual(shape(intact('x86_64-pc-i440fx-2.3-legacy-paused-16M')));
  });
});

describe('trailer/: data after the stream', () => {
  const base = 'x86_64-pc-minimal-paused-16M';
  const originalSize = readJson(sidecar(corpusPath('qemu', `${base}.mig`), 'sections')).size;

  for (const name of ['trail-junk-4K', 'trail-junk-80K', 'trail-directory']) {
    it(`${name}: one warning at the first appended byte; the stream itself is intact`, () => {
      const model = parseFile(corpusPath('qemu', 'trailer', `${base}.${name}.mig`));
      expect(model.diagnostics).toEqual([expect.objectContaining({ severity: 'warning', code: 'trailing-data', offset: originalSize })]);
      expect(shape(wireElements(model))).toEqual(shape(intact(base)));
    });
  }

  it('dir-between-eof-and-vmdesc: the foreign bytes after QEMU_VM_EOF are reported, the vmdesc still used', () => {
    const model = parseFile(corpusPath('qemu', 'trailer', `${base}.dir-between-eof-and-vmdesc.mig`));
    expect(model.diagnostics).toEqual([expect.objectContaining({ severity: 'warning', code: 'data-before-vmdesc', offset: 0x50eb4 })]);
    expect(model.diagnostics[0].hint).toMatch(/Expected vmdescription section/);
    expect(model.vmdesc?.devices).toHaveLength(33);
  });

  it('suppress-vmdesc + directory: sections found by their footers, the appended bytes reported', () => {
    const model = parseFile(corpusPath('qemu', 'trailer', 'x86_64-pc-suppress-vmdesc-paused-16M.trail-directory.mig'));
    expect(model.diagnostics).toEqual([expect.objectContaining({ severity: 'warning', code: 'trailing-data', offset: 331444 })]);
    expect(shape(wireElements(model))).toEqual(shape(withoutVmdesc(intact(base))));
  });
});
