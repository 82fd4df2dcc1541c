import * as path from 'node:path';
import type { ByteSpace, ChunkListView, EditState, EditSummary, ImageOpened, RepairOffer, RepairReport, SavedImage, SaveRequest, SectionJson, TreeNode } from '../../shared/api/contract';
import type { JournalDocument } from '../../shared/edit/journal-file';
import { readerOf } from '../../shared/formats/registry';
import { chunkList } from '../../shared/workbench/chunk-list';
import { repairOffers } from '../../shared/repair/planner';
import { decodeSectionFor } from './section-decoding';
import type { EditRequest } from '../../shared/edit/intents';
import { containerEditsOf, type AppliedEdit } from '../../shared/edit/journal';
import type { ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import type { Vmdesc } from '../../shared/formats/qemu-stream/vmdesc';
import { computeMinimap } from '../../shared/workbench/minimap';
import { sectionJson } from '../../shared/workbench/section-json';
import { StructureTree } from '../../shared/workbench/structure-tree';
import { EditSession } from '../edit/edit-session';
import type { SaveProgress } from '../edit/worker-save';
import type { OpenedImage } from '../services/open-image';
import { UserError } from '../services/user-error';
import type { MachineLayout } from '../../shared/memory/layout';
import { layoutOf } from '../memory/guest-view';
import type { GuestSource } from '../memory/read-memory';
import { displayDevices } from '../../shared/display/devices';
import { domainXmlOf } from '../display/spice-channels-service';
import { repairDiagnostic, repairSession, restoreJournal, saveSession, saveSessionJournal } from './image-editing';

/**
 * What the API handlers need of an open image, whatever its engine: the QEMU stream engine
 * (ImageSession) or the Xen engine (XenImageSession). Trees, bytes, the minimap, the JSON
 * tab, edits and saving all go through it.
 */
export interface WorkbenchImage {
  readonly handle: string;
  readonly owner: string;
  readonly path: string;
  readonly opened: ImageOpened;
  /** Tree queries are async: a large section is decoded in a worker first (section-decoding.ts). */
  treeChildren(nodeId: string | null): Promise<TreeNode[]>;
  nodePathAt(offset: number, space: ByteSpace): Promise<string[]>;
  fieldAddress(nodeId: string): Promise<string | undefined>;
  bytes(space: ByteSpace): ByteSource;
  minimap(buckets: number): number[];
  sectionJson(nodeId: string): Promise<SectionJson | null>;
  apply(request: EditRequest): EditState;
  undo(): EditState;
  redo(): EditState;
  repair(donorPath: string | null): Promise<RepairReport>;
  /** Makes the repair offered for one diagnostic (ImageOpened.repairs). */
  repairDiagnostic(code: string, offset: number): RepairReport;
  save(output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage>;
  saveJournal(file: string): Promise<void>;
  /** The journal as `migwb apply` takes it (autosaved while edits are unsaved). */
  journal(): Promise<JournalDocument>;
  /** Re-applies a journal an earlier session left (checked against the image by sha256). */
  restore(journal: JournalDocument): Promise<EditState>;
  /** Edits that closing would lose: applied, and not saved since. */
  readonly unsaved: boolean;
  /** Whether the image has been edited in this session. */
  readonly edited: boolean;
  borrowVmdesc(vmdesc: Vmdesc, from: string): ImageOpened;
  close(): void;
}

/**
 * One image open in the workbench: the file, its stream, the stream's model and structure
 * tree, and (from the first edit on) an edit session whose journal overlays the original.
 * After every edit, undo or redo the tree and the bytes come from the edited view; the
 * file itself is never written.
 */
export class ImageSession implements WorkbenchImage {
  private edit?: EditSession;
  private guestView?: GuestView;
  /** The revision last saved to a file (Save as): edits up to it are not lost if the window closes. */
  private savedRevision = 0;
  private current: { source: ByteSource; model: QemuStreamModel; tree: StructureTree };
  private readonly closing = new AbortController();
  /** The chunk list of the current revision, made on first request. */
  private chunkView?: ChunkListView;

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

  /** A libvirt save's domain XML (it names the vmchannel ports); undefined for other images. */
  get domainXml(): string | undefined {
    return domainXmlOf(this.image);
  }

  get tree(): StructureTree {
    return this.current.tree;
  }

  async treeChildren(nodeId: string | null): Promise<TreeNode[]> {
    const tree = this.tree;
    if (nodeId !== null) await decodeSectionFor(tree, { id: nodeId }, { terminate: this.closed });
    return tree.children(nodeId);
  }

  async nodePathAt(offset: number, space: ByteSpace): Promise<string[]> {
    const tree = this.tree;
    // (A file offset in a wrapped image is mapped by the tree itself, decoding on this thread: bounded.)
    if (space !== 'file') await decodeSectionFor(tree, { offset }, { terminate: this.closed });
    return tree.pathAt(offset, space);
  }

  async fieldAddress(nodeId: string): Promise<string | undefined> {
    const tree = this.tree;
    await decodeSectionFor(tree, { id: nodeId }, { terminate: this.closed });
    return tree.fieldAddress(nodeId);
  }

  minimap(buckets: number): number[] {
    return computeMinimap(this.model, buckets);
  }

  async sectionJson(nodeId: string): Promise<SectionJson | null> {
    const { tree, source, model } = this;
    const element = tree.elementOf(nodeId);
    if (!element) return null;
    await decodeSectionFor(tree, { id: nodeId }, { terminate: this.closed });
    return sectionJson(source, model, element, (e) => tree.decodedSection(e));
  }

  repair(donorPath: string | null): Promise<RepairReport> {
    return repairSession(this, donorPath);
  }

  save(output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage> {
    return saveSession(this, output, request, onProgress);
  }

  saveJournal(file: string): Promise<void> {
    return saveSessionJournal(this, file);
  }

  repairDiagnostic(code: string, offset: number): RepairReport {
    return repairDiagnostic(this, code, offset);
  }

  journal(): Promise<JournalDocument> {
    return this.editing().document();
  }

  restore(journal: JournalDocument): Promise<EditState> {
    return restoreJournal(this, journal);
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

  /**
   * The chunk panel's rows for the image as it stands: what Save as would write for a
   * chunked container (its chunks, re-chunked where the stream changed), else the stream's
   * elements standing for chunks.
   */
  chunks(): ChunkListView {
    if (this.chunkView?.revision === this.info.revision) return this.chunkView;
    const entries = this.edit?.entries ?? [];
    const { file, container } = this.image;
    const { source, model } = this.current;
    const rows = chunkList({ file, container, edited: source, model, streamEdits: entries.filter((e) => e.changes.length > 0).length, containerEdits: containerEditsOf(entries), diagnostics: model.diagnostics });
    this.chunkView = { revision: this.info.revision, container: readerOf(container).chunks !== undefined, rows };
    return this.chunkView;
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
      displays: displaysOf(model),
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
    displays: displaysOf(image.model),
  };
}

function displaysOf(model: QemuStreamModel): string[] {
  return displayDevices(model).map((d) => d.idstr);
}

function summaryOf(e: AppliedEdit): EditSummary {
  return { summary: e.summary, fixups: e.fixups };
}
