import { compareVersions, parseMachineType, type ReleaseVersion } from '../releases';
import type { RuleFinding, TransformRule } from '../rule';

/** A finding of `rule` (its name filled in). */
export function finding(rule: Pick<TransformRule, 'name'>, f: Omit<RuleFinding, 'rule'>): RuleFinding {
  return { rule: rule.name, ...f };
}

/** Is the machine type of version `since` or later? Unversioned machine types count as the newest. */
export function machineVersionAtLeast(machine: string | undefined, since: ReleaseVersion): boolean {
  const v = machine ? parseMachineType(machine).version : undefined;
  return v === undefined ? true : compareVersions(v, since) >= 0;
}
