import type { EditState, RepairReport, SavedImage, SaveRequest } from '../../shared/api/contract';
import type { JournalDocument } from '../../shared/edit/journal-file';
import { journalText, writeTextAtomically } from '../edit/journal-store';
import { runRepairs } from '../edit/repair-service';
import { saveJournalInWorker, type SaveProgress } from '../edit/worker-save';
import { repairOffers } from '../../shared/repair/planner';
import { UserError } from '../services/user-error';
import type { ImageSession } from './image-session';

/**
 * Repairs an open image the way `migwb repair` does, into its journal: each repair is an
 * edit the user can undo. A donor (an intact save of the same VM) supplies what is missing.
 */
export function repairSession(session: ImageSession, donorPath: string | null): RepairReport {
  const edit = session.editing();
  const donor = donorPath === null ? undefined : edit.addDonor(donorPath, `donor${Date.now()}`);
  const outcome = runRepairs(edit, donor);
  return { ...session.changed(), repairs: outcome.actions.map((a) => ({ code: a.code, summary: a.edit.summary })), stopped: outcome.stopped ?? null };
}

/** Makes the repair that answers one diagnostic (planned again now, against the image as it stands). */
export function repairDiagnostic(session: ImageSession, code: string, offset: number): RepairReport {
  const edit = session.editing();
  const action = repairOffers(edit.context()).find((a) => a.addresses.some((d) => d.code === code && d.offset === offset));
  if (!action) throw new UserError('this problem has no repair any more (an edit or another repair changed it); look at the diagnostics again');
  edit.applyCompiled(action.edit);
  return { ...session.changed(), repairs: [{ code: action.code, summary: action.edit.summary }], stopped: null };
}

/**
 * Saves the edited image to a new file. The journal is handed to a worker that re-applies
 * it to the image (checked by sha256), writes the result atomically and re-validates it,
 * so the main process stays free while gigabytes are hashed and written.
 */
export async function saveSession(session: ImageSession, output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage> {
  const journal = await session.editing().document({ onProgress: (done, total) => onProgress({ phase: 'hashing', done, total }) });
  const saved = await saveJournalInWorker({ image: session.path, journal, output, force: request.force, streamOnly: request.streamOnly }, { onProgress });
  session.markSaved();
  return { path: saved.path, size: saved.size, sha256: saved.sha256, diagnostics: saved.diagnostics, notes: saved.notes };
}

/** Re-applies a journal to a fresh session of its image (checked by sha256, as `migwb apply` checks it). */
export async function restoreJournal(session: ImageSession, journal: JournalDocument): Promise<EditState> {
  await session.editing().loadJournal(journal);
  return session.changed();
}

/** Writes the journal (re-applicable with `migwb apply IMAGE JOURNAL -o OUT`); never over the image. */
export async function saveSessionJournal(session: ImageSession, file: string): Promise<void> {
  await writeTextAtomically(file, journalText(await session.editing().document()), [session.path]);
}
