import * as path from 'node:path';
import type { ByteSpace, EditState, EditSummary, ImageOpened, RepairReport, SavedImage, SaveRequest, SectionJson, TreeNode } from '../../../shared/api/contract';
import type { EditRequest } from '../../../shared/edit/intents';
import type { AppliedEdit } from '../../../shared/edit/journal';
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
export class XenImageSession implements WorkbenchImage {
  private tree: XenTree;
  private info: ImageOpened;

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
    };
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

  treeChildren(nodeId: string | null): TreeNode[] {
    return this.tree.children(nodeId);
  }

  nodePathAt(offset: number): string[] {
    return this.tree.pathAt(offset);
  }

  fieldAddress(nodeId: string): string | undefined {
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

  sectionJson(nodeId: string): SectionJson | null {
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

  repair(donorPath: string | null): RepairReport {
    if (donorPath) throw new UserError('Xen repairs need no donor: every repair keeps what the stream has');
    const { repairs, stopped } = this.session.repairAll();
    return { ...this.changed(), repairs: repairs.map((r) => ({ code: r.code, summary: r.edit.summary })), stopped: stopped ?? null };
  }

  async save(output: string, request: SaveRequest, onProgress: (p: SaveProgress) => void): Promise<SavedImage> {
    const saved = await this.session.save(output, { force: request.force, onProgress: (done, total) => onProgress({ phase: 'writing', done, total }) });
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

  private changed(): EditState {
    const model = this.model;
    this.tree = new XenTree(this.session.view, model);
    this.info = { ...this.info, streamSize: this.session.view.size, diagnostics: model.diagnostics, revision: this.info.revision + 1, edits: this.session.entries.length };
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
