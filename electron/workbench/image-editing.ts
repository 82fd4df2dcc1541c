import type { RepairReport, SavedImage, SaveRequest } from '../../shared/api/contract';
import { journalText, writeTextAtomically } from '../edit/journal-store';
import { runRepairs } from '../edit/repair-service';
import { saveJournalInWorker, type SaveProgress } from '../edit/worker-save';
import type { ImageSession } from './image-session';

/**
 * Repairs an open image the way `migwb repair` does, into its journal: each repair is an
 * edit the user can undo. A donor (an intact save of the same VM) supplies what is missing.
 */
export async function repairSession(session: ImageSession, donorPath: string | null): Promise<RepairReport> {
  const edit = session.editing();
  // Hashed first: every record that takes from the donor names it by path and sha256.
  const donor = donorPath === null ? undefined : await edit.addDonorAsync(donorPath);
  const outcome = runRepairs(edit, donor);
  return {
    ...session.changed(),
    repairs: outcome.actions.map((a) => ({ code: a.code, summary: a.edit.summary })),
    stopped: outcome.stopped ?? null,
    lost: outcome.limits.lost,
    consequence: outcome.limits.consequence ?? null,
  };
}

/**
 * Saves the edited image to a new file. The journal is handed to a worker that re-applies
 * it to the image (checked by sha256), writes the result atomically and re-validates it,
 * so the main process stays free while gigabytes are hashed and written.
 */
export async function saveSession(session: ImageSession, output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage> {
  const journal = await session.editing().document({ onProgress: (done, total) => onProgress({ phase: 'hashing', done, total }) });
  const saved = await saveJournalInWorker({ image: session.path, journal, output, force: request.force, streamOnly: request.streamOnly }, { onProgress });
  return { path: saved.path, size: saved.size, sha256: saved.sha256, diagnostics: saved.diagnostics, notes: saved.notes };
}

/** Writes the journal (re-applicable with `migwb apply IMAGE JOURNAL -o OUT`); never over the image. */
export async function saveSessionJournal(session: ImageSession, file: string): Promise<void> {
  await writeTextAtomically(file, journalText(await session.editing().document()), [session.path]);
}
