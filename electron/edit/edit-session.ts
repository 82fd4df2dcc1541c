import * as path from 'node:path';
import type { Diagnostic } from '../../shared/diagnostics';
import { compileEdit } from '../../shared/edit/compile';
import type { EditContext, SourceImage } from '../../shared/edit/context';
import { EditError } from '../../shared/edit/errors';
import type { EditRequest } from '../../shared/edit/intents';
import { containerEditsOf, EditJournal, type AppliedEdit, type CompiledEdit } from '../../shared/edit/journal';
import { journalDocument, replayJournal, type JournalDocument, type SourceIdentity } from '../../shared/edit/journal-file';
import type { JournalSource } from '../../shared/edit/pieces';
import { evidenceReport } from '../../shared/edit/report';
import { rebuildDerivedSource } from '../../shared/transform/derived';
import type { TransformRequest } from '../../shared/transform/target';
import { planTransform, type TransformOutcome } from '../../shared/transform/transform';
import { readBytes, type ByteSource } from '../../shared/io/byte-source';
import { borrowVmdesc } from '../../shared/formats/qemu-stream/borrowed-vmdesc';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { readerOf } from '../../shared/formats/registry';
import { looksLikeDirectoryHeader } from '../../shared/formats/section-directory/section-directory';
import { parseQemuStream, type ParseOptions } from '../../shared/formats/qemu-stream/stream-parser';
import type { Vmdesc } from '../../shared/formats/qemu-stream/vmdesc';
import { openImage, openImageAsync, type OpenedImage, type OpenOptions } from '../services/open-image';
import { sealedBy } from '../services/seal-image';
import type { NamedPath } from '../io/output-paths';
import { UserError } from '../services/user-error';
import { saveAtomically, type SaveResult } from './atomic-save';
import { sha256Of, sha256OfSync, type LongWorkOptions } from './file-hash';

export interface SaveOptions {
  /** Save even if the result has errors. */
  force?: boolean;
  /** Write the edited QEMU stream alone, without the libvirt or qcow2 wrapper around it. */
  streamOnly?: boolean;
}

export interface SessionSaveResult extends SaveResult {
  /** Things the user should know about the saved file (kept trailers, forced errors). */
  notes: string[];
}

/**
 * An editing session over one image, for the GUI and the CLI alike: open read-only, apply
 * edits (requests or repairs), undo and redo, preview the edited image's model and
 * diagnostics, save atomically, and keep the journal. The original is never written.
 */
export class EditSession {
  private readonly journal: EditJournal;
  private readonly donors = new Map<string, OpenedImage>();
  private readonly hashes = new Map<string, string>();
  private parsed?: { view: JournalSource; model: QemuStreamModel };
  /** Native images of transform targets, by path (read-only, never written). */
  private readonly templates = new Map<string, OpenedImage>();
  /** A sibling's vmdesc for a stream without one, so its fields can be edited by name. */
  private borrowed?: { vmdesc: Vmdesc; from: string };

  private constructor(readonly image: OpenedImage) {
    this.journal = new EditJournal(image.source);
    this.parsed = { view: this.journal.view(), model: image.model };
  }

  /** Opens an image whose stream is stored uncompressed (a bare stream, a raw libvirt save, a qcow2 snapshot). */
  static open(imagePath: string, options: ParseOptions = {}): EditSession {
    return new EditSession(openImage(imagePath, options));
  }

  /** Edits an image already opened (the session owns it from now on and closes it). */
  static over(image: OpenedImage): EditSession {
    return new EditSession(image);
  }

  /** Opens any image, decompressing a compressed libvirt save's stream into the cache first. */
  static async openAsync(imagePath: string, options: OpenOptions = {}): Promise<EditSession> {
    return new EditSession(await openImageAsync(imagePath, options));
  }

  get path(): string {
    return this.image.path;
  }

  /**
   * Opens a donor image read-only so edits and repairs can copy from it, and hashes it:
   * every record that takes from a donor names it by path and sha256. Returns its id.
   */
  addDonor(donorPath: string, id?: string): string {
    const added = this.openDonor(donorPath, id);
    this.hashes.set(added, sha256OfSync(this.donors.get(added)!.file));
    return added;
  }

  /** addDonor without blocking: the hash is computed in chunks, with progress and cancellation. */
  async addDonorAsync(donorPath: string, id?: string, options: LongWorkOptions = {}): Promise<string> {
    const added = this.openDonor(donorPath, id);
    await this.identity(added, this.donors.get(added)!, options);
    return added;
  }

  private openDonor(donorPath: string, id = this.donors.size === 0 ? 'donor' : `donor${this.donors.size + 1}`): string {
    if (this.donors.has(id)) throw new UserError(`a donor named ${id} is already open`);
    const donor = openImage(donorPath);
    this.donors.set(id, donor);
    this.journal.addSource(id, donor.source);
    return id;
  }

  /** The id of the donor opened from this file, opening it first if no edit used it yet (the app's graft and replace). */
  donorAt(donorPath: string): string {
    const wanted = path.resolve(donorPath);
    for (const [id, d] of this.donors) if (path.resolve(d.path) === wanted) return id;
    let n = this.donors.size + 1;
    while (this.donors.has(n === 1 ? 'donor' : `donor${n}`)) n++;
    return this.addDonor(donorPath, n === 1 ? 'donor' : `donor${n}`);
  }

  /** The edited image as it stands (read through the journal; nothing is written). */
  get view(): JournalSource {
    return this.journal.view();
  }

  /** The model of the edited image; parsed once per state. */
  model(): QemuStreamModel {
    const view = this.journal.view();
    if (this.parsed?.view !== view) this.parsed = { view, model: noteOldDirectory(parseQemuStream(view), view) };
    return this.parsed.model;
  }

  /**
   * Decode device sections with a sibling's vmdesc from now on (see borrowed-vmdesc.ts). Field
   * edits then work where it fits to the byte; the journal records bytes, so it replays
   * without the sibling.
   */
  borrowVmdesc(vmdesc: Vmdesc, from: string): void {
    this.borrowed = { vmdesc, from };
  }

  /** The model edits are compiled against: the parsed one, described by any borrowed vmdesc. */
  describedModel(): QemuStreamModel {
    const model = this.model();
    return this.borrowed ? borrowVmdesc(model, this.borrowed.vmdesc, this.borrowed.from) : model;
  }

  get diagnostics(): Diagnostic[] {
    return this.model().diagnostics;
  }

  context(): EditContext {
    const { container } = this.image;
    const reader = readerOf(container);
    return {
      view: this.view,
      model: this.describedModel(),
      donor: (id) => {
        const d = this.donors.get(id);
        return d && ({ id, source: d.source, model: d.model, path: path.resolve(d.path), sha256: this.hashes.get(id) } satisfies SourceImage);
      },
      ...(reader.chunkEdit ? { chunkEdit: (request) => reader.chunkEdit!(container, request) } : {}),
    };
  }

  get entries(): readonly AppliedEdit[] {
    return this.journal.entries;
  }

  get redoable(): readonly AppliedEdit[] {
    return this.journal.redoable;
  }

  /** Applies a user request; a request that cannot be made is a one-line UserError. */
  apply(request: EditRequest): AppliedEdit {
    return this.applyCompiled(userErrors(() => compileEdit(request, this.context())));
  }

  applyCompiled(edit: CompiledEdit): AppliedEdit {
    return userErrors(() => this.journal.apply(edit));
  }

  /**
   * Plans a transform of the edited image for another QEMU release (shared/transform) and,
   * unless `dryRun`, applies it as one edit: one undo takes it back. Nothing is applied
   * when the plan has blockers or nothing to change.
   */
  transform(request: Omit<TransformRequest, 'template'>, options: { dryRun?: boolean } = {}): TransformOutcome & { applied?: AppliedEdit } {
    const template = request.templatePath !== undefined ? this.openTemplate(request.templatePath) : undefined;
    let derivedId = 'transform-ram';
    for (let n = 2; this.journal.source(derivedId); n++) derivedId = `transform-ram-${n}`;
    const outcome = userErrors(() =>
      planTransform({ source: this.view, model: this.describedModel() }, { ...request, template: template && { source: template.source, model: template.model } }, derivedId),
    );
    if (options.dryRun || !outcome.edit) return outcome;
    return { ...outcome, applied: this.applyCompiled(outcome.edit) };
  }

  private openTemplate(templatePath: string): OpenedImage {
    const key = path.resolve(templatePath);
    let t = this.templates.get(key);
    if (!t) {
      t = openImage(templatePath);
      this.templates.set(key, t);
    }
    return t;
  }

  undo(): AppliedEdit | undefined {
    return this.journal.undo();
  }

  redo(): AppliedEdit | undefined {
    return this.journal.redo();
  }

  /** Takes back the last edit without offering it for redo. */
  withdraw(): AppliedEdit | undefined {
    return this.journal.withdraw();
  }

  /** The journal as a document (hashes the image and donors once; long for big files). */
  async document(options: LongWorkOptions = {}): Promise<JournalDocument> {
    const image = await this.identity('image', this.image, options);
    const sources = [];
    for (const [id, d] of this.donors) sources.push({ id, ...(await this.identity(id, d, options)) });
    return journalDocument(this.journal, image, sources);
  }

  /**
   * Re-applies a saved journal to this image, which must be the image it was made for
   * (same size and sha256). Donors are opened from the journal's paths unless `donorPaths`
   * says where they are now; they are checked by sha256 too.
   */
  async loadJournal(doc: JournalDocument, donorPaths: Record<string, string> = {}, options: LongWorkOptions = {}): Promise<void> {
    if (this.journal.entries.length || this.journal.redoable.length) throw new UserError('load the journal into a fresh session');
    const mine = await this.identity('image', this.image, options);
    if (mine.size !== doc.image.size || mine.sha256 !== doc.image.sha256) {
      throw new UserError(
        `the journal was made for ${doc.image.path} (${doc.image.size} bytes, sha256 ${doc.image.sha256}); ${this.path} is a different image (${mine.size} bytes, sha256 ${mine.sha256}), so the journal cannot be applied to it`,
      );
    }
    for (const s of doc.sources) {
      const where = donorPaths[s.id] ?? s.path;
      const id = this.openDonor(where, s.id);
      const got = await this.identity(id, this.donors.get(id)!, options);
      if (got.sha256 !== s.sha256) throw new UserError(`donor ${s.id} at ${where} is not the file the journal used (sha256 ${got.sha256}, expected ${s.sha256}); give its path with --donor ${s.id}=PATH`);
    }
    // A transform's re-encoded RAM is rebuilt from the image as it stands before its entry.
    userErrors(() => replayJournal(this.journal, doc, (e) => {
      for (const d of e.derived ?? []) d.source = rebuildDerivedSource(d.recipe, this.journal.view());
    }));
  }

  /** The evidence report of the journal (Markdown). */
  async report(result?: { path?: string; size: number; sha256?: string }, options: LongWorkOptions = {}): Promise<string> {
    return evidenceReport(await this.document(options), result, (id, offset, length) => readBytes(this.journal.source(id)!, offset, length));
  }

  /**
   * Saves the edited image to `out` atomically, re-validated from disk first: a result with
   * errors is refused unless `force`. The original and the donors can never be the target.
   */
  async save(out: string, options: LongWorkOptions & SaveOptions = {}): Promise<SessionSaveResult> {
    const { content, notes } = options.streamOnly ? { content: this.view, notes: ['only the QEMU stream was written (a bare migration stream, loadable with -incoming "exec:cat FILE")'] } : await this.composeOutput(options);
    notes.push(...this.annotationsLeftInJournal(options.streamOnly === true));
    const result = await saveAtomically(out, content, {
      ...options,
      protect: this.inputs(),
      validate: validateImageFile,
    });
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    if (errors) notes.push(`saved with ${errors} error${errors === 1 ? '' : 's'} because --force was given`);
    return { ...result, notes };
  }

  /** The files this session reads: the image, its donors and a borrowed vmdesc's source. Nothing it writes may be one of them. */
  inputs(): NamedPath[] {
    return [
      { path: this.path, role: 'the image' },
      ...[...this.donors].map(([id, d]) => ({ path: d.path, role: `the donor ${id}` })),
      ...[...this.templates.values()].map((t) => ({ path: t.path, role: 'the transform template' })),
      ...(this.borrowed ? [{ path: this.borrowed.from, role: 'the vmdesc source' }] : []),
    ];
  }

  close(): void {
    this.image.close();
    for (const d of [...this.donors.values(), ...this.templates.values()]) d.close();
  }

  private async identity(id: string, image: OpenedImage, options: LongWorkOptions): Promise<SourceIdentity> {
    let sha = this.hashes.get(id);
    if (!sha) this.hashes.set(id, (sha = await sha256Of(image.file, options)));
    return { path: path.resolve(image.path), size: image.file.size, sha256: sha };
  }

  /**
   * The file to write: the edited stream, put back into its container by its format (a bare
   * stream re-sealed when it had a section directory; a raw libvirt save behind its header,
   * XML and padding; a compressed one with its stream uncompressed; a chunked container
   * re-chunked where the stream changed, with its notes and journal).
   */
  private async composeOutput(options: LongWorkOptions): Promise<{ content: ByteSource; notes: string[] }> {
    const { file, container } = this.image;
    const reader = readerOf(container);
    const entries = this.journal.entries;
    const written = reader.writeBack({
      file,
      container,
      edited: this.view,
      model: this.model(),
      edits: entries.filter((e) => e.changes.length > 0).length,
      sealedBy: sealedBy(),
      containerEdits: containerEditsOf(entries),
      ...(reader.recordsJournal && entries.length > 0 ? { journal: await this.document(options) } : {}),
    });
    if ('refusal' in written) throw new UserError(`${this.path} ${written.refusal}`);
    return { content: written.content, notes: [...written.notes] };
  }

  /** Notes and tags a saved file has no place for: they stay in the journal. */
  private annotationsLeftInJournal(streamOnly: boolean): string[] {
    const kept = containerEditsOf(this.journal.entries).filter((e) => e.kind === 'note' || e.kind === 'tags').length;
    if (kept === 0 || (!streamOnly && readerOf(this.image.container).storesAnnotations)) return [];
    return [`${kept} note and tag edit${kept === 1 ? ' is' : 's are'} kept in the journal only: this file has no place for them (save the journal, or pack the image with "migwb pack" to keep them in a chunked container)`];
  }
}

/**
 * An edited sealed image still ends with its old section directory, which the parser
 * reports as data after the stream. It is not a problem of the edit: saving rewrites it.
 */
function noteOldDirectory(model: QemuStreamModel, view: ByteSource): QemuStreamModel {
  const t = model.trailing;
  if (!t || !looksLikeDirectoryHeader(readBytes(view, t.offset, 9))) return model;
  const diagnostics = model.diagnostics.map((d) =>
    d.code === 'trailing-data' && d.offset === t.offset
      ? { ...d, severity: 'info' as const, code: 'directory-rewritten-on-save', message: 'The section directory describes the image before the edits; saving writes a new one', hint: undefined }
      : d,
  );
  return { ...model, diagnostics };
}

/** What validation finds in a written file, opened exactly as the user would open it. */
export function validateImageFile(file: string): Diagnostic[] {
  let img: OpenedImage;
  try {
    img = openImage(file);
  } catch (e) {
    return [{ severity: 'error', code: 'not-an-image', offset: 0, expected: 'a migration image', found: (e as Error).message, message: 'The result is not a readable migration image' }];
  }
  img.close();
  return [...img.containerDiagnostics, ...img.model.diagnostics];
}

/** Runs `fn`, turning an EditError (a request that cannot be made) into a one-line UserError. */
export function userErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EditError) throw new UserError(e.message);
    throw e;
  }
}
