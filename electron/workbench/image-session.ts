import * as path from 'node:path';
import type { ByteSpace, EditState, EditSummary, ImageOpened, RepairOffer } from '../../shared/api/contract';
import { repairOffers } from '../../shared/repair/planner';
import type { EditRequest } from '../../shared/edit/intents';
import type { AppliedEdit } from '../../shared/edit/journal';
import type { ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import type { Vmdesc } from '../../shared/formats/qemu-stream/vmdesc';
import { StructureTree } from '../../shared/workbench/structure-tree';
import { EditSession } from '../edit/edit-session';
import type { OpenedImage } from '../services/open-image';
import { UserError } from '../services/user-error';
import type { MachineLayout } from '../../shared/memory/layout';
import { layoutOf } from '../memory/guest-view';
import type { GuestSource } from '../memory/read-memory';

/**
 * One image open in the workbench: the file, its stream, the stream's model and structure
 * tree, and (from the first edit on) an edit session whose journal overlays the original.
 * After every edit, undo or redo the tree and the bytes come from the edited view; the
 * file itself is never written.
 */
export class ImageSession {
  private edit?: EditSession;
  private guestView?: GuestView;
  /** The revision last saved to a file (Save as): edits up to it are not lost if the window closes. */
  private savedRevision = 0;
  private current: { source: ByteSource; model: QemuStreamModel; tree: StructureTree };
  private readonly closing = new AbortController();

  constructor(
    readonly handle: string,
    readonly owner: string,
    private readonly image: OpenedImage,
    private info: ImageOpened,
  ) {
    this.current = { source: image.source, model: image.model, tree: this.treeOf(image.source, image.model) };
    this.info = { ...info, repairs: this.offers() };
  }

  /** Edits that would be lost if the image were closed now: applied, and not saved since. */
  get unsaved(): boolean {
    return this.info.edits > 0 && this.info.revision !== this.savedRevision;
  }

  /** Whether the image has been edited in this session (its journal exists). */
  get edited(): boolean {
    return this.edit !== undefined && (this.edit.entries.length > 0 || this.edit.redoable.length > 0 || this.savedRevision > 0);
  }

  /** The image as it stands was written to a file. */
  markSaved(): void {
    this.savedRevision = this.info.revision;
  }

  get path(): string {
    return this.image.path;
  }

  get opened(): ImageOpened {
    return this.info;
  }

  /** The stream as it stands (edited or not). */
  get source(): ByteSource {
    return this.current.source;
  }

  get model(): QemuStreamModel {
    return this.current.model;
  }

  get tree(): StructureTree {
    return this.current.tree;
  }

  /** The image as it is on disk (never edited): what QEMU would load, and what guest-memory searches read in a worker. */
  get original(): OpenedImage {
    return this.image;
  }

  /** Guest memory of the stream as it stands, with the machine's layout (found once per revision). */
  guest(): GuestView {
    const { source, model } = this.current;
    if (this.guestView?.model !== model) this.guestView = { source, model, fileOffsetOf: (o) => this.image.fileOffsetOf(o), layout: layoutOf({ source, model }) };
    return this.guestView;
  }

  /** Edits in the journal that are not saved to a file. */
  get unsavedEdits(): number {
    return this.edit?.entries.length ?? 0;
  }

  /** The bytes of one of the image's spaces: the stream as it stands, or the file as it is on disk. */
  bytes(space: ByteSpace): ByteSource {
    return space === 'file' ? this.image.file : this.current.source;
  }

  /** The edit session, started on first use over the already opened image. */
  editing(): EditSession {
    this.edit ??= EditSession.over(this.image);
    return this.edit;
  }

  apply(request: EditRequest): EditState {
    this.editing().apply(request);
    return this.changed();
  }

  undo(): EditState {
    this.editing().undo();
    return this.changed();
  }

  redo(): EditState {
    this.editing().redo();
    return this.changed();
  }

  /**
   * Decodes the stream's device sections with a sibling's vmdesc from now on (the bytes stay
   * as they are). The edit session keeps it, so edits and every later revision use it too.
   */
  borrowVmdesc(vmdesc: Vmdesc, from: string): ImageOpened {
    if (this.current.model.vmdesc && !this.current.model.borrowedVmdesc) throw new UserError(`${this.info.name} has its own vmdesc; there is nothing to borrow`);
    this.editing().borrowVmdesc(vmdesc, from);
    this.showEdited();
    return this.info;
  }

  /** Re-reads the edited view after the journal changed: its model, tree and diagnostics. */
  changed(): EditState {
    const edit = this.showEdited();
    return { image: this.info, edits: edit.entries.map(summaryOf), redoable: [...edit.redoable].reverse().map(summaryOf) };
  }

  /** Aborted when the image closes: work for it in workers stops. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  close(): void {
    this.closing.abort(new Error('the image was closed'));
    if (this.edit) this.edit.close();
    else this.image.close();
  }

  /** Makes the edit session's view (and its model, described by any borrowed vmdesc) what the window sees, as a new revision. */
  private showEdited(): EditSession {
    const edit = this.editing();
    const source = edit.view;
    const model = edit.describedModel();
    this.current = { source, model, tree: this.treeOf(source, model) };
    this.info = {
      ...this.info,
      streamSize: source.size,
      machineType: model.machineType ?? null,
      pageSize: model.pageSize,
      diagnostics: model.diagnostics,
      revision: this.info.revision + 1,
      edits: edit.entries.length,
      borrowedVmdesc: model.borrowedVmdesc ?? null,
    };
    this.info.repairs = this.offers();
    return edit;
  }

  /** The repairs the diagnostics of the image as it stands can have (see repairOffers). */
  private offers(): RepairOffer[] {
    if (!this.current.model.diagnostics.some((d) => d.severity !== 'info')) return [];
    return repairOffers(this.editing().context()).map((a) => ({ code: a.code, summary: a.edit.summary, answers: a.addresses.map((d) => ({ code: d.code, offset: d.offset })) }));
  }

  private treeOf(source: ByteSource, model: QemuStreamModel): StructureTree {
    return new StructureTree(source, model, { file: this.image.file, layers: this.image.layers, streamStart: this.image.fileOffsetOf(0) });
  }
}

/** Guest memory as reads see it: the stream, its model and where the machine maps its blocks. */
export interface GuestView extends GuestSource {
  layout: MachineLayout | undefined;
}

/** What the renderer shows of an opened image. */
export function imageOpened(handle: string, image: OpenedImage, openMs: number): ImageOpened {
  return {
    handle,
    path: image.path,
    name: path.basename(image.path),
    kind: image.kind,
    fileSize: image.file.size,
    streamSize: image.source.size,
    streamBase: image.streamBase ?? null,
    layers: image.layers.map((l) => l.kind),
    offsetSpace: image.offsetSpace,
    containerDiagnostics: image.containerDiagnostics,
    machineType: image.model.machineType ?? null,
    pageSize: image.model.pageSize,
    diagnostics: image.model.diagnostics,
    openedVia: image.via,
    openMs,
    revision: 0,
    edits: 0,
    borrowedVmdesc: null,
    repairs: [],
    autosaved: null,
  };
}

function summaryOf(e: AppliedEdit): EditSummary {
  return { summary: e.summary, fixups: e.fixups };
}
