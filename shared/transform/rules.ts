import type { TransformRule } from './rule';
import { machineTypeRule, switchoverStartRule, unavailableMachineRule, vmdescConfigurationRule, vmdescLastIndexRule } from './rules/machine';
import { armCpregRule } from './rules/arm';
import { pcieAerUncMaskRule, pcieExtTagRule } from './rules/pci';
import { compressRule, inlineToMappedRamRule, mappedRamToInlineRule, xbzrleRule } from './rules/ram';
import { addedFieldRule, fieldRenameRule, globalstateRule, modelDifferenceRule, newSubsectionRule } from './rules/schema';
import { templateRebaseRule } from './rules/template';
import { virtioMemEarlyRule, virtioVectorsRule } from './rules/virtio-mem';

/**
 * The transform rules, one row each (see rule.ts for the shape). Like QEMU's hw_compat_X_Y
 * arrays they list what changed between versions; the engine runs every row's detector and
 * applies the findings in table order. Adding a QEMU version means adding rows (and a
 * release in releases.ts), not editing the engine.
 *
 * Order matters only for the plan's reading order and for rules whose edits build on
 * another's: blockers first, then the stream header, RAM, device sections, and the vmdesc.
 */
export const TRANSFORM_RULES: readonly TransformRule[] = [
  unavailableMachineRule,
  machineTypeRule,
  switchoverStartRule,
  mappedRamToInlineRule,
  inlineToMappedRamRule,
  compressRule,
  xbzrleRule,
  virtioVectorsRule,
  virtioMemEarlyRule,
  pcieExtTagRule,
  pcieAerUncMaskRule,
  addedFieldRule,
  armCpregRule,
  globalstateRule,
  newSubsectionRule,
  fieldRenameRule,
  modelDifferenceRule,
  templateRebaseRule,
  vmdescConfigurationRule,
  vmdescLastIndexRule,
];

export function ruleByName(name: string): TransformRule | undefined {
  return TRANSFORM_RULES.find((r) => r.name === name);
}
