import { versionHint } from '../formats/qemu-stream/version-hint';
import { detectFindings } from '../transform/detect';
import { releaseOfMachineVersion, type QemuRelease } from '../transform/releases';
import { resolveTarget } from '../transform/target';
import type { DiffSide } from './diff-side';
import type { KnownDifference } from '../api/image-diff';

/**
 * When the two images come from different QEMU releases, the differences those releases are
 * known to make, named by the transform rules that encode them (shared/transform/rules.ts):
 * the rules' detectors run on A with B's release and machine type as the target, so each
 * finding is something B's release writes differently (a field renamed, a command added, the
 * vmdesc's configuration entry). Nothing when the releases are the same or unknown.
 */
export function knownVersionDifferences(a: DiffSide, b: DiffSide): { releases?: { a: string; b: string }; knownDifferences: KnownDifference[] } {
  const ra = releaseOf(a);
  const rb = releaseOf(b);
  if (!ra || !rb || ra.id === rb.id) return { knownDifferences: [] };
  try {
    const target = resolveTarget(a, { to: rb.id, ...(b.model.machineType ? { machine: b.model.machineType } : {}) });
    const knownDifferences = detectFindings(a, target).map((f) => ({ rule: f.rule, subject: f.subject, reason: f.reason }));
    return { releases: { a: ra.id, b: rb.id }, knownDifferences };
  } catch {
    // A machine type the other release lacks or a configuration the rules cannot map: nothing to name.
    return { releases: { a: ra.id, b: rb.id }, knownDifferences: [] };
  }
}

function releaseOf(side: DiffSide): QemuRelease | undefined {
  const hint = versionHint(side.model);
  if (hint.inconsistent || !hint.atLeast) return undefined;
  return releaseOfMachineVersion(hint.atLeast);
}
