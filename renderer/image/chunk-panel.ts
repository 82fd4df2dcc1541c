import type { ChunkListView, ChunkRow, DonorEditRequest, DonorSections, EditState, SectionPosition, WorkbenchApi } from '../../shared/api/contract';
import { errorMessage, hexOffset } from '../api';
import type { ConfirmRequest } from '../components/ConfirmDialog';
import type { PathRequest } from '../components/FilePicker';
import { Store } from '../state/store';

/** The note being written in the note editor: about which chunk, and its text so far. */
export interface NoteDraft {
  about: string;
  title: string;
  text: string;
}

export interface ChunkPanelState {
  list: ChunkListView | null;
  /** Index of the selected row. */
  selected: number | null;
  note: NoteDraft | null;
  /** A donor picked for a graft or a replace, with its sections, until the dialog is answered. */
  donor: DonorSections | null;
}

/** What the chunk panel needs from its image view. */
export interface ChunkPanelHost {
  /** Runs an edit through the image view (busy state, new revision, journal, status line). */
  edit(request: () => Promise<EditState>, done: string): Promise<void>;
  choosePath(request: PathRequest): Promise<string | null>;
  confirm(request: ConfirmRequest): Promise<string | null>;
  status(text: string, error?: boolean): void;
  /** Shows a stream offset in the hex view and the tree. */
  reveal(streamOffset: number): void;
  /** Where dialogs start: the image's folder. */
  folder(): string;
}

/**
 * The chunk panel of one image: a chunked container's chunks, or a QEMU stream's elements
 * standing for chunks, and the section and chunk edits made on them. Every edit is a
 * request to the image's journal (the same EditSession as `migwb edit`), so Undo, Redo
 * and Save as cover them.
 */
export class ChunkPanel {
  readonly store = new Store<ChunkPanelState>({ list: null, selected: null, note: null, donor: null });

  constructor(
    private readonly api: WorkbenchApi,
    private readonly handle: string,
    private readonly host: ChunkPanelHost,
  ) {}

  private get state(): ChunkPanelState {
    return this.store.get();
  }

  /** Loads the rows of the image's current revision (the panel calls it when shown and after every edit). */
  load = async (): Promise<void> => {
    try {
      const list = await this.api.chunkList(this.handle);
      if (this.state.list && this.state.list.revision > list.revision) return;
      const { selected } = this.state;
      this.store.set({ list, selected: selected === null ? null : Math.min(selected, list.rows.length - 1) });
    } catch (e) {
      this.host.status(errorMessage(e), true);
    }
  };

  /** A new revision of the image: the list follows, if it was ever shown. */
  revisionChanged(): void {
    if (this.state.list) void this.load();
  }

  select = (index: number): void => {
    const row = this.rows[index];
    if (!row) return;
    this.store.set({ selected: index });
    if (row.stream) this.host.reveal(row.stream.offset);
  };

  /** Moves the section of row `from` to where row `to` is: before it when moving up, after it when moving down. */
  moveTo = (from: number, to: number): void => {
    const row = this.rows[from];
    if (!row?.section || from === to) return;
    const target = this.rows[to];
    let position: SectionPosition;
    if (target?.section) position = to < from ? { before: target.section } : { after: target.section };
    else if (to > from && !this.rows.slice(to).some((r) => r.section)) position = { end: true };
    else return this.host.status(`drop ${row.section} on a device section (${target?.key ?? 'that row'} is not one): sections move among sections`, true);
    void this.moveSection(row.section, position, to);
  };

  /** Moves the selected section one section up (-1) or down (+1), skipping rows that are not sections. */
  moveBy = (index: number, delta: -1 | 1): void => {
    const row = this.rows[index];
    if (!row?.section) return this.host.status(`${row?.key ?? 'this row'} is not a device section; only device sections can be moved`, true);
    let to = index + delta;
    while (to >= 0 && to < this.rows.length && !this.rows[to].section) to += delta;
    const target = this.rows[to];
    if (!target) return this.host.status(`${row.section} is already the ${delta < 0 ? 'first' : 'last'} device section`);
    void this.moveSection(row.section, delta < 0 ? { before: target.section! } : { after: target.section! }, to);
  };

  /** Deletes a device section (delete-section), or leaves an ancillary chunk out of the container (drop-chunk). */
  remove = (index: number): void => {
    const row = this.rows[index];
    if (!row) return;
    const what = deletable(row);
    if (what === 'section') void this.host.edit(() => this.api.editApply(this.handle, { op: 'delete-section', section: row.section! }), `deleted the section ${row.section}`);
    else if (what === 'chunk') void this.host.edit(() => this.api.editApply(this.handle, { op: 'drop-chunk', chunk: row.fileOffset! }), `dropped the ${row.type} chunk at ${hexOffset(row.fileOffset!)}`);
    else this.host.status(`${row.key} cannot be deleted: only device sections and a container's ancillary chunks can`, true);
  };

  /** Inserts a section from a file after the selected section (or last). */
  insertFromFile = async (): Promise<void> => {
    const file = await this.host.choosePath({ mode: 'file', title: 'Choose a file holding one QEMU section (header, payload, footer)', startIn: this.host.folder() });
    if (!file) return;
    const position = this.positionAfterSelected();
    await this.host.edit(() => this.api.editInsertSection(this.handle, file, position), `inserted the section of ${file} ${describePosition(position)}`);
  };

  /** Picks a donor image, then offers its sections (the dialog answers with graftOrReplace). */
  pickDonor = async (): Promise<void> => {
    const donor = await this.host.choosePath({ mode: 'file', title: 'Choose a donor image to take a section from', startIn: this.host.folder() });
    if (!donor) return;
    try {
      const sections = await this.api.donorSections(this.handle, donor);
      if (!sections.sections.length) return this.host.status(`${donor} has no device sections to take`, true);
      this.store.set({ donor: sections });
    } catch (e) {
      this.host.status(errorMessage(e), true);
    }
  };

  /** The donor dialog's answer: graft the section after the selected one (or last), or replace the image's section of that name. */
  fromDonor = async (op: DonorEditRequest['op'] | null, section: string): Promise<void> => {
    const donor = this.state.donor;
    this.store.set({ donor: null });
    if (!donor || !op) return;
    const request: DonorEditRequest = op === 'graft-section' ? { op, section, position: this.positionAfterSelected() } : { op, section };
    const done = op === 'graft-section' ? `grafted ${section} from ${donor.path} ${describePosition(request.op === 'graft-section' ? request.position! : { end: true })}` : `replaced ${section} with the donor's (${donor.path})`;
    await this.host.edit(() => this.api.editFromDonor(this.handle, donor.path, request), done);
  };

  /** Writes the chunk with a CRC computed anew, once the user has read that this hides its damage. */
  recomputeCrc = async (index: number): Promise<void> => {
    const row = this.rows[index];
    if (!row || row.crc !== 'bad' || row.fileOffset === undefined) return;
    const choice = await this.host.confirm({
      title: 'Recompute the CRC',
      message: `The ${row.type} chunk at ${hexOffset(row.fileOffset)} (${row.key}) has a wrong CRC: stored ${hexOffset(row.storedCrc!)}, computed ${hexOffset(row.computedCrc!)}. Its data was changed after it was written.`,
      detail:
        'A new CRC makes the saved file say the damaged data is intact: no reader will detect the damage any more. Do it only once the data has been repaired or checked by hand. It is an edit in the journal (Undo takes it back); the evidence report records it.',
      buttons: [
        { label: 'Cancel', value: 'cancel', primary: true },
        { label: 'Recompute, hiding the damage', value: 'recompute', danger: true },
      ],
    });
    if (choice !== 'recompute') return;
    await this.host.edit(() => this.api.editApply(this.handle, { op: 'recompute-crc', chunk: row.fileOffset! }), `recomputed the CRC of the ${row.type} chunk at ${hexOffset(row.fileOffset)}`);
  };

  /** Opens the note editor on a chunk's note (a new one if it has none). */
  editNote = (index: number): void => {
    const row = this.rows[index];
    if (row) this.store.set({ note: { about: row.key, title: `Note on ${row.key}`, text: row.note ?? '' } });
  };

  /** The note editor's answer: the new text (empty removes the note), or null to leave it. */
  saveNote = async (text: string | null): Promise<void> => {
    const draft = this.state.note;
    this.store.set({ note: null });
    if (!draft || text === null || text === draft.text) return;
    await this.host.edit(() => this.api.editApply(this.handle, { op: 'set-note', about: draft.about, text }), text === '' ? `removed the note on ${draft.about}` : `note on ${draft.about} set`);
  };

  private get rows(): ChunkRow[] {
    return this.state.list?.rows ?? [];
  }

  private async moveSection(section: string, position: SectionPosition, to: number): Promise<void> {
    await this.host.edit(() => this.api.editApply(this.handle, { op: 'move-section', section, position }), `moved ${section} ${describePosition(position)}`);
    // The moved section keeps the selection, at its new place.
    await this.load();
    const at = this.rows.findIndex((r) => r.section === section);
    this.store.set({ selected: at >= 0 ? at : to });
  }

  private positionAfterSelected(): SectionPosition {
    const { selected } = this.state;
    const section = selected === null ? undefined : this.rows[selected]?.section;
    return section ? { after: section } : { end: true };
  }
}

/** What Delete does to a row: delete its device section, drop its ancillary chunk, or nothing. */
export function deletable(row: ChunkRow): 'section' | 'chunk' | null {
  if (row.section) return 'section';
  if (row.fileOffset !== undefined && !row.properties.critical) return 'chunk';
  return null;
}

function describePosition(p: SectionPosition): string {
  return 'before' in p ? `before ${p.before}` : 'after' in p ? `after ${p.after}` : 'to the end (before QEMU_VM_EOF)';
}
