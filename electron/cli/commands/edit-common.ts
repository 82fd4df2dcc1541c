import { countBySeverity, type Diagnostic } from '../../../shared/diagnostics';
import type { AppliedEdit } from '../../../shared/edit/journal';
import { totalLength } from '../../../shared/edit/pieces';
import type { EditSession } from '../../edit/edit-session';
import type { NamedPath } from '../../io/output-paths';
import { UsageError, UserError } from '../../services/user-error';
import { count, hexOffset, printable } from '../format';
import type { CliIO } from '../output';

/** Output and option handling shared by `migwb edit`, `apply` and `repair`. */

/** The editing engine (sessions, journals, atomic saves), loaded by the commands that edit. */
export async function loadEditing() {
  const [session, journals, saving] = await Promise.all([import('../../edit/edit-session'), import('../../edit/journal-store'), import('../../edit/atomic-save')]);
  return { EditSession: session.EditSession, journalText: journals.journalText, readJournalFile: journals.readJournalFile, writeTextAtomically: journals.writeTextAtomically, SaveRefusedError: saving.SaveRefusedError };
}

export function printEdit(io: CliIO, mark: string, e: AppliedEdit): void {
  io.out(`${mark} ${e.summary}\n`);
  for (const f of e.fixups) io.out(`    ${f}\n`);
}

/** "no errors" or the counts; then the first errors and warnings, each with its offset. */
export function printDiagnostics(io: CliIO, what: string, diags: Diagnostic[], shown = 8): void {
  const c = countBySeverity(diags);
  io.out(`${what}: ${c.error === 0 ? 'no errors' : count(c.error, 'error')}${c.warning || c.error ? `, ${count(c.warning, 'warning')}` : ''}\n`);
  const listed = diags.filter((x) => x.severity !== 'info');
  for (const d of listed.slice(0, shown)) io.out(`  ${d.severity} ${hexOffset(d.offset)}  ${d.section ? printable(d.section) + ': ' : ''}${printable(d.message)}\n`);
  if (listed.length > shown) io.out(`  … and ${listed.length - shown} more (see "migwb validate")\n`);
}

/** An applied edit for --json output. */
export function wireEdit(e: AppliedEdit): Record<string, unknown> {
  return {
    summary: e.summary,
    intent: e.intent,
    fixups: e.fixups,
    changes: e.changes.map((c) => ({ offset: c.offset, removed: c.deleteLength, inserted: totalLength(c.insert) })),
  };
}

/**
 * `--donor PATH` (the donor) or `--donor ID=PATH` (a donor a journal names by ID).
 * Returns the paths by id.
 */
export function donorPaths(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([A-Za-z][\w-]*)=(.+)$/.exec(v);
    const [id, file] = m ? [m[1], m[2]] : ['donor', v];
    if (out[id]) throw new UsageError(`--donor ${id} is given twice`);
    out[id] = file;
  }
  return out;
}

/** Opens (and hashes) the donors given on the command line that the session does not have yet. */
export async function openDonors(session: EditSession, paths: Record<string, string>, known: string[]): Promise<void> {
  for (const [id, file] of Object.entries(paths)) if (!known.includes(id)) await session.addDonorAsync(file, id);
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** --undo [COUNT] / --redo [COUNT]: runs `step` COUNT times (1 without a count); too many is a UserError. */
export function repeat(count: string | true | undefined, step: () => AppliedEdit | undefined, option: string): AppliedEdit[] {
  if (count === undefined) return [];
  const n = count === true ? 1 : Number(count);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${option} takes a count of 1 or more, not ${JSON.stringify(count)}`);
  const out: AppliedEdit[] = [];
  for (let i = 0; i < n; i++) {
    const e = step();
    if (!e) throw new UserError(`${option} ${n}: there ${out.length === 1 ? 'is' : 'are'} only ${out.length} edit${out.length === 1 ? '' : 's'} to ${option.slice(2)}`);
    out.push(e);
  }
  return out;
}

/** The paths given for the options that were given, named by their option: [[opts.report, '--report'], …]. */
export function givenPaths(pairs: [string | undefined, string][]): NamedPath[] {
  return pairs.filter((p): p is [string, string] => p[0] !== undefined).map(([path, role]) => ({ path, role }));
}
