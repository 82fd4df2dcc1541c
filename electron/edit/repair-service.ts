import type { Diagnostic } from '../../shared/diagnostics';
import { EditError } from '../../shared/edit/errors';
import type { RepairAction } from '../../shared/repair/action';
import { repairLimits, type RepairLimits } from '../../shared/repair/limits';
import { nextRepair } from '../../shared/repair/planner';
import { UserError } from '../services/user-error';
import type { EditSession } from './edit-session';

export interface RepairOutcome {
  /** The repairs made, in the order they were applied (each one a journal entry). */
  actions: RepairAction[];
  /** Diagnostics before and after. */
  before: Diagnostic[];
  after: Diagnostic[];
  /** Set when the planner stopped early, and why. */
  stopped?: string;
  /** A repair the planner proposed that did not make the image better: taken back, not applied. */
  rejected?: { action: RepairAction; reason: string };
  /** What the repaired image still lacks (sections, CPU state, pages) and what that means. */
  limits: RepairLimits;
}

/** A backstop only: every repair must lower the error count, so a plan ends long before this. */
const MAX_REPAIRS = 256;

/**
 * Repairs the session's image in memory: asks the planner for the next repair against the
 * edited view as it stands, applies it, and repeats until nothing is left to repair. The
 * caller previews (dry run) or saves the session afterwards.
 *
 * Every repair is checked on the result before it is kept: a repair that answers findings
 * must leave fewer errors than before, one that answers none (sections taken from a donor)
 * must add none. A repair that fails this is taken back and reported, so a wrong plan is
 * stopped by what it does to the image, not by a loop guard.
 */
export function runRepairs(session: EditSession, donorId?: string, plan: typeof nextRepair = nextRepair): RepairOutcome {
  const beforeModel = session.model();
  const before = beforeModel.diagnostics;
  const actions: RepairAction[] = [];
  let stopped: string | undefined;
  let rejected: RepairOutcome['rejected'];
  for (;;) {
    let action: RepairAction | undefined;
    try {
      action = plan(session.context(), donorId);
    } catch (e) {
      if (e instanceof EditError) throw new UserError(e.message);
      throw e;
    }
    if (!action) break;
    if (actions.length >= MAX_REPAIRS) {
      stopped = `${MAX_REPAIRS} repairs were made and the planner still proposes more; please report this image`;
      break;
    }
    const errorsBefore = errorCount(session.diagnostics);
    session.applyCompiled(action.edit);
    const errorsAfter = errorCount(session.diagnostics);
    const helped = action.addresses.length ? errorsAfter < errorsBefore : errorsAfter <= errorsBefore;
    if (!helped) {
      session.withdraw();
      const reason = `it would leave ${errorsAfter} error${errorsAfter === 1 ? '' : 's'} where there ${errorsBefore === 1 ? 'is' : 'are'} ${errorsBefore}`;
      rejected = { action, reason };
      stopped = `the repair "${action.edit.summary}" was not applied: ${reason}`;
      break;
    }
    actions.push(action);
  }
  const donor = donorId !== undefined ? session.context().donor(donorId)?.model : undefined;
  const limits = actions.length ? repairLimits(beforeModel, session.model(), donor) : { lost: [] };
  return { actions, before, after: session.diagnostics, stopped, rejected, limits };
}

function errorCount(diags: readonly Diagnostic[]): number {
  return diags.filter((d) => d.severity === 'error').length;
}
