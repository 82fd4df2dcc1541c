import type { JsonValue } from '../edit/intents';
import type { CompiledEdit } from '../edit/journal';
import { assemble } from './assemble';
import { Draft } from './draft';
import { detectFindings, predictLoad } from './detect';
import type { ImageView, PlanChange, RuleFinding, TargetDifference, TransformRule } from './rule';
import { ruleByName, TRANSFORM_RULES } from './rules';
import { resolveTarget, type TransformRequest } from './target';

/** A finding no edit can answer, with what would load the image instead. */
export interface PlanBlocker {
  rule: string;
  subject: string;
  reason: string;
  /** The closest target that loads the image. */
  closest: string;
  qemuError?: string[];
}

/**
 * What a transform will do, for review before anything is written: every change with the
 * rule (and QEMU source) behind it, what the target will see differently, and what blocks
 * the transform, if anything does.
 */
export interface TransformPlan {
  source: { machine: string | null };
  target: { release: string; version: string; machine: string; template: string | null; options: string[] };
  /** QEMU's predicted verdict loading the image as it is: the first error it would print. */
  before: { loads: boolean; qemuError: string[] | null; rule: string | null };
  findings: RuleFinding[];
  changes: (PlanChange & { cites: string[] })[];
  differences: TargetDifference[];
  blockers: PlanBlocker[];
  /** Framing fixed alongside (section ids, RAM re-encoding), in words. */
  fixups: string[];
  /** The vmdesc before and after (pretty JSON), for a diff view. */
  vmdesc: { before: string; after: string } | null;
}

export interface TransformOutcome {
  plan: TransformPlan;
  /** The journal entry (one undoable step); absent when blocked or when nothing changes. */
  edit?: CompiledEdit;
}

/**
 * Plans a transform of `image` for a target release (and machine type, and template) and,
 * unless something blocks it, compiles it into one edit. `derivedId` names the source the
 * re-encoded RAM is read from (unique within the journal).
 */
export function planTransform(image: ImageView, request: TransformRequest, derivedId = 'transform-ram', rules: readonly TransformRule[] = TRANSFORM_RULES): TransformOutcome {
  const target = resolveTarget(image, request);
  const findings = detectFindings(image, target, rules);
  const blockers: PlanBlocker[] = findings
    .filter((f) => f.blocker)
    .map((f) => ({ rule: f.rule, subject: f.subject, reason: f.reason, closest: f.blocker!.closest, qemuError: f.qemuError }));
  const predicted = predictLoad(image, target, rules);
  const plan: TransformPlan = {
    source: { machine: image.model.machineType ?? null },
    target: { release: target.release.id, version: target.release.version, machine: target.machine, template: request.templatePath ?? null, options: [...(target.options ?? [])] },
    before: { loads: predicted.loads, qemuError: predicted.firstError?.qemuError ?? null, rule: predicted.firstError?.rule ?? null },
    findings,
    changes: [],
    differences: [],
    blockers,
    fixups: [],
    vmdesc: null,
  };
  if (blockers.length) return { plan };

  const draft = new Draft(image, target);
  // Table order, not stream order: later rules build on what earlier ones did to a section.
  for (const rule of rules) for (const f of findings.filter((x) => x.rule === rule.name)) rule.apply(draft, f);
  const assembled = assemble(draft, derivedId);
  plan.changes = draft.changes.map((c) => ({ ...c, cites: citesOf(c.rule) }));
  plan.differences = draft.differences;
  plan.fixups = assembled.fixups;
  plan.vmdesc = assembled.vmdesc ?? null;
  if (assembled.changes.length === 0) return { plan };
  const edit: CompiledEdit = {
    intent: {
      op: 'transform',
      to: target.release.id,
      machine: target.machine,
      template: request.templatePath ?? null,
      options: [...(target.options ?? [])],
      rules: [...new Set(draft.changes.map((c) => c.rule))],
    },
    summary: `transformed for ${target.release.id} -M ${target.machine}: ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'} (${[...new Set(draft.changes.map((c) => c.rule))].join(', ')})`,
    changes: assembled.changes,
    fixups: [...plan.changes.map((c) => `${c.rule}: ${c.action}`), ...assembled.fixups],
    ...(assembled.derived ? { derived: [{ id: assembled.derived.id, recipe: JSON.parse(JSON.stringify(assembled.derived.recipe)) as JsonValue, size: assembled.derived.source.size, source: assembled.derived.source }] } : {}),
  };
  return { plan, edit };
}

function citesOf(rule: string): string[] {
  return (ruleByName(rule)?.cites ?? []).map((c) => (c.compat ? `${c.source}; ${c.compat}` : c.source));
}
