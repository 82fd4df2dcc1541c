import type { Diagnostic } from '../diagnostics';
import type { JsonValue } from '../edit/intents';
import type { ByteChange, CompiledEdit } from '../edit/journal';

/** One repair: the edit that makes it, and the diagnostics it answers. */
export interface RepairAction {
  /** Stable identifier, e.g. "restore-section-type" or "rebuild-vmdesc". */
  code: string;
  /** The validation findings this repair resolves (none for problems only a donor reveals). */
  addresses: Diagnostic[];
  /** The byte changes, recorded in the journal like any edit (intent op "repair"). */
  edit: CompiledEdit;
}

export function repairAction(code: string, summary: string, addresses: Diagnostic[], changes: ByteChange[], extra: Record<string, JsonValue> = {}, fixups: string[] = []): RepairAction {
  return {
    code,
    addresses,
    edit: {
      intent: { op: 'repair', action: code, ...extra, answers: addresses.map((d) => `${d.code} at ${d.offset}`) },
      summary,
      changes,
      fixups,
    },
  };
}
