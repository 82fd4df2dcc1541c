import type { AutosavedJournal, ByteSpace, EditState, EditSummary, ImageOpened, SaveRequest, SearchQuery, SectionJson, TransformApplied, TransformRequestView, TreeNode, WorkbenchApi } from '../../shared/api/contract';
import { OffsetMap } from '../../shared/api/offset-map';
import { errorMessage, hexOffset, parseOffset } from '../api';
import { ByteCache } from '../byte-cache';
import type { Command } from '../commands';
import type { CodeLanguage } from '../components/CodeViewer';
import type { DiagnosticAction, PlacedDiagnostic } from '../components/DiagnosticsList';
import type { ConfirmRequest } from '../components/ConfirmDialog';
import type { PathRequest } from '../components/FilePicker';
import type { Range } from '../components/HexView';
import { Store } from '../state/store';
import { ChunkPanel } from './chunk-panel';
import { DisplayScreen } from './display-screen';
import { GuestMemory } from './guest-memory';
import { NavigationHistory } from './history';
import { QemuLaunchFlow } from './qemu-launch-flow';
import { notApplied, TransformFlow } from './transform-flow';
import { TreeModel } from './tree-model';

/** What the UI says wherever an edit is off because the image is open for evidence. */
export const READ_ONLY_EVIDENCE = 'the image is open for evidence (read-only): no edit, repair, transform or save is made';

/** The commands that would change the image, by the name the status line gives them. */
const EDIT_COMMANDS: Partial<Record<Command['type'], string>> = { undo: 'Undo', redo: 'Redo', transform: 'Transform' };

/** The tabs below the hex view. */
export type BottomTab = 'diagnostics' | 'code' | 'edits' | 'memory-search' | 'memory-map' | 'display';

/** What the middle pane shows: the image's bytes (stream or file), or guest memory as the guest sees it. */
export type Pane = 'image' | 'memory';

/** A line for the status bar: each image keeps its own. */
export interface StatusMessage {
  text: string;
  error?: boolean;
}

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
  pane: Pane;
  /** The last message about this image. */
  status: StatusMessage | null;
  /** The byte search running in the hex view, and how far it is. */
  find: { running: boolean; done: number; total: number } | null;
  /** The revision last written to a file: edits after it are unsaved. */
  savedRevision: number;
  /** Unsaved edits an earlier session left, offered until restored or discarded. */
  restoreOffer: AutosavedJournal | null;
  /** How Save as writes: allowing errors, the stream alone. */
  saveOptions: SaveRequest;
}

/** What an image view needs from the app around it. */
export interface ImageViewHost {
  choosePath(request: PathRequest): Promise<string | null>;
  /** Asks the user; resolves with the value of the button chosen (or null when dismissed). */
  confirm(request: ConfirmRequest): Promise<string | null>;
  /** Opens this image and another the user chooses side by side. */
  compareWith(handle: string): Promise<void>;
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
  /** The guest's memory: its map, the memory view and memory searches. */
  readonly memory: GuestMemory;
  /** The Display tab: the guest's screen and the display device's state. */
  readonly display: DisplayScreen;
  /** The chunk panel: chunks (or sections standing for them) and the edits made on them. */
  readonly chunks: ChunkPanel;
  /** The Transform dialog: the plan for another QEMU, applied as one edit. */
  readonly transform: TransformFlow;
  /** The "Load in QEMU…" panel: the command line, the libvirt XML and the predicted verdict. */
  readonly launch: QemuLaunchFlow;
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
      pane: 'image',
      status: null,
      find: null,
      savedRevision: image.revision,
      restoreOffer: image.autosaved,
      saveOptions: { force: false, streamOnly: false },
    });
    this.display = new DisplayScreen(api, image.handle);
    this.memory = new GuestMemory(api, image.handle, {
      status: (text, error) => this.setStatus(text, error),
      showRecord: (offset) => {
        this.store.set({ pane: 'image' });
        void this.goToOffset(offset, true, 'stream');
      },
      showMemory: () => this.showPane('memory'),
    });
    this.chunks = new ChunkPanel(api, image.handle, {
      edit: async (request, done) => void (await this.runEdit(request, done)),
      choosePath: (request) => this.host.choosePath(request),
      confirm: (request) => this.host.confirm(request),
      status: (text, error) => this.setStatus(text, error),
      reveal: (offset) => void this.goToOffset(offset, true, 'stream'),
      folder: () => this.folder(),
    });
    this.transform = new TransformFlow(api, image.handle, {
      choosePath: (request) => host.choosePath(request),
      folder: () => this.folder(),
      apply: (request) => this.applyTransform(request),
      save: () => this.save(this.state.saveOptions),
    });
    this.launch = new QemuLaunchFlow(api, image.handle);
    void this.tree.openInitially();
    this.loadMinimap();
  }

  private get state(): ImageViewState {
    return this.store.get();
  }

  /** Edits made and not yet written to a file: closing would lose them (but for the autosaved journal). */
  get dirty(): boolean {
    const { image, savedRevision } = this.state;
    return image.edits > 0 && image.revision !== savedRevision;
  }

  setStatus = (text: string, error?: boolean): void => this.store.set({ status: { text, error } });

  showPane = (pane: Pane): void => {
    this.store.set({ pane });
    if (pane === 'memory') void this.memory.loadMap();
  };

  /** Why no edit can be made, when none can: the image is open for evidence. Every edit path (buttons, shortcuts, menus, the compare view) checks it before asking the backend. */
  get readOnlyReason(): string | undefined {
    return this.state.image.evidence ? READ_ONLY_EVIDENCE : undefined;
  }

  /** Buttons on a diagnostic: its repair, when it has one; a sibling's vmdesc for a stream without one. Off, with the reason, for an image open for evidence. */
  diagnosticActions = (d: PlacedDiagnostic): DiagnosticAction[] => {
    const actions: DiagnosticAction[] = [];
    const offer = d.space === 'stream' ? this.state.image.repairs.find((r) => r.answers.some((a) => a.code === d.code && a.offset === d.offset)) : undefined;
    const off = this.readOnlyReason;
    if (offer) actions.push({ label: 'Repair…', title: off ?? offer.summary, disabled: !!off, run: () => void this.repairDiagnostic(d) });
    if (d.code === NO_VMDESC) actions.push({ label: 'Decode with a sibling image’s vmdesc…', ...(off ? { title: off, disabled: true } : {}), run: () => void this.borrowVmdesc() });
    return actions;
  };

  compareWith = (): Promise<void> => this.host.compareWith(this.handle);

  /** The commands (menus, shortcuts) that act on the image on screen. */
  run = (command: Command): void => {
    if (command.type === 'go-to' || command.type === 'find') this.store.set({ focus: { field: command.type, seq: ++this.seq } });
    else if (command.type === 'back') this.step(-1);
    else if (command.type === 'forward') this.step(1);
    else if (EDIT_COMMANDS[command.type] && this.readOnlyReason) this.setStatus(`${EDIT_COMMANDS[command.type]} is off: ${this.readOnlyReason}`);
    else if (command.type === 'undo') this.undo();
    else if (command.type === 'redo') this.redo();
    else if (command.type === 'transform') void this.transform.show();
    else if (command.type === 'load-in-qemu') void this.launch.show();
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
      this.setStatus(errorMessage(e), true);
    }
  };

  /** Go to an offset the user typed ("0x1f00", "1f00h", "7936") in the bytes shown; past the end, says so. */
  goTo = (text: string): void => {
    const offset = parseOffset(text);
    if (offset === null) return this.setStatus(`"${text}" is not an offset; use 0x1f00, 1f00h or 7936`, true);
    const { space } = this.state;
    const size = this.sizeOf(space);
    if (offset >= size) return this.setStatus(`${hexOffset(offset)} is past the end of the ${space === 'file' ? 'file' : 'stream'}, whose last byte is ${hexOffset(size - 1)} (${size.toLocaleString()} bytes)`, true);
    void this.goToOffset(offset, true, space);
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

  /**
   * The next (or previous) match after (before) the cursor, in the bytes shown. The last
   * match goes at once; a long search shows its progress and can be cancelled.
   */
  search = async (query: Pick<SearchQuery, 'kind' | 'pattern'>, backwards = false): Promise<void> => {
    const { cursor, space } = this.state;
    const what = `"${query.pattern}"`;
    this.store.set({ hit: null, find: { running: true, done: 0, total: 0 }, status: { text: `Searching for ${what}…` } });
    try {
      const found = await this.api.search(this.handle, { ...query, from: backwards ? cursor : cursor + 1, backwards, space });
      if (!this.state.find) return this.setStatus('Search cancelled');
      if (!found) {
        const memory = space === 'stream' ? '; this searched the stream’s bytes: text inside compressed or XBZRLE pages is found by Memory search' : '';
        return this.setStatus(`${what} not found ${backwards ? 'before' : 'after'} ${hexOffset(cursor)}${memory}`);
      }
      this.store.set({ hit: found });
      this.setStatus(`${what} found at ${hexOffset(found.offset)}`);
      await this.goToOffset(found.offset, true, space);
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    } finally {
      this.store.set({ find: null });
    }
  };

  cancelSearch = (): void => {
    this.store.set({ find: null });
    void this.api.searchCancel(this.handle);
  };

  /** A progress event of this image's byte search. */
  searchProgress(done: number, total: number): void {
    if (this.state.find) this.store.set({ find: { running: true, done, total } });
  }

  /** Shows the other byte space of a wrapped image, at the same byte where there is one. */
  showSpace = (to: ByteSpace): void => {
    const { space, cursor, image } = this.state;
    if (to === space) return;
    this.store.set({ hit: null });
    // The same byte in the other space, where the file holds the stream as is.
    void this.goToOffset(OffsetMap.ofImage(image).translate(cursor, space) ?? 0, true, to);
  };

  /** Shows a guest address (or a block offset) in the memory view. */
  showGuest = (where: { gpa: number } | { block: string; offset: number }): void =>
    void ('gpa' in where ? this.memory.goTo(where.gpa, { block: null }) : this.memory.goTo(where.offset, { block: where.block }));

  jumpToDiagnostic = (d: PlacedDiagnostic): void => void this.goToOffset(d.offset, true, d.space);

  showTab = (bottom: BottomTab): void => this.store.set({ bottom });

  setSaveOptions = (patch: Partial<SaveRequest>): void => this.store.set((s) => ({ saveOptions: { ...s.saveOptions, ...patch } }));

  /** An edit made from outside the image's own panels (the compare view copying across); resolves with the new state, or null when it failed or another edit was running. */
  edit = <T extends EditState>(request: () => Promise<T>, done: string | ((r: T) => string)): Promise<T | null> => this.runEdit(request, done);

  undo = (): void => void this.runEdit(() => this.api.editUndo(this.handle), 'undone');
  redo = (): void => void this.runEdit(() => this.api.editRedo(this.handle), 'redone');

  setField = (field: string, value: string): void =>
    void this.runEdit(() => this.api.editApply(this.handle, { op: 'set-field', field, value }), `set ${field} = ${value}`);

  overwrite = (offset: number, hex: string): void =>
    void this.runEdit(() => this.api.editApply(this.handle, { op: 'replace-bytes', offset, hex }), `bytes at ${hexOffset(offset)} overwritten`);

  repair = async (withDonor: boolean): Promise<void> => {
    const donor = withDonor ? await this.host.choosePath({ mode: 'file', title: 'Choose a donor: an intact save of the same VM', startIn: this.folder() }) : null;
    if (withDonor && !donor) return;
    this.showTab('edits');
    await this.runEdit(
      () => this.api.editRepair(this.handle, donor),
      (r) =>
        (r.repairs.length ? `${r.repairs.length} repair${r.repairs.length === 1 ? '' : 's'} made: ${r.repairs.map((x) => x.summary).join('; ')}` : 'nothing to repair') +
        (r.stopped ? ` (${r.stopped})` : '') +
        (r.lost.length ? `. Not recovered: ${r.lost.join('; ')}. ${r.consequence}${donor ? '' : ' (Undo, then Repair with donor…)'}` : ''),
    );
  };

  /** A transform for another QEMU as one edit of the journal (one Undo takes it back); Save as writes it. */
  private applyTransform(request: TransformRequestView): Promise<TransformApplied | null> {
    return this.runEdit(
      () => this.api.transformApply(this.handle, request),
      (r) => (r.applied ? (r.edits[r.edits.length - 1]?.summary ?? 'transformed') : notApplied(r.plan)),
    );
  }

  /** Makes the repair offered on one diagnostic, once the user has seen what it changes. */
  repairDiagnostic = async (d: PlacedDiagnostic): Promise<void> => {
    const offer = this.state.image.repairs.find((r) => r.answers.some((a) => a.code === d.code && a.offset === d.offset));
    if (!offer) return;
    const choice = await this.host.confirm({
      title: 'Repair',
      message: `${d.message} (${hexOffset(d.offset)})`,
      detail: `The repair: ${offer.summary}. It is an edit in the journal: undo it with Undo; the file is written only by Save as.`,
      buttons: [{ label: 'Cancel', value: 'cancel' }, { label: 'Repair', value: 'repair', primary: true }],
    });
    if (choice !== 'repair') return;
    await this.runEdit(() => this.api.editRepairDiagnostic(this.handle, d.code, d.offset), (r) => `repaired: ${r.repairs.map((x) => x.summary).join('; ')}`);
  };

  /**
   * Saves the edited image as a new file, re-validated before it replaces anything. The
   * dialog starts in the image's folder. Resolves true once saved.
   */
  save = async (request: SaveRequest): Promise<boolean> => {
    const out = await this.host.choosePath({ mode: 'save', title: request.streamOnly ? 'Save the edited stream as' : 'Save the edited image as', suggestedName: suggestedOutputName(this.state.image.name, request.streamOnly), startIn: this.folder() });
    if (!out) return false;
    let saved = false;
    await this.whileBusy(`Saving ${out}…`, async () => {
      const result = await this.api.editSave(this.handle, out, request);
      const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
      this.store.set((s) => ({ savedRevision: s.image.revision }));
      saved = true;
      this.setStatus(
        `Saved ${result.path} (${result.size.toLocaleString()} bytes, sha256 ${result.sha256.slice(0, 16)}…)${errors ? `, with ${errors} errors` : ', checked: no errors'}${result.notes.length ? `; ${result.notes.join('; ')}` : ''}`,
      );
    });
    return saved;
  };

  saveJournal = async (): Promise<void> => {
    const { image } = this.state;
    const out = await this.host.choosePath({ mode: 'save', title: 'Save the edit journal as', suggestedName: `${image.name}.journal.json`, startIn: this.folder() });
    if (!out) return;
    try {
      await this.api.editSaveJournal(this.handle, out);
      this.setStatus(`Journal saved to ${out}; re-apply it with: migwb apply ${image.path} ${out} -o OUTPUT`);
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    }
  };

  /** Re-applies the unsaved edits an earlier session left for this image. */
  restoreAutosave = async (): Promise<void> => {
    const offer = this.state.restoreOffer;
    if (!offer) return;
    await this.runEdit(
      () => this.api.restoreAutosave(this.handle),
      (r) => `restored ${r.edits.length} unsaved edit${r.edits.length === 1 ? '' : 's'} from ${offer.savedAt.replace('T', ' ').slice(0, 19)}`,
    );
    if (this.state.image.edits > 0) this.store.set({ restoreOffer: null });
  };

  /** Forgets the unsaved edits an earlier session left. */
  discardAutosave = async (): Promise<void> => {
    try {
      await this.api.discardAutosave(this.handle);
      this.store.set({ restoreOffer: null });
      this.setStatus('The unsaved edits of the earlier session were discarded');
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    }
  };

  /** Decodes a stream without a vmdesc with the vmdesc of a sibling image the user picks. */
  borrowVmdesc = async (): Promise<void> => {
    const sibling = await this.host.choosePath({ mode: 'file', title: 'Choose a sibling image (or vmdesc JSON) whose vmdesc decodes this one', startIn: this.folder() });
    if (!sibling) return;
    await this.whileBusy(null, async () => {
      const shown = await this.api.borrowVmdesc(this.handle, sibling);
      this.imageChanged(shown);
      const b = shown.borrowedVmdesc!;
      this.setStatus(
        `Fields decoded with the vmdesc of ${b.from}: ${b.described} of ${b.described + b.undescribed} device sections${b.undescribed ? ` (${b.undescribed} it does not fit are raw; see Diagnostics)` : ''}`,
      );
    });
  };

  /** The folder the image is in: where its dialogs start. */
  private folder(): string {
    const { path } = this.state.image;
    const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    return cut > 0 ? path.slice(0, cut) : path;
  }

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
  private async runEdit<T extends EditState>(request: () => Promise<T>, done: string | ((r: T) => string)): Promise<T | null> {
    if (this.state.busy) return null;
    if (this.readOnlyReason) {
      // Not sent: the backend would refuse it, and the user should see why before trying.
      this.setStatus(`Nothing was changed: ${this.readOnlyReason}`);
      return null;
    }
    let result: T | null = null;
    await this.whileBusy(null, async () => {
      const state = await request();
      result = state;
      this.imageChanged(state.image);
      this.store.set({ journal: { edits: state.edits, redoable: state.redoable } });
      const errors = state.image.diagnostics.filter((d) => d.severity === 'error').length;
      this.setStatus(`${typeof done === 'string' ? done : done(state)}; ${errors ? `${errors} error${errors === 1 ? '' : 's'} left` : 'no errors'} (not saved yet)`, errors > 0);
    });
    return result;
  }

  /** Runs `work` with the view busy; its failure is the status line's error. */
  private async whileBusy(status: string | null, work: () => Promise<void>): Promise<void> {
    this.store.set({ busy: true });
    if (status) this.setStatus(status);
    try {
      await work();
    } catch (e) {
      this.setStatus(errorMessage(e), true);
    } finally {
      this.store.set({ busy: false });
    }
  }

  /**
   * A new revision of the image: its bytes, diagnostics, minimap and tree follow. The tree
   * is reloaded whole before anything is looked up in it (a partial tree would collapse the
   * list and lose its scroll position); the selected node stays selected when it still
   * exists (a field edit keeps the tree's shape), else the node at the cursor is.
   */
  private imageChanged(image: ImageOpened): void {
    const newRevision = image.revision !== this.state.image.revision;
    this.store.set({ image, diagnostics: placedDiagnostics(image), ...(newRevision && { bytes: bytesOf(image) }) });
    if (!newRevision) return;
    this.loadMinimap();
    this.memory.revisionChanged();
    this.chunks.revisionChanged();
    const { cursor, space, selected } = this.state;
    void this.tree.reload().then(() => {
      const same = selected && this.tree.node(selected.id);
      if (same && same.kind === selected.kind && same.label === selected.label) {
        this.store.set({ selected: same });
        this.showNode(same, false);
      } else void this.goToOffset(Math.min(cursor, this.sizeOf(space) - 1), false, space);
    });
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
  const stream = ByteCache.ofImage(image.handle, image.streamSize, 'stream');
  return { stream, file: image.layers.length > 0 ? ByteCache.ofImage(image.handle, image.fileSize, 'file') : stream };
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
