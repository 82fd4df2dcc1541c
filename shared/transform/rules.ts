import type { TransformRule } from './rule';
import { machineTypeRule, switchoverStartRule, unavailableMachineRule, vmdescConfigurationRule } from './rules/machine';
import { armCpregRule } from './rules/arm';
import { pcieExtTagRule } from './rules/pci';
import { virtioMemEarlySetupRule } from './rules/early-setup';
import { e1000eTimadjRule, pcieAerUncMaskRule, virtioMsixAddedRule } from './rules/pci-compat';
import { compressRule, inlineToMappedRamRule, mappedRamToInlineRule, xbzrleRule } from './rules/ram';
import { fieldRenameRule, globalstateRule, newSubsectionRule } from './rules/schema';
import { templateRebaseRule } from './rules/template';

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
  pcieExtTagRule,
  pcieAerUncMaskRule,
  virtioMsixAddedRule,
  e1000eTimadjRule,
  virtioMemEarlySetupRule,
  armCpregRule,
  globalstateRule,
  newSubsectionRule,
  fieldRenameRule,
  templateRebaseRule,
  vmdescConfigurationRule,
];

export function ruleByName(name: string): TransformRule | undefined {
  return TRANSFORM_RULES.find((r) => r.name === name);
}
