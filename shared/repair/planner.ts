import type { EditContext } from '../edit/context';
import type { RepairAction } from './action';
import { headerRepairs } from './header-repairs';
import { missingSectionsRepair, truncationRepair, vmdescRepair } from './tail-repairs';

/**
 * The next repair for the image as it stands, or undefined when nothing more can be
 * repaired. Repairs are planned one at a time against the current edited view (each
 * changes the offsets the next one works with): single damaged header fields first, then
 * the end of a cut stream, then the vmdesc, then device sections only a donor has.
 */
export function nextRepair(ctx: EditContext, donorId?: string): RepairAction | undefined {
  const donor = donorId !== undefined ? ctx.donor(donorId) : undefined;
  return headerRepairs(ctx, donor)[0] ?? truncationRepair(ctx, donor) ?? vmdescRepair(ctx, donor) ?? (donor ? missingSectionsRepair(ctx, donor) : undefined);
}

/**
 * Every repair that can be made now without a donor, each answering its own diagnostics:
 * what the app offers as "Repair…" on a diagnostic. Planned against the image as it stands;
 * the one chosen is planned again when it is made (repairing one changes the offsets others use).
 */
export function repairOffers(ctx: EditContext): RepairAction[] {
  return [...headerRepairs(ctx), truncationRepair(ctx), vmdescRepair(ctx)].filter((a): a is RepairAction => a !== undefined && a.addresses.length > 0);
}
