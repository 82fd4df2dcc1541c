import type { ImageView, RuleFinding, TransformRule, TransformTarget } from './rule';
import { TRANSFORM_RULES } from './rules';

/**
 * Runs every rule's detector for an image and a target. Findings come back in stream order
 * (then table order), so the first one with a `qemuError` is what QEMU would stumble over
 * first: `migwb preflight` predicts the verdict and first error line from it.
 */
export function detectFindings(image: ImageView, target: TransformTarget, rules: readonly TransformRule[] = TRANSFORM_RULES): RuleFinding[] {
  const found: { f: RuleFinding; order: number }[] = [];
  rules.forEach((rule, order) => {
    for (const f of rule.detect(image, target)) found.push({ f, order });
  });
  return found.sort((a, b) => a.f.offset - b.f.offset || a.order - b.order).map((x) => x.f);
}

/** QEMU's predicted verdict for loading the image unchanged: the first finding QEMU reports, if any. */
export function predictLoad(image: ImageView, target: TransformTarget, rules: readonly TransformRule[] = TRANSFORM_RULES): { loads: boolean; firstError?: RuleFinding } {
  const first = detectFindings(image, target, rules).find((f) => f.qemuError);
  return first ? { loads: false, firstError: first } : { loads: true };
}
