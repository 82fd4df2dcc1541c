import type { DiffRequest, EditState, TreeNode, WorkbenchApi } from '../../shared/api/contract';
import type { DiffOffset, FieldDifference, ImageDiff, RamDifferenceRun, SectionDifference, SectionRef } from '../../shared/api/image-diff';
import { base64ToBytes, errorMessage, hexOffset } from '../api';
import type { ImageView, StatusMessage } from '../image/image-view';
import { Store } from '../state/store';
import { findByKeys, isInStream, keyPathOf } from './counterpart';
import { DiffMarks, type Side } from './diff-marks';

/** What the compare view asks of the backend: everything, the RAM runs capped (their pages are still counted per block). */
export const COMPARE_REQUEST: DiffRequest = { fields: true, ram: true, sections: [], pageBytes: false, maxRuns: 10_000 };

export interface CompareState {
  diff: ImageDiff | null;
  marks: Record<Side, DiffMarks> | null;
  running: boolean;
  progress: { done: number; total: number } | null;
  elapsedMs: number | null;
  status: StatusMessage | null;
  /** The field table's selected row: "SECTION.PATH". */
  selectedRow: string | null;
}

/**
 * Two open images side by side: the diff of their files (run in the backend's worker),
 * marks for both trees, and the two image views kept on the same thing: selecting a node on
 * one side selects the same section or field on the other (found by name, so offsets may
 * differ). Copying a section or a field value across is an edit of the target's journal,
 * made through the target's own image view (Undo and Save as are its own).
 */
export class CompareView {
  readonly store = new Store<CompareState>({ diff: null, marks: null, running: false, progress: null, elapsedMs: null, status: null, selectedRow: null });
  /** The compare tab's id (image tabs are handles). */
  readonly id: string;

  constructor(
    readonly a: ImageView,
    readonly b: ImageView,
    private readonly api: WorkbenchApi,
    id: string,
  ) {
    this.id = id;
  }

  get title(): string {
    return `${this.a.store.get().image.name} ↔ ${this.b.store.get().image.name}`;
  }

  view(side: Side): ImageView {
    return side === 'a' ? this.a : this.b;
  }

  setStatus = (text: string, error?: boolean): void => this.store.set({ status: { text, error } });

  /** Compares the two files as they are on disk. */
  run = async (): Promise<void> => {
    if (this.store.get().running) return;
    this.store.set({ running: true, progress: null, status: { text: 'Comparing…' } });
    try {
      const result = await this.api.diffImages(this.a.handle, this.b.handle, COMPARE_REQUEST);
      if (result.cancelled || !result.diff) return this.setStatus('Comparison cancelled');
      const diff = result.diff;
      this.store.set({ diff, marks: { a: new DiffMarks(diff, 'a'), b: new DiffMarks(diff, 'b') }, elapsedMs: result.elapsedMs });
      this.setStatus(`${summarise(diff)} (${result.elapsedMs} ms)${result.editsNotCompared ? `; ${result.editsNotCompared} unsaved edits are not compared: the files on disk were` : ''}`);
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    } finally {
      this.store.set({ running: false, progress: null });
    }
  };

  cancel = (): void => void this.api.diffCancel(this.a.handle);

  /** A diff-progress event of side A's handle. */
  progress(done: number, total: number): void {
    if (this.store.get().running) this.store.set({ progress: { done, total } });
  }

  /** A node selected on one side: shown there, and the same node (by name) on the other. */
  select = async (side: Side, node: TreeNode): Promise<void> => {
    const here = this.view(side);
    const there = this.view(other(side));
    here.selectNode(node);
    const keys = keyPathOf(here.tree, node.id);
    const found = await findByKeys(there.tree, keys, isInStream(here.tree, node.id));
    if (!found) return there.setStatus(`${node.label} has no counterpart here`);
    const shown = await there.tree.revealPath(found.ids);
    if (shown) there.selectNode(shown);
    if (!found.exact) there.setStatus(`${node.label} is not in this image; its nearest enclosing node is selected`);
  };

  /** A row of the field table: the field on each side, at each side's own offset. */
  showField = (section: SectionDifference, field: FieldDifference): void => {
    this.store.set({ selectedRow: `${section.name}.${field.path}` });
    this.goTo(field.offsetA, field.offsetB);
  };

  /** A section of the diff (changed, or only on one side): shown on each side that has it. */
  showSection = (section: { a?: SectionRef; b?: SectionRef; name: string }): void => {
    this.store.set({ selectedRow: section.name });
    this.goTo(section.a?.offset, section.b?.offset);
  };

  /** A run of differing RAM pages: the record of its first page on each side, or the guest memory at its address where no record holds it. */
  showRun = (run: RamDifferenceRun): void => {
    for (const side of ['a', 'b'] as const) {
      const view = this.view(side);
      const at = side === 'a' ? run.offsetA : run.offsetB;
      if (at) {
        view.showPane('image');
        void view.goToOffset(at.stream, true, 'stream');
      } else if (run.gpa !== undefined) {
        view.showPane('memory');
        view.showGuest({ gpa: run.gpa });
      } else {
        view.showPane('memory');
        view.showGuest({ block: run.block, offset: run.blockOffset });
      }
    }
  };

  /**
   * Copies the field selected on side `from` into the other image: a field edit of the
   * target's journal ("set SECTION.PATH = VALUE"), with the source's value exactly
   * (integers by bit pattern, buffers byte for byte).
   */
  copyField = async (from: Side): Promise<void> => {
    const source = this.view(from);
    const target = this.view(other(from));
    const node = source.store.get().selected;
    if (!node) return this.setStatus('Select a field on the side to copy from', true);
    try {
      const address = await this.api.fieldAddress(source.handle, node.id);
      if (!address || node.hasChildren) return this.setStatus(`${node.label} is not a field with a value of its own: select one of its fields`, true);
      const value = await editableValue(this.api, source.handle, node);
      const done = await target.edit(() => this.api.editApply(target.handle, { op: 'set-field', field: address, value }), `copied ${address} = ${value} from ${source.store.get().image.name}`);
      this.afterCopy(done, target, `Copied ${address} into ${target.store.get().image.name}`);
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    }
  };

  /**
   * Copies the section selected on side `from` into the other image from the source file:
   * it replaces the target's section of the same name, or, when the target has none, is
   * grafted in last (`migwb edit --replace-section` / `--graft`).
   */
  copySection = async (from: Side): Promise<void> => {
    const source = this.view(from);
    const target = this.view(other(from));
    const { diff } = this.store.get();
    const selected = source.store.get().selected;
    const section = selected && source.tree.sectionOf(selected.id);
    if (!diff || !section) return this.setStatus('Compare, then select a section on the side to copy from', true);
    const changed = diff.sectionsChanged.find((s) => s[from].offset.stream === section.offset);
    const only = (from === 'a' ? diff.sectionsRemoved : diff.sectionsAdded).find((s) => s.offset.stream === section.offset);
    if (!changed && !only) return this.setStatus(`${section.label} is the same in both images: nothing to copy`);
    const donor = source.store.get().image.path;
    const name = (changed ?? only)!.name;
    const done = changed
      ? await target.edit(() => this.api.editFromDonor(target.handle, donor, { op: 'replace-section', section: name }), `replaced ${name} with ${source.store.get().image.name}'s`)
      : await target.edit(() => this.api.editFromDonor(target.handle, donor, { op: 'graft-section', section: name, position: null }), `grafted ${name} from ${source.store.get().image.name} at the end`);
    this.afterCopy(done, target, `Copied section ${name} into ${target.store.get().image.name}`);
  };

  private afterCopy(done: EditState | null, target: ImageView, what: string): void {
    const status = target.store.get().status;
    if (!done) return this.setStatus(status?.text ?? 'The copy was not made', true);
    this.setStatus(`${what} (edit ${done.edits.length} of its journal; Undo takes it back, Save as writes it). The diff shows the files on disk: compare again after saving.`);
  }

  private goTo(a: DiffOffset | undefined, b: DiffOffset | undefined): void {
    if (a) void this.a.goToOffset(a.stream, true, 'stream');
    if (b) void this.b.goToOffset(b.stream, true, 'stream');
  }
}

function other(side: Side): Side {
  return side === 'a' ? 'b' : 'a';
}

/** The value `set-field` takes for a node: an integer's bit pattern, a bool or float as shown, anything else as its bytes. */
async function editableValue(api: WorkbenchApi, handle: string, node: TreeNode): Promise<string> {
  const v = node.value;
  if (v?.kind === 'int') return v.hex;
  if (v?.kind === 'bool' || v?.kind === 'float') return String(v.value);
  const bytes = base64ToBytes(await api.readBytes(handle, node.offset, node.length, 'stream'));
  if (bytes.length !== node.length) throw new Error(`only ${bytes.length} of the field's ${node.length} bytes at ${hexOffset(node.offset)} could be read`);
  return [...bytes].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** "equal in content" or what differs, in one line. */
export function summarise(diff: ImageDiff): string {
  if (diff.equalInContent) return `Equal in content${diff.framing.length ? ` (${diff.framing.length} framing differences)` : ''}`;
  const fields = diff.sectionsChanged.reduce((n, s) => n + s.fields.length, 0);
  const pages = diff.ram?.blocks.reduce((n, b) => n + b.pagesDiffering, 0) ?? 0;
  const parts = [
    diff.header.length && `${diff.header.length} header`,
    diff.sectionsAdded.length && `${diff.sectionsAdded.length} sections added`,
    diff.sectionsRemoved.length && `${diff.sectionsRemoved.length} removed`,
    diff.sectionsChanged.length && `${diff.sectionsChanged.length} changed (${fields} fields)`,
    pages && `${pages} RAM pages`,
  ].filter(Boolean);
  return `Different: ${parts.join(', ') || 'framing only'}`;
}
