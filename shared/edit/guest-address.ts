import { hex } from '../diagnostics';
import { describeMappedRegions, machineLayout, resolveGuestAddress } from '../memory/layout';
import { pciConfigSpaces } from '../memory/pci-config';
import type { EditContext } from './context';
import { EditError } from './errors';
import type { RamTarget } from './ram-edit';

/**
 * Places a RAM write given by guest-physical address in a RAM block, through the same
 * machine memory map that `migwb read` and `search` use (device state decides PAM and
 * BARs). The write must stay inside one mapped region: the next guest-physical byte past
 * a region's end is a different block, or nothing.
 */
export function guestRamTarget(ctx: EditContext, gpa: number, length: number): RamTarget {
  const { model } = ctx;
  const blocks = `blocks: ${model.ramBlocks.map((b) => b.id).join(', ')}`;
  const layout = machineLayout(model, { pciConfig: pciConfigSpaces(ctx.view, model) });
  if (!layout) {
    throw new EditError(`the guest-physical memory map of machine type ${model.machineType ?? '(unknown)'} is not known to this version; address RAM as --ram-block BLOCK:OFFSET=HEX (${blocks})`);
  }
  const hit = resolveGuestAddress(layout, gpa);
  if (!hit) {
    throw new EditError(`nothing is mapped at guest-physical ${hex(gpa, 8)} in this ${model.machineType ?? ''} machine (${describeMappedRegions(layout)}); address a RAM block directly with --ram-block BLOCK:OFFSET=HEX (${blocks})`);
  }
  const regionEnd = hit.region.gpa + hit.region.size;
  if (gpa + length > regionEnd) {
    throw new EditError(`the write crosses the end of ${hit.region.blockId}'s mapping at guest-physical ${hex(regionEnd, 8)}; split it there`);
  }
  return { block: hit.block, offset: hit.offset, gpa, rule: `${hit.region.blockId}+${hex(hit.offset)} (${layout.rule})` };
}
