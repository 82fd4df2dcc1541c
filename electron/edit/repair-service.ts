import type { Diagnostic } from '../../shared/diagnostics';
import { EditError } from '../../shared/edit/errors';
import type { RepairAction } from '../../shared/repair/action';
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
}

/** Enough for every repair the planner knows on a badly damaged image; guards against a loop. */
const MAX_REPAIRS = 64;

/**
 * Repairs the session's image in memory: asks the planner for the next repair against the
 * edited view as it stands, applies it, and repeats until nothing is left to repair. The
 * caller previews (dry run) or saves the session afterwards.
 */
export function runRepairs(session: EditSession, donorId?: string): RepairOutcome {
  const before = session.diagnostics;
  const actions: RepairAction[] = [];
  const seen = new Set<string>();
  let stopped: string | undefined;
  for (;;) {
    let action: RepairAction | undefined;
    try {
      action = nextRepair(session.context(), donorId);
    } catch (e) {
      if (e instanceof EditError) throw new UserError(e.message);
      throw e;
    }
    if (!action) break;
    const key = `${action.code} ${action.edit.summary}`;
    if (seen.has(key) || actions.length >= MAX_REPAIRS) {
      stopped = `the repair "${action.edit.summary}" would be made again; stopped to avoid a loop`;
      break;
    }
    seen.add(key);
    session.applyCompiled(action.edit);
    actions.push(action);
  }
  return { actions, before, after: session.diagnostics, stopped };
}
