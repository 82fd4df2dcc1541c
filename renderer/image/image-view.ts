import type { ByteSpace, EditState, EditSummary, ImageOpened, SaveRequest, SearchQuery, SectionJson, TreeNode, WorkbenchApi } from '../../shared/api/contract';
import { OffsetMap } from '../../shared/api/offset-map';
import { errorMessage, hexOffset, parseOffset } from '../api';
import { ByteCache } from '../byte-cache';
import type { Command } from '../commands';
import type { CodeLanguage } from '../components/CodeViewer';
import type { DiagnosticAction, PlacedDiagnostic } from '../components/DiagnosticsList';
import type { PickMode } from '../components/FilePicker';
import type { Range } from '../components/HexView';
import { Store } from '../state/store';
import { NavigationHistory } from './history';
import { TreeModel } from './tree-model';

/** The tabs below the hex view. */
export type BottomTab = 'diagnostics' | 'code' | 'edits';

/** What the code tab shows: a section's decoded fields as JSON, or the domain XML. */
export interface Code {
  title: string;
  text: string;
  language: CodeLanguage;
}

/** The toolbar fields a command (Ctrl+G, Ctrl+F) puts the keyboard in; `seq` tells requests apart. */
export interface FocusRequest {
  field: 'go-to' | 'find';
  seq: number;
}

/** Everything the panels of one open image show. Panels read slices with useViewState. */
export interface ImageViewState {
  /** The image at its current revision (edits, undo, redo, repair and a borrowed vmdesc make new ones). */
  image: ImageOpened;
  /** The bytes of each space at this revision (the same cache twice for a bare stream). */
  bytes: Record<ByteSpace, ByteCache>;
  diagnostics: PlacedDiagnostic[];
  /** The byte space the hex view shows, and so the space of the cursor. */
  space: ByteSpace;
  cursor: number;
  /** Scroll requests: the hex view brings `offset` into sight for each new request. */
  reveal: { offset: number; seq: number } | null;
  /** The last search match. */
  hit: Range | null;
  selected: TreeNode | null;
  /** The selected field's address for edits ("cpu:0.env.eip"), when it is a decoded field. */
  fieldAddress: string | null;
  /** Categories of the stream in equal buckets, for the hex view's minimap. */
  minimap: number[] | null;
  bottom: BottomTab;
  code: Code | null;
  journal: { edits: EditSummary[]; redoable: EditSummary[] };
  /** An edit, repair or save is running: no other may start. */
  busy: boolean;
  focus: FocusRequest | null;
}

/** What an image view needs from the app around it. */
export interface ImageViewHost {
  status(text: string, error?: boolean): void;
  choosePath(mode: PickMode, suggestedName?: string): Promise<string | null>;
}

const MINIMAP_BUCKETS = 2048;

/** The note of a stream without a vmdesc: shown first, since its action (borrowing a sibling's) is what makes its fields readable. */
const NO_VMDESC = 'no-vmdesc';

/**
 * One open image: its state (a Store the panels subscribe to) and what the user can do in
 * it. Selecting a node highlights its bytes; moving the cursor reveals the innermost node
 * that contains it; edits make new revisions, which every panel follows.
 *
 * A wrapped image (libvirt save, qcow2 snapshot) has two byte spaces: the QEMU stream,
 * where sections live, and the file, where the wrapper's header, XML and snapshot table
 * live. The hex view shows one at a time and follows the selected node's space.
 *
 * Actions are arrow properties: stable references, so panels pass them to memoised
 * components as they are.
 */
export class ImageView {
  readonly store: Store<ImageViewState>;
  readonly tree: TreeModel;
  readonly handle: string;
  /** Buttons on diagnostics, by code. */
  readonly diagnosticActions: Readonly<Record<string, DiagnosticAction>>;
  private readonly history = new NavigationHistory();
  private revealTimer: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;

  constructor(
    image: ImageOpened,
    private readonly api: WorkbenchApi,
    private readonly host: ImageViewHost,
  ) {
    this.handle = image.handle;
    this.tree = new TreeModel(api, image.handle);
    const diagnostics = placedDiagnostics(image);
    this.store = new Store<ImageViewState>({
      image,
      bytes: bytesOf(image),
      diagnostics,
      space: 'stream',
      cursor: 0,
      reveal: null,
      hit: null,
      selected: null,
      fieldAddress: null,
      minimap: null,
      bottom: diagnostics.some((d) => d.severity !== 'info' || d.code === NO_VMDESC) ? 'diagnostics' : 'code',
      code: null,
      journal: { edits: [], redoable: [] },
      busy: false,
      focus: null,
    });
    this.diagnosticActions = { [NO_VMDESC]: { label: 'Decode with a sibling image’s vmdesc…', run: () => void this.borrowVmdesc() } };
    void this.tree.openInitially();
    this.loadMinimap();
  }

  private get state(): ImageViewState {
    return this.store.get();
  }

  /** The commands (menus, shortcuts) that act on the image on screen. */
  run = (command: Command): void => {
    if (command.type === 'go-to' || command.type === 'find') this.store.set({ focus: { field: command.type, seq: ++this.seq } });
    else if (command.type === 'back') this.step(-1);
    else if (command.type === 'forward') this.step(1);
    else if (command.type === 'undo') this.undo();
    else if (command.type === 'redo') this.redo();
  };

  selectNode = (node: TreeNode): void => {
    this.showNode(node, true);
    this.history.remember({ offset: node.offset, space: node.space ?? 'stream', nodeId: node.id });
  };

  toggleNode = (id: string, open: boolean): void => void this.tree.setOpen(id, open);

  /** Moves the cursor to an offset of a byte space and reveals the innermost node containing it. */
  goToOffset = async (offset: number, record: boolean, to: ByteSpace): Promise<void> => {
    const at = Math.max(0, Math.min(this.sizeOf(to) - 1, offset));
    this.store.set({ space: to, cursor: at, reveal: this.revealRequest(at) });
    try {
      const path = await this.api.nodePathAt(this.handle, at, to);
      const node = await this.tree.revealPath(path);
      if (node) this.showNode(node, false);
      if (record) this.history.remember({ offset: at, space: to, nodeId: node?.id ?? null });
    } catch (e) {
      this.host.status(errorMessage(e));
    }
  };

  /** Go to an offset the user typed ("0x1f00", "1f00h", "7936") in the bytes shown. */
  goTo = (text: string): void => {
    const offset = parseOffset(text);
    if (offset === null) return this.host.status(`"${text}" is not an offset; use 0x1f00, 1f00h or 7936`);
    void this.goToOffset(offset, true, this.state.space);
  };

  back = (): void => this.step(-1);
  forward = (): void => this.step(1);

  /** The cursor moved in the hex view: a click reveals the node at once; keyboard moves reveal it once the keys rest. */
  moveCursor = (offset: number, byClick: boolean): void => {
    clearTimeout(this.revealTimer);
    const { space } = this.state;
    if (byClick) return void this.goToOffset(offset, true, space);
    this.store.set({ cursor: offset });
    this.revealTimer = setTimeout(() => void this.goToOffset(offset, true, space), 150);
  };

  /** The next (or previous) match after (before) the cursor, in the bytes shown. */
  search = async (query: Pick<SearchQuery, 'kind' | 'pattern'>, backwards = false): Promise<void> => {
    const { cursor, space } = this.state;
    try {
      const found = await this.api.search(this.handle, { ...query, from: backwards ? cursor : cursor + 1, backwards, space });
      if (!found) return this.host.status(`"${query.pattern}" not found ${backwards ? 'before' : 'after'} ${hexOffset(cursor)}`);
      this.store.set({ hit: found });
      this.host.status(`found at ${hexOffset(found.offset)}`);
      await this.goToOffset(found.offset, true, space);
    } catch (e) {
      this.host.status(errorMessage(e));
    }
  };

  /** Shows the other byte space of a wrapped image, at the same byte where there is one. */
  showSpace = (to: ByteSpace): void => {
    const { space, cursor, image } = this.state;
    if (to === space) return;
    this.store.set({ hit: null });
    // The same byte in the other space, where the file holds the stream as is.
    void this.goToOffset(OffsetMap.ofImage(image).translate(cursor, space) ?? 0, true, to);
  };

  jumpToDiagnostic = (d: PlacedDiagnostic): void => void this.goToOffset(d.offset, true, d.space);

  showTab = (bottom: BottomTab): void => this.store.set({ bottom });

  undo = (): void => void this.runEdit(() => this.api.editUndo(this.handle), 'undone');
  redo = (): void => void this.runEdit(() => this.api.editRedo(this.handle), 'redone');

  setField = (field: string, value: string): void =>
    void this.runEdit(() => this.api.editApply(this.handle, { op: 'set-field', field, value }), `set ${field} = ${value}`);

  overwrite = (offset: number, hex: string): void =>
    void this.runEdit(() => this.api.editApply(this.handle, { op: 'replace-bytes', offset, hex }), `bytes at ${hexOffset(offset)} overwritten`);

  repair = async (withDonor: boolean): Promise<void> => {
    const donor = withDonor ? await this.host.choosePath('file') : null;
    if (withDonor && !donor) return;
    this.showTab('edits');
    await this.runEdit(
      () => this.api.editRepair(this.handle, donor),
      (r) => (r.repairs.length ? `${r.repairs.length} repair${r.repairs.length === 1 ? '' : 's'} made: ${r.repairs.map((x) => x.summary).join('; ')}` : 'nothing to repair') + (r.stopped ? ` (${r.stopped})` : ''),
    );
  };

  /** Saves the edited image as a new file, re-validated before it replaces anything. */
  save = async (request: SaveRequest): Promise<void> => {
    const out = await this.host.choosePath('save', suggestedOutputName(this.state.image.name, request.streamOnly));
    if (!out) return;
    await this.whileBusy(`Saving ${out}…`, async () => {
      const saved = await this.api.editSave(this.handle, out, request);
      const errors = saved.diagnostics.filter((d) => d.severity === 'error').length;
      this.host.status(
        `Saved ${saved.path} (${saved.size.toLocaleString()} bytes, sha256 ${saved.sha256.slice(0, 16)}…)${errors ? `, with ${errors} errors` : ', checked: no errors'}${saved.notes.length ? `; ${saved.notes.join('; ')}` : ''}`,
      );
    });
  };

  saveJournal = async (): Promise<void> => {
    const { image } = this.state;
    const out = await this.host.choosePath('save', `${image.name}.journal.json`);
    if (!out) return;
    try {
      await this.api.editSaveJournal(this.handle, out);
      this.host.status(`Journal saved to ${out}; re-apply it with: migwb apply ${image.path} ${out} -o OUTPUT`);
    } catch (e) {
      this.host.status(errorMessage(e), true);
    }
  };

  /** Decodes a stream without a vmdesc with the vmdesc of a sibling image the user picks. */
  borrowVmdesc = async (): Promise<void> => {
    const sibling = await this.host.choosePath('file');
    if (!sibling) return;
    await this.whileBusy(null, async () => {
      const shown = await this.api.borrowVmdesc(this.handle, sibling);
      this.imageChanged(shown);
      const b = shown.borrowedVmdesc!;
      this.host.status(
        `Fields decoded with the vmdesc of ${b.from}: ${b.described} of ${b.described + b.undescribed} device sections${b.undescribed ? ` (${b.undescribed} it does not fit are raw; see Diagnostics)` : ''}`,
      );
    });
  };

  private step(delta: number): void {
    const place = this.history.step(delta);
    if (place) void this.goToOffset(place.offset, false, place.space);
  }

  private showNode(node: TreeNode, moveCursor: boolean): void {
    this.store.set({ selected: node, fieldAddress: null, ...(moveCursor && { space: node.space ?? 'stream', cursor: node.offset, reveal: this.revealRequest(node.offset) }) });
    // Replies for a node that is no longer selected are dropped.
    const stillSelected = () => this.state.selected === node;
    if (node.kind === 'field' || node.kind === 'struct' || node.kind === 'array' || node.kind === 'subsection') {
      void this.api.fieldAddress(this.handle, node.id).then(
        (fieldAddress) => stillSelected() && this.store.set({ fieldAddress }),
        () => stillSelected() && this.store.set({ fieldAddress: null }),
      );
    }
    const section = this.tree.sectionOf(node.id);
    if (section) {
      void this.api.sectionJson(this.handle, section.id).then(
        (json) => stillSelected() && this.store.set({ code: json && sectionCode(json) }),
        () => stillSelected() && this.store.set({ code: null }),
      );
    } else if (node.kind === 'container-part' && node.value?.kind === 'text') {
      this.store.set({ code: { title: node.label, text: node.value.value, language: 'xml' } });
    }
  }

  /**
   * Runs an edit, undo, redo or repair in the backend and shows its result: the new revision
   * of the image (tree, bytes, diagnostics), the journal, and the node at the cursor again.
   */
  private async runEdit<T extends EditState>(request: () => Promise<T>, done: string | ((r: T) => string)): Promise<void> {
    if (this.state.busy) return;
    await this.whileBusy(null, async () => {
      const state = await request();
      this.imageChanged(state.image);
      this.store.set({ journal: { edits: state.edits, redoable: state.redoable } });
      const errors = state.image.diagnostics.filter((d) => d.severity === 'error').length;
      this.host.status(`${typeof done === 'string' ? done : done(state)}; ${errors ? `${errors} error${errors === 1 ? '' : 's'} left` : 'no errors'} (not saved yet)`, errors > 0);
    });
  }

  /** Runs `work` with the view busy; its failure is the status line's error. */
  private async whileBusy(status: string | null, work: () => Promise<void>): Promise<void> {
    this.store.set({ busy: true });
    if (status) this.host.status(status);
    try {
      await work();
    } catch (e) {
      this.host.status(errorMessage(e), true);
    } finally {
      this.store.set({ busy: false });
    }
  }

  /** A new revision of the image: its bytes, diagnostics, minimap and tree follow, and the node at the cursor is looked up again. */
  private imageChanged(image: ImageOpened): void {
    const newRevision = image.revision !== this.state.image.revision;
    this.store.set({ image, diagnostics: placedDiagnostics(image), ...(newRevision && { bytes: bytesOf(image) }) });
    if (!newRevision) return;
    void this.tree.reload();
    this.loadMinimap();
    const { cursor, space } = this.state;
    void this.goToOffset(Math.min(cursor, this.sizeOf(space) - 1), false, space);
  }

  private loadMinimap(): void {
    const { revision } = this.state.image;
    void this.api.minimap(this.handle, MINIMAP_BUCKETS).then((minimap) => this.state.image.revision === revision && this.store.set({ minimap }));
  }

  private sizeOf(space: ByteSpace): number {
    const { image } = this.state;
    return space === 'file' ? image.fileSize : image.streamSize;
  }

  private revealRequest(offset: number): { offset: number; seq: number } {
    return { offset, seq: ++this.seq };
  }
}

/** The wrapper's diagnostics are at file offsets, the stream's at stream offsets. */
function placedDiagnostics(image: ImageOpened): PlacedDiagnostic[] {
  return [...image.containerDiagnostics.map((d) => ({ ...d, space: 'file' as const })), ...image.diagnostics.map((d) => ({ ...d, space: 'stream' as const }))];
}

/** A new revision has new bytes: new caches. A bare stream is its file. */
function bytesOf(image: ImageOpened): Record<ByteSpace, ByteCache> {
  const stream = new ByteCache(image.handle, image.streamSize, 'stream');
  return { stream, file: image.layers.length > 0 ? new ByteCache(image.handle, image.fileSize, 'file') : stream };
}

function sectionCode(j: SectionJson): Code {
  return { title: j.title, text: `${j.fields}${j.vmdesc ? `\n\n// vmdesc entry\n${j.vmdesc}` : ''}`, language: 'json' };
}

/** "vm.sav" -> "vm.edited.sav" (or "vm.edited.mig" for the stream alone). */
function suggestedOutputName(name: string, streamOnly: boolean): string {
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? name.slice(0, dot) : name;
  return `${base}.edited${streamOnly ? '.mig' : dot > 0 ? name.slice(dot) : ''}`;
}
