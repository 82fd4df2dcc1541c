import * as path from 'node:path';
import type { Diagnostic } from '../../../shared/diagnostics';
import type { EditRequest } from '../../../shared/edit/intents';
import { EditJournal, type AppliedEdit, type CompiledEdit } from '../../../shared/edit/journal';
import { journalDocument, replayJournal, type JournalDocument, type SourceIdentity } from '../../../shared/edit/journal-file';
import type { JournalSource } from '../../../shared/edit/pieces';
import { evidenceReport } from '../../../shared/edit/report';
import { compileXenEdit } from '../../../shared/formats/xen/edits';
import type { XenStreamModel } from '../../../shared/formats/xen/model';
import { parseXen, type ParseXenOptions } from '../../../shared/formats/xen/parse';
import { nextXenRepair } from '../../../shared/formats/xen/repair';
import type { RepairAction } from '../../../shared/repair/action';
import { readBytes, type ByteSource } from '../../../shared/io/byte-source';
import { saveAtomically, type SaveResult } from '../../edit/atomic-save';
import type { NamedPath } from '../../io/output-paths';
import { userErrors } from '../../edit/edit-session';
import { sha256Of, type LongWorkOptions } from '../../edit/file-hash';
import { FileSource } from '../../io/file-source';
import { openReadOnly } from '../../services/open-image';
import { UserError } from '../../services/user-error';

/** Repairs stop after this many steps: each must remove a problem, so more means a loop. */
const MAX_REPAIRS = 64;

/**
 * A Xen stream opened for reading and editing: the file read-only, its model, and a journal
 * of edits over it (the file is never written). The CLI and the app use it alike; the model
 * of the edited file is parsed once per state.
 */
export class XenSession {
  private readonly journal: EditJournal;
  private parsed?: { view: JournalSource; model: XenStreamModel };
  private sha?: string;

  private constructor(readonly path: string, readonly file: FileSource, model: XenStreamModel) {
    this.journal = new EditJournal(file);
    this.parsed = { view: this.journal.view(), model };
  }

  static open(imagePath: string, options: ParseXenOptions = {}): XenSession {
    const file = openReadOnly(imagePath);
    try {
      return new XenSession(imagePath, file, parseXen(file, options));
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Opens a file whose model was parsed elsewhere (the open worker). */
  static withModel(imagePath: string, model: XenStreamModel): XenSession {
    return new XenSession(imagePath, openReadOnly(imagePath), model);
  }

  get view(): JournalSource {
    return this.journal.view();
  }

  model(): XenStreamModel {
    const view = this.journal.view();
    if (this.parsed?.view !== view) this.parsed = { view, model: parseXen(view) };
    return this.parsed.model;
  }

  get diagnostics(): Diagnostic[] {
    return this.model().diagnostics;
  }

  get entries(): readonly AppliedEdit[] {
    return this.journal.entries;
  }

  get redoable(): readonly AppliedEdit[] {
    return this.journal.redoable;
  }

  apply(request: EditRequest): AppliedEdit {
    return this.applyCompiled(userErrors(() => compileXenEdit(request, { view: this.view, model: this.model() })));
  }

  applyCompiled(edit: CompiledEdit): AppliedEdit {
    return userErrors(() => this.journal.apply(edit));
  }

  undo(): AppliedEdit | undefined {
    return this.journal.undo();
  }

  redo(): AppliedEdit | undefined {
    return this.journal.redo();
  }

  /** The next repair validation calls for, without applying it. */
  nextRepair(): RepairAction | undefined {
    return nextXenRepair({ view: this.view, model: this.model() });
  }

  /** Applies every repair validation calls for, one at a time against the edited file; returns them and why it stopped early, if it did. */
  repairAll(): { repairs: RepairAction[]; stopped?: string } {
    const repairs: RepairAction[] = [];
    for (let i = 0; i < MAX_REPAIRS; i++) {
      const before = this.model().diagnostics.filter((d) => d.severity === 'error').length;
      const action = this.nextRepair();
      if (!action) return { repairs };
      this.applyCompiled(action.edit);
      repairs.push(action);
      if (this.model().diagnostics.filter((d) => d.severity === 'error').length >= before && action.addresses.some((d) => d.severity === 'error')) {
        this.undo();
        repairs.pop();
        return { repairs, stopped: `the repair "${action.edit.summary}" did not remove the problem it answers; it was undone` };
      }
    }
    return { repairs, stopped: `stopped after ${MAX_REPAIRS} repairs` };
  }

  async document(options: LongWorkOptions = {}): Promise<JournalDocument> {
    return journalDocument(this.journal, await this.identity(options), []);
  }

  /** Re-applies a saved journal made for this very file (same size and sha256). */
  async loadJournal(doc: JournalDocument, options: LongWorkOptions = {}): Promise<void> {
    if (this.journal.entries.length || this.journal.redoable.length) throw new UserError('load the journal into a fresh session');
    const mine = await this.identity(options);
    if (mine.size !== doc.image.size || mine.sha256 !== doc.image.sha256) {
      throw new UserError(`the journal was made for ${doc.image.path} (${doc.image.size} bytes, sha256 ${doc.image.sha256}); ${this.path} is a different file (${mine.size} bytes, sha256 ${mine.sha256}), so the journal cannot be applied to it`);
    }
    if (doc.sources.length) throw new UserError('the journal copies from donor images, which Xen edits never use; it was not made for this Xen stream');
    userErrors(() => replayJournal(this.journal, doc));
  }

  async report(result?: { path?: string; size: number; sha256?: string }, options: LongWorkOptions = {}): Promise<string> {
    return evidenceReport(await this.document(options), result, (id, offset, length) => readBytes(this.journal.source(id)!, offset, length));
  }

  /** Writes `content` (default: the edited file) to `out` atomically, re-validated from disk; refused with errors unless `force`. */
  async save(out: string, options: LongWorkOptions & { force?: boolean; content?: ByteSource } = {}): Promise<SaveResult> {
    return saveAtomically(out, options.content ?? this.view, { ...options, protect: this.inputs(), validate: validateXenFile });
  }

  /** The files this session reads (the image): nothing it writes may be one of them. */
  inputs(): NamedPath[] {
    return [{ path: this.path, role: 'the image' }];
  }

  close(): void {
    this.file.close();
  }

  private async identity(options: LongWorkOptions): Promise<SourceIdentity> {
    this.sha ??= await sha256Of(this.file, options);
    return { path: path.resolve(this.path), size: this.file.size, sha256: this.sha };
  }
}

/** What validation finds in a written Xen file. */
export function validateXenFile(file: string): Diagnostic[] {
  const src = new FileSource(file);
  try {
    return parseXen(src).diagnostics;
  } finally {
    src.close();
  }
}
