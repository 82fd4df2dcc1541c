import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveQemu } from '../helpers/qemu';
import { REPO } from '../helpers/cli';
import { cellsOf, corpusSources, makeSource, nativeReference, pool, RECIPES, runCell, verdictTable, VOLATILE_SECTIONS, type CellResult, type Reference, type SourceSpec } from '../helpers/transform-matrix';

/**
 * The cross-version matrix with real QEMU 7.2 and 10.0 (see test/helpers/transform-matrix.ts):
 * every corpus image either QEMU can start and the images made here, transformed to the
 * other release in the compat machine type and the target's newest. Each cell checks
 * QEMU's verdict on the image as it is against the plan's prediction, then that the target
 * loads the transformed image with the planted payload intact and the CPU registers of the
 * source loaded natively, migrates it out again, and that the re-saved image matches the
 * transformed one and (for guests that never ran) a native image of the target, section
 * by section, except time-dependent sections and what the plan predicted. Cells that cannot load carry the plan's
 * reason. The before/after table goes to build/transform-matrix.md (the README's table).
 */

const BOTH = haveQemu('7.2') && haveQemu('10.0');
/** The build machines have 2 cores shared by several engineers. */
const PARALLEL = 2;
/** MIGWB_MATRIX_FILTER=REGEX runs only the sources whose id matches (while working on one rule). */
const FILTER = process.env.MIGWB_MATRIX_FILTER ? new RegExp(process.env.MIGWB_MATRIX_FILTER) : undefined;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-matrix-'));
const results: CellResult[] = [];
const keys: string[] = [];

function cellKey(s: SourceSpec, target: string, machine: string): string {
  return `${s.id} → ${target} ${machine}`;
}

describe.skipIf(!BOTH)('transform matrix with real QEMU 7.2 and 10.0 (skipped without both)', () => {
  beforeAll(async () => {
    const made = await pool(
      RECIPES.flatMap((r) => r.versions.filter((v) => haveQemu(v, r.arch) && (!FILTER || FILTER.test(`made ${v} ${r.name}`))).map((v) => ({ r, v }))),
      PARALLEL,
      ({ r, v }) => makeSource(r, v, dir),
    );
    // One cell with the reverse mapped-ram layout, loaded by 10.0 through file:.
    const pc72 = made.find((s) => s.id === 'made 7.2 pc');
    const sources: SourceSpec[] = [...corpusSources(), ...made, ...(pc72 ? [{ ...pc72, id: 'made 7.2 pc (--mapped-ram)', transformFlags: ['--mapped-ram'] }] : [])].filter((s) => !FILTER || FILTER.test(s.id));
    const references = new Map<string, Reference>();
    await pool(sources, PARALLEL, async (s) => void references.set(s.id, await nativeReference(s, dir)));
    const cells = sources.flatMap((s) => cellsOf(s).map((c) => ({ s, c })));
    const done = await pool(cells, PARALLEL, async ({ s, c }) => {
      try {
        return await runCell(s, c, references.get(s.id)!, dir);
      } catch (e) {
        return { source: s, target: c.target, machine: c.machine, before: { loaded: false, firstError: null }, predicted: { loads: false, firstError: null }, usedTemplate: false, referencePayloadSha: null, referenceRoundTrip: [], blockers: [], changes: [], differences: [], differenceSubjects: [], error: (e as Error).message } satisfies CellResult;
      }
    });
    // compat and newest can be the same machine type: keep one cell per machine.
    for (const r of done) {
      const key = cellKey(r.source, r.target, r.machine);
      if (keys.includes(key)) continue;
      keys.push(key);
      results.push(r);
    }
    fs.mkdirSync(path.join(REPO, 'build'), { recursive: true });
    fs.writeFileSync(path.join(REPO, 'build', 'transform-matrix.md'), verdictTable(results));
    fs.writeFileSync(path.join(REPO, 'build', 'transform-matrix.json'), JSON.stringify(results.map((r) => ({ ...r, source: r.source.id })), null, 2));
  }, 1_800_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('made every source and ran every cell', () => {
    expect(results.length).toBeGreaterThan(FILTER ? 0 : 40);
    expect(results.filter((r) => r.error).map((r) => `${cellKey(r.source, r.target, r.machine)}: ${r.error}`)).toEqual([]);
  });

  it('every cell: the plan predicts QEMU\'s verdict on the image as it is (the first error line)', () => {
    const wrong = results
      .filter((r) => !r.skipped && !r.error)
      .filter((r) => r.before.loaded !== r.predicted.loads || (!r.before.loaded && r.predicted.firstError !== r.before.firstError))
      .map((r) => `${cellKey(r.source, r.target, r.machine)}: QEMU ${r.before.loaded ? 'loads it' : `says "${r.before.firstError}"`}, the plan predicted ${r.predicted.loads ? 'a load' : `"${r.predicted.firstError}"`}`);
    expect(wrong).toEqual([]);
  });

  it('every cell that can be made to load loads, with the payload intact and the native registers', () => {
    const bad: string[] = [];
    for (const r of results.filter((x) => !x.skipped && !x.error && !x.blockers.length)) {
      const key = cellKey(r.source, r.target, r.machine);
      if (!r.after?.loaded) bad.push(`${key}: does not load: ${r.after?.stderr.join(' | ') ?? 'nothing was written'}`);
      else {
        const expected = r.source.payload.sha256 ?? r.referencePayloadSha;
        if (r.after.payloadSha !== expected) bad.push(`${key}: payload sha256 ${r.after.payloadSha}, expected ${expected}`);
        if (r.after.registersDiffer.length) bad.push(`${key}: registers differ: ${r.after.registersDiffer.join(', ')}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the target re-saves exactly what it loaded, and guests that never ran match a native image of the target', () => {
    const bad: string[] = [];
    for (const r of results.filter((x) => x.after?.loaded)) {
      const key = cellKey(r.source, r.target, r.machine);
      // QEMU itself re-saves some sections differently right after a load (IDE of a guest that ran): those are not the transform's.
      const roundTrip = r.after!.roundTrip.filter((s) => !VOLATILE_SECTIONS.has(s) && !r.referenceRoundTrip.includes(s));
      if (roundTrip.length) bad.push(`${key}: the re-saved image differs from the transformed one in ${roundTrip.join(', ')}`);
      // Only what the plan predicted (its "the target will see differently" list) may differ.
      const native = r.after!.vsNative.filter((s) => !VOLATILE_SECTIONS.has(s) && !r.differenceSubjects.includes(s));
      if (!r.source.ran && native.length) bad.push(`${key}: differs from a native image in ${native.join(', ')}`);
    }
    expect(bad).toEqual([]);
  });

  it('every cell that cannot load is refused by QEMU as it is, and the plan says why and what would load it', () => {
    const blocked = results.filter((r) => r.blockers.length);
    for (const r of blocked) {
      expect(r.before.loaded, cellKey(r.source, r.target, r.machine)).toBe(false);
      expect(r.blockers[0].closest.length).toBeGreaterThan(0);
      expect(r.after).toBeUndefined();
    }
    // Visible in the report: which cells cannot be made to load, and which did not run.
    console.log(['cells that cannot load:', ...blocked.map((r) => `  ${cellKey(r.source, r.target, r.machine)}: ${r.blockers[0].reason} (closest: ${r.blockers[0].closest})`), 'cells not run:', ...results.filter((r) => r.skipped).map((r) => `  ${cellKey(r.source, r.target, r.machine)}: ${r.skipped}`)].join('\n'));
  });
});
