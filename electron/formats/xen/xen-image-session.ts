import * as path from 'node:path';
import type { ByteSpace, EditState, EditSummary, ImageOpened, RepairOffer, RepairReport, SavedImage, SaveRequest, SectionJson, TreeNode } from '../../../shared/api/contract';
import type { EditRequest } from '../../../shared/edit/intents';
import type { AppliedEdit } from '../../../shared/edit/journal';
import type { JournalDocument } from '../../../shared/edit/journal-file';
import type { ImageKind } from '../../../shared/formats/registry';
import { xenFieldAddress } from '../../../shared/formats/xen/field-address';
import type { XenStreamModel } from '../../../shared/formats/xen/model';
import { XenTree } from '../../../shared/formats/xen/tree';
import { xenMinimap, xenSectionJson } from '../../../shared/formats/xen/workbench';
import type { ByteSource } from '../../../shared/io/byte-source';
import { journalText, writeTextAtomically } from '../../edit/journal-store';
import type { SaveProgress } from '../../edit/worker-save';
import { UserError } from '../../services/user-error';
import type { WorkbenchImage } from '../../workbench/image-session';
import { XenSession } from './xen-session';

/**
 * A Xen stream open in the app. The whole file is the address space the hex view shows
 * (Xen formats have no inner stream to tell apart; the QEMU device state is a nested level
 * of the tree at its file offsets), so 'stream' and 'file' are the same bytes. Edits go
 * through the same journal as `migwb edit`; every edit makes a new revision.
 */
/** Xen repairs rewrite framing and headers from what the stream holds; no record or page is dropped. */
const NOTHING_LOST = { lost: [], consequence: null };

export class XenImageSession implements WorkbenchImage {
  private tree: XenTree;
  private info: ImageOpened;
  /** The revision last saved to a file: edits up to it are not lost if the window closes. */
  private savedRevision = 0;

  constructor(
    readonly handle: string,
    readonly owner: string,
    private readonly session: XenSession,
    openMs: number,
  ) {
    const model = session.model();
    this.tree = new XenTree(session.view, model);
    this.info = {
      handle,
      path: session.path,
      name: path.basename(session.path),
      kind: xenImageKind(model),
      fileSize: session.file.size,
      streamSize: session.view.size,
      streamBase: 0,
      layers: [],
      offsetSpace: 'file',
      containerDiagnostics: [],
      machineType: null,
      pageSize: 4096,
      diagnostics: model.diagnostics,
      openedVia: 'scan',
      openMs,
      revision: 0,
      edits: 0,
      borrowedVmdesc: null,
      repairs: [],
      autosaved: null,
      displays: [],
    };
    this.info.repairs = this.offers();
  }

  get unsaved(): boolean {
    return this.info.edits > 0 && this.info.revision !== this.savedRevision;
  }

  get edited(): boolean {
    return this.session.entries.length > 0 || this.session.redoable.length > 0 || this.savedRevision > 0;
  }

  get path(): string {
    return this.session.path;
  }

  get opened(): ImageOpened {
    return this.info;
  }

  private get model(): XenStreamModel {
    return this.session.model();
  }

  async treeChildren(nodeId: string | null): Promise<TreeNode[]> {
    return this.tree.children(nodeId);
  }

  async nodePathAt(offset: number): Promise<string[]> {
    return this.tree.pathAt(offset);
  }

  async fieldAddress(nodeId: string): Promise<string | undefined> {
    const nested = this.tree.nestedAt(nodeId);
    if (nested) {
      const inner = nested.tree.fieldAddress(nested.inner);
      const k = this.model.emulators.filter((e) => e.qemu).findIndex((e) => `r${e.record}/q` === nested.prefix);
      return inner && k >= 0 ? `EMULATOR_CONTEXT${k ? `:${k}` : ''}.${inner}` : undefined;
    }
    return xenFieldAddress(this.model, this.session.view, nodeId);
  }

  bytes(space: ByteSpace): ByteSource {
    return space === 'file' && this.session.entries.length === 0 ? this.session.file : this.session.view;
  }

  minimap(buckets: number): number[] {
    return xenMinimap(this.model, buckets);
  }

  async sectionJson(nodeId: string): Promise<SectionJson | null> {
    return xenSectionJson(this.session.view, this.model, this.tree, nodeId);
  }

  apply(request: EditRequest): EditState {
    this.session.apply(request);
    return this.changed();
  }

  undo(): EditState {
    this.session.undo();
    return this.changed();
  }

  redo(): EditState {
    this.session.redo();
    return this.changed();
  }

  async repair(donorPath: string | null): Promise<RepairReport> {
    if (donorPath) throw new UserError('Xen repairs need no donor: every repair keeps what the stream has');
    const { repairs, stopped } = this.session.repairAll();
    return { ...this.changed(), repairs: repairs.map((r) => ({ code: r.code, summary: r.edit.summary })), stopped: stopped ?? null, ...NOTHING_LOST };
  }

  /** Xen repairs are planned one at a time against the stream as it stands: the one offered is the next. */
  repairDiagnostic(code: string, offset: number): RepairReport {
    const next = this.session.nextRepair();
    if (!next?.addresses.some((d) => d.code === code && d.offset === offset)) throw new UserError('this problem has no repair of its own now (an edit or another repair changed it, or an earlier problem must be repaired first); look at the diagnostics again');
    this.session.applyCompiled(next.edit);
    return { ...this.changed(), repairs: [{ code: next.code, summary: next.edit.summary }], stopped: null, ...NOTHING_LOST };
  }

  journal(): Promise<JournalDocument> {
    return this.session.document();
  }

  async restore(journal: JournalDocument): Promise<EditState> {
    await this.session.loadJournal(journal);
    return this.changed();
  }

  async save(output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage> {
    const saved = await this.session.save(output, { force: request.force, onProgress: (done, total) => onProgress({ phase: 'writing', done, total }) });
    this.savedRevision = this.info.revision;
    return { path: saved.path, size: saved.size, sha256: saved.sha256, diagnostics: saved.diagnostics, notes: [] };
  }

  async saveJournal(file: string): Promise<void> {
    await writeTextAtomically(file, journalText(await this.session.document()), this.session.inputs());
  }

  borrowVmdesc(): ImageOpened {
    throw new UserError('borrowing a vmdesc is for QEMU streams; decode the QEMU state of a Xen stream with "migwb dump --vmdesc-from" on the extracted blob');
  }

  close(): void {
    this.session.close();
  }

  /** The next repair the diagnostics call for, offered for the diagnostics it answers. */
  private offers(): RepairOffer[] {
    if (!this.model.diagnostics.some((d) => d.severity !== 'info')) return [];
    const next = this.session.nextRepair();
    return next ? [{ code: next.code, summary: next.edit.summary, answers: next.addresses.map((d) => ({ code: d.code, offset: d.offset })) }] : [];
  }

  private changed(): EditState {
    const model = this.model;
    this.tree = new XenTree(this.session.view, model);
    this.info = { ...this.info, streamSize: this.session.view.size, diagnostics: model.diagnostics, revision: this.info.revision + 1, edits: this.session.entries.length };
    this.info.repairs = this.offers();
    return { image: this.info, edits: this.session.entries.map(summaryOf), redoable: [...this.session.redoable].reverse().map(summaryOf) };
  }
}

/** The image kind the app shows for a Xen stream (a legacy stream is recognised without a magic). */
function xenImageKind(model: XenStreamModel): ImageKind {
  return model.kind === 'xl' ? 'xen-xl' : model.kind === 'libxl' ? 'xen-libxl' : model.kind === 'legacy' ? 'xen-legacy' : 'xen-libxc';
}

function summaryOf(e: AppliedEdit): EditSummary {
  return { summary: e.summary, fixups: e.fixups };
}
