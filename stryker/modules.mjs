/**
 * The engine modules `npm run mutate` mutates, each with the focused, fast test files that
 * check it (tests needing QEMU, Chromium or analyze-migration.py are left out: too slow to
 * run once per mutant; the full suite runs them).
 */
export const MODULES = {
  'stream-parser': {
    what: 'the stream parser and its plausibility checks',
    mutate: ['shared/formats/qemu-stream/stream-parser.ts', 'shared/formats/qemu-stream/plausibility.ts'],
    tests: ['test/engine/made-damage.test.ts', 'test/engine/damaged-samples.test.ts', 'test/engine/element-table.test.ts', 'test/engine/vmdesc-mismatch.test.ts'],
  },
  'vmdesc-decoder': {
    what: 'the vmdesc decoder (vmstate-decode.ts, vmdesc.ts, vmstate-measure.ts, section-decoder.ts)',
    mutate: ['shared/formats/qemu-stream/vmstate-decode.ts', 'shared/formats/qemu-stream/vmdesc.ts', 'shared/formats/qemu-stream/vmstate-measure.ts', 'shared/formats/qemu-stream/section-decoder.ts'],
    tests: ['test/engine/analyze-compat.test.ts', 'test/engine/borrowed-vmdesc.test.ts', 'test/engine/vmdesc-mismatch.test.ts', 'test/engine/damaged-samples.test.ts', 'test/edit/field-edit.test.ts'],
  },
  journal: {
    what: 'the edit journal and its pieces',
    mutate: ['shared/edit/journal.ts', 'shared/edit/pieces.ts'],
    tests: ['test/edit/pieces.test.ts', 'test/edit/journal-property.test.ts', 'test/edit/section-edit.test.ts'],
  },
  repair: {
    what: 'the repair planner',
    mutate: ['shared/repair/*.ts'],
    tests: ['test/repair/repair-in-process.test.ts', 'test/repair/donor-and-limits.test.ts', 'test/repair/cut-anywhere.test.ts', 'test/repair/repair-planning.test.ts', 'test/repair/repair.test.ts', 'test/engine/made-damage.test.ts'],
  },
  'transform-rules': {
    what: 'the transform rules and the engine that applies them',
    mutate: ['shared/transform/rules/*.ts', 'shared/transform/rule.ts', 'shared/transform/transform.ts', 'shared/transform/detect.ts', 'shared/transform/assemble.ts', 'shared/transform/vmdesc-index.ts'],
    tests: ['test/transform/corpus-pairs.test.ts', 'test/transform/rebase.test.ts', 'test/transform/transform-api.test.ts'],
  },
  'chunked-validator': {
    what: "the chunked container's validator (its rules, chunk walk and CRC check)",
    mutate: ['shared/formats/chunked/rules.ts', 'shared/formats/chunked/walk.ts', 'shared/formats/chunked/layer.ts', 'shared/formats/chunked/chunk-types.ts'],
    tests: ['test/chunked/damaged-containers.test.ts', 'test/chunked/section-access.test.ts', 'test/chunked/journal-property.test.ts'],
  },
  'memory-layout': {
    what: 'the guest-physical memory layouts',
    mutate: ['shared/memory/layout.ts'],
    tests: ['test/memory/layout.test.ts'],
  },
};

export function moduleNamed(name) {
  const m = MODULES[name];
  if (!m) throw new Error(`no mutation module "${name}"; one of: ${Object.keys(MODULES).join(', ')}`);
  return m;
}
