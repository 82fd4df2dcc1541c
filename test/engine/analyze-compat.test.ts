import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCompatDesc, analyzeCompatState } from '../../shared/formats/qemu-stream/analyze-compat';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import { ANALYZE_MIGRATION, analyzeMigrationOutput, haveAnalyzeMigration, runAnalyzeMigration } from '../helpers/analyze-migration';
import { corpusPath, qemuCorpusImages, readJson, sidecar } from '../helpers/corpus';
import { withImage } from '../helpers/parse';

const images = qemuCorpusImages();

describe('dump --analyze-compat equals analyze-migration.py output (NAME.analyze.json)', () => {
  it('the corpus gives both kinds: images the script reads, and images it fails on (checked for shape below)', () => {
    const reads = images.filter((image) => readJson(sidecar(image, 'analyze')).state.output);
    expect(images.length).toBeGreaterThanOrEqual(20);
    expect(reads.length).toBeGreaterThanOrEqual(14);
    expect(images.length - reads.length).toBeGreaterThanOrEqual(5);
  });

  for (const image of images) {
    const ref = readJson(sidecar(image, 'analyze'));
    for (const mode of ['state', 'desc'] as const) {
      if (!ref[mode].output) continue;
      it(`${path.basename(image)} -d ${mode}`, () => {
        const text = withImage(image, (src, model) => (mode === 'state' ? analyzeCompatState(src, model) : analyzeCompatDesc(model)));
        // Stringify both after parsing: same values and the same key order.
        expect(JSON.stringify(JSON.parse(text))).toBe(JSON.stringify(ref[mode].output));
      });
    }
  }
});

describe.skipIf(!haveAnalyzeMigration)(`byte for byte against the real analyze-migration.py 10.0 (needs ${ANALYZE_MIGRATION})`, () => {
  for (const image of images) {
    const ref = readJson(sidecar(image, 'analyze'));
    for (const mode of ['state', 'desc'] as const) {
      if (ref[mode].output) {
        it(`${path.basename(image)} -d ${mode}`, () => {
          const ours = withImage(image, (src, model) => (mode === 'state' ? analyzeCompatState(src, model) : analyzeCompatDesc(model)));
          expect(ours).toBe(analyzeMigrationOutput(image, mode));
        });
      } else {
        // Ours is checked for these in "the same shape" below; here the script must still fail as recorded.
        it(`${path.basename(image)} -d ${mode}: the script fails as it did when the corpus was made`, () => {
          const run = runAnalyzeMigration(image, mode);
          expect(run.ok).toBe(false);
          expect(run.stderr).toContain(ref[mode].error!.slice(0, 80));
        });
      }
    }
  }

  it('a stream the script cannot read (configuration subsection) gives what the script prints once the subsection is removed', () => {
    // analyze-migration.py dies on configuration subsections ("Unknown section type: 5").
    // target-page-bits=12 only restates the default page size, so removing it changes
    // nothing the script prints: its output on the stripped copy must equal ours on the original.
    const image = corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig');
    const script = runAnalyzeMigration(image, 'state');
    expect(script.ok).toBe(false);
    expect(script.stderr).toContain('Exception: Unknown section type: 5');
    const { ours, stripped } = withImage(image, (src, model) => {
      const sub = model.configuration!.subsections![0];
      expect(sub.name).toBe('configuration/target-page-bits');
      const bytes = fs.readFileSync(image);
      return {
        ours: analyzeCompatState(src, model),
        stripped: Buffer.concat([bytes.subarray(0, sub.offset), bytes.subarray(sub.offset + sub.length)]),
      };
    });
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-')), 'stripped.mig');
    fs.writeFileSync(copy, stripped);
    expect(ours).toBe(analyzeMigrationOutput(copy, 'state'));
  });
});

describe('the same shape where analyze-migration.py fails', () => {
  for (const image of images) {
    const ref = readJson(sidecar(image, 'analyze'));
    if (ref.state.output) continue;
    it(`${path.basename(image)} (script: ${ref.state.error?.slice(0, 60)})`, () => {
      withImage(image, (src, model) => {
        const state = JSON.parse(analyzeCompatState(src, model));
        const sections = model.elements.filter((e) => e.type === 'START' || e.type === 'FULL');
        expect(Object.keys(state)).toEqual([...new Map(sections.map((e) => [e.sectionId, `${e.idstr} (${e.sectionId})`])).values()]);
        const ram = model.elements.find((e) => e.type === 'START' && e.idstr === 'ram')!;
        expect(Object.keys(state[`ram (${ram.sectionId})`]['section sizes'])).toEqual(model.ramBlocks.map((b) => b.id));
        if (model.vmdesc) {
          // With a vmdesc every device section is decoded field by field, none falls back to raw bytes.
          for (const e of sections.filter((s) => s.type === 'FULL')) expect(decodeSection(src, model, e).describedBy).toBe('vmdesc');
          expect(JSON.parse(analyzeCompatDesc(model))).toEqual(ref.desc.output);
        }
      });
    });
  }
});
