import type { Diagnostic } from '../diagnostics';
import type { ImageKind } from '../formats/registry';
import type { EditRequest, SectionPosition } from '../edit/intents';
import type { BorrowedVmdesc } from '../formats/qemu-stream/model';
import type { Finding, Placeholder } from '../launch/hardware';
import type { PreflightResult } from '../preflight/preflight';
import type { TransformPlan } from '../transform/transform';
import type { OffsetSpace } from './offset-map';
import type { TreeNode } from './tree-node';
import type { MemoryMap } from './memory-map';
import type { ChunkRow } from './chunk-row';
import type { ImageDiff } from './image-diff';
import type { DecodedDevice } from '../display/decoded';
import type { DisplayDeviceSummary, ScreenMode, ScreenSource } from '../display/screen';

export type { PageOfRecord, TreeNode, TreeNodeKind } from './tree-node';
export type { MemoryMap, MemoryMapRow, PageState, PageStateCounts } from './memory-map';
export { PAGE_STATE_CODES } from './memory-map';

// Model types that API values carry, for the renderer (which imports only shared/api and shared/inspect).
export type { Diagnostic, OffsetSpace };
export type { FieldValue } from '../formats/qemu-stream/vmstate-decode';
export type { Finding, Placeholder, PreflightResult, TransformPlan };
export type { ChunkProperties, ChunkRow } from './chunk-row';
export type { SectionPosition };
export type { DecodedDevice, DecodedItem } from '../display/decoded';
export type { DisplayDeviceSummary, ScreenMode, ScreenSource };

/**
 * The contract between the renderer and the backend. Electron's preload exposes it as
 * `window.workbench` over IPC; `migwb serve` exposes the same handlers over HTTP for a
 * local browser (and the end-to-end tests). Values are JSON only, so both transports
 * serialise them alike: bytes travel as base64.
 */
export interface WorkbenchApi {
  /** Who is serving the app and what it can do. */
  hostInfo(): Promise<HostInfo>;

  /** Opens an image read-only and returns its handle and summary. */
  openImage(path: string): Promise<ImageOpened>;
  /**
   * Opens an image for evidence: its sha256 is taken and recorded in the library with the
   * time, a hash that differs from one recorded before is an error diagnostic, and every
   * edit, repair, transform and save of it is refused.
   */
  openEvidence(path: string): Promise<ImageOpened>;
  closeImage(handle: string): Promise<void>;
  /** Children of a structure-tree node; `null` asks for the roots. */
  treeChildren(handle: string, nodeId: string | null): Promise<TreeNode[]>;
  /** Ids from a root down to the innermost node containing the offset (in the stream, or in the file for wrapper nodes). */
  nodePathAt(handle: string, offset: number, space: ByteSpace): Promise<string[]>;
  /** Up to MAX_READ bytes of the stream or of the whole file (base64). */
  readBytes(handle: string, offset: number, length: number, space: ByteSpace): Promise<string>;
  /** One category per bucket of the stream, for the minimap. */
  minimap(handle: string, buckets: number): Promise<number[]>;
  /** Next match of a byte pattern at or after `from` (before it, if backwards); progress arrives as events. Null when there is none, or when cancelled. */
  search(handle: string, query: SearchQuery): Promise<SearchHit | null>;
  /** Stops the image's running byte search. */
  searchCancel(handle: string): Promise<void>;
  /** A section's decoded fields and its vmdesc entry as JSON text, for the editor tab. */
  sectionJson(handle: string, nodeId: string): Promise<SectionJson | null>;

  /** The address of a decoded field node as `migwb edit --set` takes it ("cpu:0.env.eip"); null for other nodes. */
  fieldAddress(handle: string, nodeId: string): Promise<string | null>;
  /** Applies an edit to the open image through its journal (the file is never written); returns the image as edited. */
  editApply(handle: string, request: EditRequest): Promise<EditState>;
  editUndo(handle: string): Promise<EditState>;
  editRedo(handle: string): Promise<EditState>;
  /** Makes every repair validation calls for, each an undoable edit; `donorPath` is an intact save of the same VM. */
  editRepair(handle: string, donorPath: string | null): Promise<RepairReport>;
  /** Makes the one repair that answers the diagnostic `code` at `offset` (ImageOpened.repairs offers it). */
  editRepairDiagnostic(handle: string, code: string, offset: number): Promise<RepairReport>;
  /** Re-applies the journal an earlier session left for this image (ImageOpened.autosaved); the image must be unchanged. */
  restoreAutosave(handle: string): Promise<EditState>;
  /** Forgets the journal kept for this image (the user discards its unsaved edits). */
  discardAutosave(handle: string): Promise<void>;
  /** Writes the edited image to a new file: atomically, re-validated first, in a worker; progress arrives as events. */
  editSave(handle: string, outputPath: string, options: SaveRequest): Promise<SavedImage>;
  /** Writes the edit journal (JSON, re-applicable with `migwb apply`) to a file. */
  editSaveJournal(handle: string, path: string): Promise<void>;
  /**
   * For a stream without a vmdesc: decodes its device sections with the vmdesc of a sibling
   * image (or a vmdesc JSON file) wherever that fits to the byte. Only the view changes.
   */
  borrowVmdesc(handle: string, sourcePath: string): Promise<ImageOpened>;

  /**
   * The chunk panel's list: a chunked container's chunks as Save as would write them (CRC,
   * property bits, damage, notes), or for any other image its QEMU elements standing for the
   * chunks `migwb pack` would make (sections play the part of chunks). As `migwb chunks` lists them.
   */
  chunkList(handle: string): Promise<ChunkListView>;
  /** The device sections of a donor image, for the graft and replace dialog (the donor is opened read-only and closed). */
  donorSections(handle: string, donorPath: string): Promise<DonorSections>;
  /** Grafts a donor's section into the image, or replaces the image's section of the same name with it (`migwb edit --graft / --replace-section`). */
  editFromDonor(handle: string, donorPath: string, request: DonorEditRequest): Promise<EditState>;
  /** Inserts the bytes of a file (one whole QEMU section, as `migwb edit --insert-section` takes it) as a section at a position. */
  editInsertSection(handle: string, sectionPath: string, position: SectionPosition): Promise<EditState>;

  /**
   * "Load in QEMU…": the QEMU command line that loads the image file, rebuilt from the image
   * alone, for a target QEMU (or none: qemu-system-<arch> from PATH), with its libvirt domain XML.
   */
  qemuLaunch(handle: string, target: QemuTargetRequest): Promise<QemuLaunchView>;
  /** Whether the target QEMU loads the image file with that command line, and its first error if not; the guest never runs. */
  qemuPreflight(handle: string, target: QemuTargetRequest): Promise<PreflightView>;
  /** The QEMU releases the transform rules know and the emulator found for the image's architecture, if any. */
  qemuTargets(handle: string): Promise<QemuTargetInfo[]>;
  /** What a transform of this image can target: the known QEMU releases with their compat and newest machine types, and the options. */
  transformTargets(handle: string): Promise<TransformTargets>;
  /**
   * The plan of a transform, nothing applied: every change with its rule and the QEMU
   * source behind it, what the target will see differently, what blocks it, QEMU's
   * predicted verdict on the image as it is, and the vmdesc before and after (for a diff).
   */
  transformPlan(handle: string, request: TransformRequestView): Promise<TransformPlanView>;
  /** Applies the transform as one edit of the journal (one Undo takes it back); progress arrives as events. Save as writes it. */
  transformApply(handle: string, request: TransformRequestView): Promise<TransformApplied>;
  /** The guest's memory map: regions and holes of the guest-physical space, unmapped blocks, and the final state of their pages. */
  memoryMap(handle: string): Promise<MemoryMap>;
  /**
   * Up to MAX_GUEST_READ bytes of guest memory as the guest sees it (the last record of each
   * page wins, compressed pages inflated, XBZRLE replayed), from `offset` of a space: guest-physical
   * addresses (`block` null) or one RAM block's own offsets. Holes read as spans, not errors.
   */
  readGuestMemory(handle: string, block: string | null, offset: number, length: number): Promise<GuestMemoryWindow>;
  /**
   * The guest's screen as `migwb screen` draws it (the same service), of the image as it
   * stands (edits included): the picture as a PNG, the mode and where its bytes are, and the
   * display device's state by meaning (as `migwb dump --decoded`).
   */
  displayScreen(handle: string, request: DisplayRequest): Promise<DisplayView>;
  /** Every match in all guest memory (as `migwb search`), in a worker; progress arrives as events. */
  memorySearch(handle: string, query: MemorySearchQuery): Promise<MemorySearchResult>;
  /** Stops the image's running memory search. */
  memorySearchCancel(handle: string): Promise<void>;
  /**
   * Compares two open images by meaning (as `migwb diff`), in a worker, reading both files
   * as they are on disk; progress arrives as diff-progress events of `handleA`.
   */
  diffImages(handleA: string, handleB: string, request: DiffRequest): Promise<ImageDiffResult>;
  /** Stops the running diff started from `handleA`. */
  diffCancel(handleA: string): Promise<void>;

  /** The indexed images of the library. */
  libraryList(): Promise<LibraryImage[]>;
  /** Indexes files and folders into the library (folders are remembered); no paths re-indexes the whole library. Progress arrives as events. */
  libraryIndex(paths: string[]): Promise<LibraryIndexReport>;
  /** Indexes again the library's images with these ids (only changed files are read). */
  libraryReindex(ids: number[]): Promise<LibraryIndexReport>;
  /** Adds (or with `remove`, removes) tags on images. */
  libraryTag(ids: number[], tags: string[], remove: boolean): Promise<void>;
  /** Adds a note to an image. */
  libraryAddNote(id: number, text: string): Promise<void>;
  libraryDeleteNote(noteId: number): Promise<void>;
  /** Writes the rows of these images to a file (from a save dialog) as CSV or JSON. */
  libraryExport(ids: number[], format: 'csv' | 'json', path: string): Promise<{ path: string; rows: number }>;
  /** Stops a running libraryIndex after the image it is on. */
  libraryCancel(): Promise<void>;
  /** The screen thumbnails of these images, as the indexer made and stored them (a small PNG, or why there is none). */
  libraryScreens(ids: number[]): Promise<LibraryScreen[]>;

  /** Entries of a directory, for the in-app file picker (the bridge has no native dialogs). */
  listDirectory(path: string | null): Promise<DirectoryListing>;
  /** Native file dialog (Electron only): the chosen image path, or null. */
  pickImage(): Promise<string | null>;
  /** Native folder dialog (Electron only): the chosen folder, or null. */
  pickFolder(): Promise<string | null>;
  /** Native save dialog (Electron only): the chosen path, or null. */
  pickSavePath(suggestedName: string): Promise<string | null>;
}

export type Channel = keyof WorkbenchApi;

/** Every channel, in one list: main registers these, preload exposes these, the bridge serves these. */
export const CHANNELS = [
  'hostInfo',
  'openImage',
  'openEvidence',
  'closeImage',
  'treeChildren',
  'nodePathAt',
  'readBytes',
  'minimap',
  'search',
  'searchCancel',
  'sectionJson',
  'fieldAddress',
  'editApply',
  'editUndo',
  'editRedo',
  'editRepair',
  'editRepairDiagnostic',
  'restoreAutosave',
  'discardAutosave',
  'editSave',
  'editSaveJournal',
  'borrowVmdesc',
  'chunkList',
  'donorSections',
  'editFromDonor',
  'editInsertSection',
  'qemuLaunch',
  'qemuPreflight',
  'qemuTargets',
  'transformTargets',
  'transformPlan',
  'transformApply',
  'memoryMap',
  'readGuestMemory',
  'displayScreen',
  'memorySearch',
  'memorySearchCancel',
  'diffImages',
  'diffCancel',
  'libraryList',
  'libraryIndex',
  'libraryReindex',
  'libraryTag',
  'libraryAddNote',
  'libraryDeleteNote',
  'libraryExport',
  'libraryCancel',
  'libraryScreens',
  'listDirectory',
  'pickImage',
  'pickFolder',
  'pickSavePath',
] as const satisfies readonly Channel[];

/** The IPC channel main pushes WorkbenchEvents on. */
export const EVENT_CHANNEL = 'workbench:event';

/** The preload's own channel: the path of a file dropped on the window, so main lets the renderer open it. Not exposed to the page. */
export const DROP_CHANNEL = 'workbench:dropped-path';

/** Menu items of the desktop app, delivered to the renderer as events. */
export type MenuCommand = 'open-image' | 'close-image' | 'go-to' | 'find' | 'back' | 'forward' | 'toggle-theme' | 'transform' | 'load-in-qemu';

/** Events the backend pushes to the renderer: progress of long work, menu commands, files to open. */
export type WorkbenchEvent =
  | { type: 'open-progress'; path: string; phase: 'decompress' | 'scan'; done: number; total: number }
  | { type: 'save-progress'; handle: string; phase: 'hashing' | 'writing'; done: number; total: number }
  | { type: 'transform-progress'; handle: string; phase: 'planning' | 'applying' | 'checking' | 'done'; done: number; total: number }
  | { type: 'memory-search-progress'; handle: string; done: number; total: number }
  | { type: 'diff-progress'; handle: string; done: number; total: number }
  | { type: 'search-progress'; handle: string; done: number; total: number }
  | { type: 'index-progress'; filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number; currentFile: string | null }
  | { type: 'menu'; command: MenuCommand }
  | { type: 'open-path'; path: string };

/** What the preload (or the bridge's web preload) puts on `window.workbench`. */
export interface WorkbenchBridge extends WorkbenchApi {
  onEvent(listener: (event: WorkbenchEvent) => void): () => void;
  /** Path of a File dropped on the window (Electron only; null in a browser). */
  pathForDroppedFile(file: unknown): string | null;
}

export const MAX_READ = 1 << 20;
/** Largest guest-memory window read at once (the memory view reads 64 KiB blocks). */
export const MAX_GUEST_READ = 1 << 20;

export interface HostInfo {
  host: 'electron' | 'bridge';
  version: string;
  nativeDialogs: boolean;
  /** Images given on the command line or to `migwb serve`, opened at start. */
  initialPaths: string[];
  /** Folders given to `migwb serve`, added to the library at start. */
  initialFolders: string[];
  /** The library database file. */
  library: string;
}

export interface ImageOpened {
  handle: string;
  path: string;
  name: string;
  kind: ImageKind;
  fileSize: number;
  /** Bytes of the QEMU stream, the address space of the hex view. */
  streamSize: number;
  /** File offset of stream byte 0 when the stream is stored raw in the file. */
  streamBase: number | null;
  /** The wrappers around the stream, outermost first (none for a bare .mig). */
  layers: string[];
  /** What stream offsets are: file offsets shifted by streamBase, qcow2 vmstate or decompressed-stream offsets (OffsetMap.ofImage). */
  offsetSpace: OffsetSpace;
  /** Problems of the wrappers, at file offsets. */
  containerDiagnostics: Diagnostic[];
  machineType: string | null;
  pageSize: number;
  diagnostics: Diagnostic[];
  /** How the model was built: from the image's section directory, its sidecar, or a full scan. */
  openedVia: 'directory' | 'sidecar' | 'scan';
  openMs: number;
  /** Bumped by every edit, undo and redo: tree nodes and bytes of an earlier revision are stale. */
  revision: number;
  /** Edits in the journal (the file itself is never written). */
  edits: number;
  /** The stream has no vmdesc and its fields are decoded with a sibling's (borrowVmdesc). */
  borrowedVmdesc: BorrowedVmdesc | null;
  /** The repairs the diagnostics can have, each answering its own (editRepairDiagnostic). */
  repairs: RepairOffer[];
  /** Unsaved edits an earlier session left for this image (restoreAutosave), when opened. */
  autosaved: AutosavedJournal | null;
  /** The display devices of the image (idstr), in stream order: the Display tab shows their screen. */
  displays: string[];
  /** Set when the image was opened for evidence (openEvidence): it is read-only. */
  evidence?: EvidenceOpen;
}

/** The hash taken when an image was opened for evidence. */
export interface EvidenceOpen {
  sha256: string;
  size: number;
  /** When it was taken (ISO 8601). */
  takenAt: string;
  /** Hashes the library recorded for the path before. */
  earlier: number;
  /** An earlier hash differs: the file changed since (the diagnostic evidence-hash-changed says how). */
  changed: boolean;
}

/** A repair the app offers on the diagnostics it answers. */
export interface RepairOffer {
  /** The repair ("restore-section-type", "rebuild-vmdesc"…). */
  code: string;
  /** What it changes, in one line. */
  summary: string;
  /** The diagnostics (code and offset) it answers. */
  answers: { code: string; offset: number }[];
}

/** A journal kept beside the library for an image with unsaved edits. */
export interface AutosavedJournal {
  edits: number;
  undone: number;
  /** When it was last written (ISO 8601). */
  savedAt: string;
}

/** One edit of the journal, as the edits list shows it. */
export interface EditSummary {
  summary: string;
  /** Framing fixed alongside (footers, CONTINUE flags, vmdesc…). */
  fixups: string[];
}

/** An image after an edit, undo or redo. */
export interface EditState {
  image: ImageOpened;
  /** Applied edits, oldest first. */
  edits: EditSummary[];
  /** Undone edits that can be redone, next first. */
  redoable: EditSummary[];
}

export interface RepairReport extends EditState {
  /** The repairs made, in order (each one an edit of `edits`). */
  repairs: { code: string; summary: string }[];
  /** Set when the planner stopped early, and why. */
  stopped: string | null;
  /** What the repaired image still lacks: device sections, the CPU state, pages never sent. */
  lost: string[];
  /** Said plainly when anything was lost: the guest cannot resume as it was, and a donor can fill the gap. */
  consequence: string | null;
}

/** The chunk panel's rows at the image's revision. */
export interface ChunkListView {
  revision: number;
  /** The rows are a chunked container's own chunks (with CRCs); false: a stream's elements standing for chunks. */
  container: boolean;
  rows: ChunkRow[];
}

/** A donor's device sections, as the graft dialog offers them. */
export interface DonorSections {
  path: string;
  sections: { section: string; length: number; damaged: boolean }[];
}

/** A section edit that copies from a donor (`migwb edit --donor D --graft S` or `--replace-section S`). */
export type DonorEditRequest =
  | { op: 'graft-section'; section: string; position: SectionPosition | null }
  | { op: 'replace-section'; section: string };

/** A transform as the dialog asks for it (see `migwb transform`). */
export interface TransformRequestView {
  /** "qemu-7.2" or "qemu-10.0". */
  to: string;
  /** A versioned machine type, "compat" or "newest"; null: compat (or the template's). */
  machine: string | null;
  /** A native image of the target with the same configuration; null for none. */
  templatePath: string | null;
  /** Normalising options by rule name: "xbzrle-to-page", "inline-to-mapped-ram". */
  options: string[];
}

/** The plan as `migwb transform --json` prints it (shared/transform/transform.ts). */
export type TransformPlanView = TransformPlan;

export interface TransformApplied extends EditState {
  plan: TransformPlanView;
  /** False when the plan had blockers or nothing to change (the journal is unchanged). */
  applied: boolean;
}

export interface TransformTargets {
  /** The image's machine type, if it records one. */
  machine: string | null;
  releases: { id: string; version: string; compat: string | null; newest: string | null }[];
  options: { name: string; description: string }[];
}

export interface SaveRequest {
  /** Save even if the result has errors. */
  force: boolean;
  /** Write only the edited QEMU stream, without its libvirt or qcow2 wrapper. */
  streamOnly: boolean;
}

export interface SavedImage {
  path: string;
  size: number;
  sha256: string;
  /** What re-validation of the written file found. */
  diagnostics: Diagnostic[];
  notes: string[];
}

/**
 * The two byte spaces of an image: the QEMU stream (what model offsets refer to) and the
 * file around it (libvirt or qcow2 wrappers). They coincide for a bare .mig.
 */
export type ByteSpace = 'stream' | 'file';

/** Which screen the Display tab draws (the options of `migwb screen`). */
export interface DisplayRequest {
  /** The display device by idstr, short name or "idstr:instance"; null: the first (QEMU's console 0). */
  device: string | null;
  /** Whose VGA drawing to follow where QEMU 7.2 and 9.0+ differ (--as-qemu). */
  drawing: '7.2' | '10.0';
}

/** The Display tab: what `migwb screen --json` describes, the picture, and the decoded device state. */
export interface DisplayView {
  /** The device drawn; null when the image has no display device. */
  device: DisplayDeviceSummary | null;
  devices: DisplayDeviceSummary[];
  drawnAs: '7.2' | '10.0';
  mode: ScreenMode | null;
  sources: ScreenSource[];
  notes: string[];
  /** Why there is no picture, in one line (as the CLI prints it); null when there is one. */
  reason: string | null;
  width: number | null;
  height: number | null;
  /** The picture as a PNG file (base64), byte for byte what `migwb screen -o` writes. */
  png: string | null;
  /** The device's registers and state by meaning; null with `decodedProblem` when they could not be read. */
  decoded: DecodedDevice | null;
  decodedProblem: string | null;
  /** The SPICE vmchannel state beside the screen (virtio-serial ports, usb-redir), as `migwb dump --decoded` gives it. */
  channels: DecodedDevice[];
}

/** A library image's screen thumbnail. */
export interface LibraryScreen {
  id: number;
  /** A small PNG (base64) of the screen, scaled to fit the thumbnail box; null when there is no picture. */
  png: string | null;
  /** The screen's own size and mode ("VBE 1024x768x32"). */
  width: number | null;
  height: number | null;
  mode: string | null;
  /** Why there is no thumbnail (no display device, a mode not drawn, not indexed yet). */
  reason: string | null;
}

/** One file of the library, as the library view lists it. */
export interface LibraryImage {
  id: number;
  path: string;
  status: 'indexed' | 'unsupported' | 'not-an-image' | 'unreadable' | 'missing';
  statusDetail: string | null;
  format: string | null;
  size: number;
  machineType: string | null;
  pageSize: number | null;
  openedVia: string | null;
  errors: number;
  warnings: number;
  indexedAt: string;
  tags: string[];
  /** Device sections by short name ("e1000", "cpu ×2"), in stream order. */
  devices: string[];
  /** The QEMU releases that could have written the stream ("≥ 7.2", "7.2–9.0"), from what it shows. */
  qemuVersion: string | null;
  /** Guest RAM: the sum of the RAM blocks. */
  ramBytes: number | null;
  /** What wraps the stream and how its pages are stored ("libvirt save image · version 2 · gzip stream"); null for a bare stream. */
  wrapper: string | null;
  /** The distinct problems validation found. */
  problems: { severity: 'error' | 'warning' | 'info'; code: string }[];
  /** The user's notes, oldest first. */
  userNotes: LibraryNote[];
}

export interface LibraryNote {
  id: number;
  text: string;
  createdAt: string;
}

export interface LibraryIndexReport {
  /** Files looked at. */
  files: number;
  /** Images whose model was (re)written. */
  indexed: number;
  /** Files skipped because size and mtime (or, failing that, the sha256) were unchanged. */
  unchanged: number;
  notImages: number;
  /** Recognised by content but of a format this version cannot open yet (Xen streams). */
  unsupported: number;
  /** Images that could not be read or opened (unreadable files, damaged containers). */
  failed: number;
  /** Files of the library's folders that disappeared since the last run. */
  missing: number;
  cancelled: boolean;
  elapsedMs: number;
}

export interface SearchQuery {
  kind: 'hex' | 'text';
  pattern: string;
  from: number;
  backwards?: boolean;
  /** Where to search; the stream unless said. */
  space?: ByteSpace;
}

export interface SearchHit {
  offset: number;
  length: number;
}


/** A stretch of a guest-memory window: a piece of one page (where its bytes came from), or a hole where nothing is mapped. */
export interface GuestMemorySpan {
  /** Offset in the window and length. */
  at: number;
  length: number;
  hole?: true;
  /** Kind of the record giving the page its final content (zero, page, xbzrle, compress, mapped, never-sent). */
  kind?: string;
  block?: string;
  blockOffset?: number;
  gpa?: number;
  /** Where the record's data is: for PAGE and mapped-ram records, the byte itself. */
  streamOffset?: number;
  fileOffset?: number;
  /** Records that sent the page. */
  sends?: number;
  problem?: string;
}

export interface GuestMemoryWindow {
  /** base64; holes read as zeros. */
  bytes: string;
  spans: GuestMemorySpan[];
}

export interface MemorySearchQuery {
  kind: 'string' | 'hex' | 'regex';
  pattern: string;
  /** Stop after this many hits (default 1000). */
  maxHits?: number;
}

/** Where some bytes of guest memory are: the guest's address and the RAM block's, and the record that holds them in the image. */
export interface GuestBytesPlace {
  /** Guest-physical address of the first byte (absent where the block is not mapped). */
  gpa?: number;
  block: string;
  blockOffset: number;
  length: number;
  /** Kind of the record giving the bytes (page, zero, xbzrle, compress, mapped, never-sent). */
  kind: string;
  /** Offset of the record's data in the stream, and in the file when the file holds it. */
  streamOffset?: number;
  fileOffset?: number;
}

export interface MemorySearchHit extends GuestBytesPlace {
  /** Other guest-physical addresses of the first matched byte (aliased ROM). */
  aliases?: number[];
  /** The matched bytes, hex (at most 64). */
  match: string;
}

export interface MemorySearchResult {
  hits: MemorySearchHit[];
  /** More matches exist than maxHits. */
  truncated: boolean;
  scannedBytes: number;
  elapsedMs: number;
  cancelled: boolean;
  /** The image has unsaved edits, which the search does not see: it read the file as it is on disk. */
  editsNotSearched: number;
}

/** What a diff compares: as `migwb diff`'s options. */
export interface DiffRequest {
  fields: boolean;
  ram: boolean;
  /** Only these device sections ("cpu", "cpu:0"); empty: all. */
  sections: string[];
  /** The differing bytes of the first page of each RAM run. */
  pageBytes: boolean;
  maxRuns: number;
}

export interface ImageDiffResult {
  /** Null when cancelled. */
  diff: ImageDiff | null;
  cancelled: boolean;
  elapsedMs: number;
  /** Unsaved edits of either image, which the diff does not see: it read the files as they are on disk. */
  editsNotCompared: number;
}

export interface SectionJson {
  title: string;
  fields: string;
  vmdesc: string | null;
}

export interface DirectoryEntry {
  name: string;
  path: string;
  isDirectory: boolean;
  size: number;
}

export interface DirectoryListing {
  path: string;
  parent: string | null;
  entries: DirectoryEntry[];
}

/** Minimap categories, in increasing display priority. */
export const enum MinimapCategory {
  EMPTY = 0,
  RAM_ZERO = 1,
  RAM_PAGE = 2,
  VMDESC = 3,
  HEADER = 4,
  DEVICE = 5,
  TRAILING = 6,
  DAMAGED = 7,
}

/** Which QEMU a launch or preflight is for: a release ("qemu-10.0"), a binary path, or neither (the image's own QEMU is assumed). */
export interface QemuTargetRequest {
  to: string | null;
  qemu: string | null;
  /** A machine type other than the image's. */
  machine: string | null;
}

export interface QemuBinaryInfo {
  path: string;
  /** "7.2.22" */
  version: string;
}

export interface QemuTargetInfo {
  /** "qemu-7.2" */
  id: string;
  /** The emulator for the image's architecture, when one is installed. */
  binary: QemuBinaryInfo | null;
}

export interface QemuLaunchView {
  /** The emulator: the target's binary, or qemu-system-<arch>. */
  binary: string;
  argv: string[];
  /** The command for a shell, one option per line (what the copy button copies). */
  shell: string;
  /** What to do after starting QEMU (monitor commands for capabilities), the stand-ins and the notes, as text lines. */
  followUp: string[];
  machineType: string;
  qemu: QemuBinaryInfo | null;
  /** Migration capabilities set over the monitor before the stream is read (then argv has -incoming defer). */
  capabilities: string[];
  deferred: boolean;
  /** HMP commands to type when deferred. */
  monitor: string[];
  placeholders: (Placeholder & { option: string; value: string; device: string })[];
  findings: Finding[];
  summary: { arch: string; cpus: number; cpuModel: string | null; memoryBytes: number; devices: number };
  /** The libvirt domain XML: a libvirt save's own, else rebuilt from the stream. */
  libvirtXml: string;
  libvirtXmlSource: 'embedded' | 'rebuilt';
  /** A libvirt save's XML against its stream. */
  libvirtCheck: { agree: number; findings: Finding[] } | null;
  /** Edits of the open image that are not saved: QEMU loads the file as it is on disk. */
  unsavedEdits: number;
}

export interface PreflightView extends PreflightResult {
  qemu: QemuBinaryInfo;
  /** Where the target's vmstate schema came from (the cache file of its -dump-vmstate). */
  schemaFrom: string;
  unsavedEdits: number;
}
