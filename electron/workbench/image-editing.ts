import type { EditState, RepairReport, SavedImage, SaveRequest, TransformApplied, TransformPlanView, TransformRequestView, TransformTargets, WorkbenchEvent } from '../../shared/api/contract';
import type { JournalDocument } from '../../shared/edit/journal-file';
import { compatMachine, newestMachine, QEMU_RELEASES } from '../../shared/transform/releases';
import { TRANSFORM_RULES } from '../../shared/transform/rules';
import { journalText, writeTextAtomically } from '../edit/journal-store';
import { runRepairs } from '../edit/repair-service';
import { saveJournalInWorker, type SaveProgress } from '../edit/worker-save';
import { repairLimits } from '../../shared/repair/limits';
import { repairOffers } from '../../shared/repair/planner';
import { UserError } from '../services/user-error';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import type { EditSession } from '../edit/edit-session';

/** What these need of an open QEMU image (ImageSession; an interface, so image-session.ts can import this module). */
interface EditableImage {
  readonly path: string;
  readonly model: QemuStreamModel;
  editing(): EditSession;
  changed(): EditState;
  markSaved(): void;
}

/**
 * Repairs an open image the way `migwb repair` does, into its journal: each repair is an
 * edit the user can undo. A donor (an intact save of the same VM) supplies what is missing.
 */
export async function repairSession(session: EditableImage, donorPath: string | null): Promise<RepairReport> {
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

/** Makes the repair that answers one diagnostic (planned again now, against the image as it stands). */
export function repairDiagnostic(session: EditableImage, code: string, offset: number): RepairReport {
  const edit = session.editing();
  const action = repairOffers(edit.context()).find((a) => a.addresses.some((d) => d.code === code && d.offset === offset));
  if (!action) throw new UserError('this problem has no repair any more (an edit or another repair changed it); look at the diagnostics again');
  const before = edit.model();
  edit.applyCompiled(action.edit);
  // What this one repair could not recover is said as for a whole repair.
  const limits = repairLimits(before, edit.model());
  return { ...session.changed(), repairs: [{ code: action.code, summary: action.edit.summary }], stopped: null, lost: limits.lost, consequence: limits.consequence ?? null };
}

/**
 * Saves the edited image to a new file. The journal is handed to a worker that re-applies
 * it to the image (checked by sha256), writes the result atomically and re-validates it,
 * so the main process stays free while gigabytes are hashed and written.
 */
export async function saveSession(session: EditableImage, output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage> {
  const journal = await session.editing().document({ onProgress: (done, total) => onProgress({ phase: 'hashing', done, total }) });
  const saved = await saveJournalInWorker({ image: session.path, journal, output, force: request.force, streamOnly: request.streamOnly }, { onProgress });
  session.markSaved();
  return { path: saved.path, size: saved.size, sha256: saved.sha256, diagnostics: saved.diagnostics, notes: saved.notes };
}

/** Re-applies a journal to a fresh session of its image (checked by sha256, as `migwb apply` checks it). */
export async function restoreJournal(session: EditableImage, journal: JournalDocument): Promise<EditState> {
  await session.editing().loadJournal(journal);
  return session.changed();
}

/** Writes the journal (re-applicable with `migwb apply IMAGE JOURNAL -o OUT`); never over the image. */
export async function saveSessionJournal(session: EditableImage, file: string): Promise<void> {
  await writeTextAtomically(file, journalText(await session.editing().document()), session.editing().inputs());
}

/** The targets the Transform dialog offers for this image. */
export function transformTargets(session: EditableImage): TransformTargets {
  const machine = session.model.machineType ?? null;
  return {
    machine,
    releases: QEMU_RELEASES.map((r) => ({ id: r.id, version: r.version, compat: machine ? (compatMachine(r, machine) ?? null) : null, newest: machine ? (newestMachine(r, machine) ?? null) : null })),
    options: TRANSFORM_RULES.filter((r) => r.kind === 'normalise').map((r) => ({ name: r.name, description: r.description })),
  };
}

function requestOf(r: TransformRequestView) {
  return { to: r.to, machine: r.machine ?? undefined, templatePath: r.templatePath ?? undefined, options: r.options };
}

/** The plan of a transform, nothing applied (the dialog's review list and vmdesc diff). */
export function planSessionTransform(session: EditableImage, request: TransformRequestView): TransformPlanView {
  return session.editing().transform(requestOf(request), { dryRun: true }).plan;
}

type TransformProgress = Omit<Extract<WorkbenchEvent, { type: 'transform-progress' }>, 'type' | 'handle'>;

/**
 * Applies a transform as one journal entry (Undo takes it back whole) and shows the edited
 * image. Progress: planning, applying, then checking (re-reading the edited stream, the
 * long part for a large image). Planning and applying run in one go, so nothing changes
 * the journal between them; before each long synchronous step the event loop turns once,
 * so the progress event reaches the renderer while the step runs, not after it.
 */
export async function applySessionTransform(session: EditableImage, request: TransformRequestView, onProgress: (p: TransformProgress) => void): Promise<TransformApplied> {
  onProgress({ phase: 'planning', done: 0, total: 3 });
  await nextTurn();
  const outcome = session.editing().transform(requestOf(request), { dryRun: true });
  if (!outcome.edit) return { ...session.changed(), plan: outcome.plan, applied: false };
  onProgress({ phase: 'applying', done: 1, total: 3 });
  session.editing().applyCompiled(outcome.edit);
  onProgress({ phase: 'checking', done: 2, total: 3 });
  await nextTurn();
  const state = session.changed();
  onProgress({ phase: 'done', done: 3, total: 3 });
  return { ...state, plan: outcome.plan, applied: true };
}

/** Lets pending I/O (the progress events just emitted) go out before synchronous work. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
