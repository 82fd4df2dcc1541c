import * as path from 'node:path';
import type { ByteSpace, EditState, EditSummary, ImageOpened } from '../../shared/api/contract';
import type { EditRequest } from '../../shared/edit/intents';
import type { AppliedEdit } from '../../shared/edit/journal';
import type { ByteSource } from '../../shared/io/byte-source';
import { borrowVmdesc } from '../../shared/qemu/borrowed-vmdesc';
import type { QemuStreamModel } from '../../shared/qemu/model';
import type { Vmdesc } from '../../shared/qemu/vmdesc';
import { StructureTree } from '../../shared/workbench/structure-tree';
import { EditSession } from '../edit/edit-session';
import type { OpenedImage } from '../services/open-image';
import { UserError } from '../services/user-error';

/**
 * One image open in the workbench: the file, its stream, the stream's model and structure
 * tree, and (from the first edit on) an edit session whose journal overlays the original.
 * After every edit, undo or redo the tree and the bytes come from the edited view; the
 * file itself is never written.
 */
export class ImageSession {
  private edit?: EditSession;
  private current: Presented;
  /** A sibling's vmdesc the user chose for a stream without one; applied to every revision. */
  private borrowed?: { vmdesc: Vmdesc; from: string };

  constructor(
    readonly handle: string,
    readonly owner: string,
    private readonly image: OpenedImage,
    private info: ImageOpened,
  ) {
    this.current = this.present(image.source, image.model);
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

  /** The bytes of one of the image's spaces: the stream as it stands, or the file as it is on disk. */
  bytes(space: ByteSpace): ByteSource {
    return space === 'file' ? this.image.file : this.current.source;
  }

  /** The edit session, started on first use over the already opened image. */
  editing(): EditSession {
    if (!this.edit) {
      this.edit = EditSession.over(this.image);
      if (this.borrowed) this.edit.borrowVmdesc(this.borrowed.vmdesc, this.borrowed.from);
    }
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

  /** Decodes the stream's device sections with a sibling's vmdesc from now on (the bytes stay as they are). */
  borrowVmdesc(vmdesc: Vmdesc, from: string): ImageOpened {
    if (this.current.model.vmdesc && !this.borrowed) throw new UserError(`${this.info.name} has its own vmdesc; there is nothing to borrow`);
    this.borrowed = { vmdesc, from };
    this.edit?.borrowVmdesc(vmdesc, from);
    this.show(this.current.source, this.current.parsed);
    return this.info;
  }

  /** Re-reads the edited view after the journal changed: its model, tree and diagnostics. */
  changed(): EditState {
    const edit = this.editing();
    this.show(edit.view, edit.model());
    return { image: this.info, edits: edit.entries.map(summaryOf), redoable: [...edit.redoable].reverse().map(summaryOf) };
  }

  close(): void {
    if (this.edit) this.edit.close();
    else this.image.close();
  }

  /** Makes `model` of `source` the one the window sees, as a new revision. */
  private show(source: ByteSource, model: QemuStreamModel): void {
    this.current = this.present(source, model);
    const shown = this.current.model;
    this.info = {
      ...this.info,
      streamSize: source.size,
      machineType: shown.machineType ?? null,
      pageSize: shown.pageSize,
      diagnostics: shown.diagnostics,
      revision: this.info.revision + 1,
      edits: this.edit?.entries.length ?? 0,
      borrowedVmdesc: shown.borrowedVmdesc ?? null,
    };
  }

  private present(source: ByteSource, parsed: QemuStreamModel): Presented {
    const model = this.borrowed ? borrowVmdesc(parsed, this.borrowed.vmdesc, this.borrowed.from) : parsed;
    return { source, parsed, model, tree: this.treeOf(source, model) };
  }

  private treeOf(source: ByteSource, model: QemuStreamModel): StructureTree {
    return new StructureTree(source, model, { file: this.image.file, layers: this.image.layers, streamStart: this.image.fileOffsetOf(0) });
  }
}

/** The stream as the window sees it: its model as parsed, and as shown (with any borrowed vmdesc). */
interface Presented {
  source: ByteSource;
  parsed: QemuStreamModel;
  model: QemuStreamModel;
  tree: StructureTree;
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
  };
}

function summaryOf(e: AppliedEdit): EditSummary {
  return { summary: e.summary, fixups: e.fixups };
}
