import type { ContainerLayer, OffsetSpace } from '../formats/container-model';
import type { Diagnostic } from '../diagnostics';
import type { ImageKind } from '../formats/detect';
import type { EditRequest } from '../edit/intents';
import type { BorrowedVmdesc } from '../formats/qemu-stream/model';
import type { FieldValue } from '../formats/qemu-stream/vmstate-decode';

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
  closeImage(handle: string): Promise<void>;
  /** Children of a structure-tree node; `null` asks for the roots. */
  treeChildren(handle: string, nodeId: string | null): Promise<TreeNode[]>;
  /** Ids from a root down to the innermost node containing the offset (in the stream, or in the file for wrapper nodes). */
  nodePathAt(handle: string, offset: number, space: ByteSpace): Promise<string[]>;
  /** Up to MAX_READ bytes of the stream or of the whole file (base64). */
  readBytes(handle: string, offset: number, length: number, space: ByteSpace): Promise<string>;
  /** One category per bucket of the stream, for the minimap. */
  minimap(handle: string, buckets: number): Promise<number[]>;
  /** Next match of a byte pattern at or after `from` (before it, if backwards). */
  search(handle: string, query: SearchQuery): Promise<SearchHit | null>;
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
  /** Writes the edited image to a new file: atomically, re-validated first, in a worker; progress arrives as events. */
  editSave(handle: string, outputPath: string, options: SaveRequest): Promise<SavedImage>;
  /** Writes the edit journal (JSON, re-applicable with `migwb apply`) to a file. */
  editSaveJournal(handle: string, path: string): Promise<void>;
  /**
   * For a stream without a vmdesc: decodes its device sections with the vmdesc of a sibling
   * image (or a vmdesc JSON file) wherever that fits to the byte. Only the view changes.
   */
  borrowVmdesc(handle: string, sourcePath: string): Promise<ImageOpened>;

  /** The indexed images of the library. */
  libraryList(): Promise<LibraryImage[]>;
  /** Indexes files and folders into the library (folders are remembered); progress arrives as events. */
  libraryIndex(paths: string[]): Promise<LibraryIndexReport>;
  /** Stops a running libraryIndex after the image it is on. */
  libraryCancel(): Promise<void>;

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
  'closeImage',
  'treeChildren',
  'nodePathAt',
  'readBytes',
  'minimap',
  'search',
  'sectionJson',
  'fieldAddress',
  'editApply',
  'editUndo',
  'editRedo',
  'editRepair',
  'editSave',
  'editSaveJournal',
  'borrowVmdesc',
  'libraryList',
  'libraryIndex',
  'libraryCancel',
  'listDirectory',
  'pickImage',
  'pickFolder',
  'pickSavePath',
] as const satisfies readonly Channel[];

/** The IPC channel main pushes WorkbenchEvents on. */
export const EVENT_CHANNEL = 'workbench:event';

/** Menu items of the desktop app, delivered to the renderer as events. */
export type MenuCommand = 'open-image' | 'close-image' | 'go-to' | 'find' | 'back' | 'forward' | 'toggle-theme';

/** Events the backend pushes to the renderer: progress of long work, menu commands, files to open. */
export type WorkbenchEvent =
  | { type: 'open-progress'; path: string; phase: 'decompress' | 'scan'; done: number; total: number }
  | { type: 'save-progress'; handle: string; phase: 'hashing' | 'writing'; done: number; total: number }
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
  layers: ContainerLayer['kind'][];
  /** What stream offsets are: file offsets shifted by streamBase, qcow2 vmstate or decompressed-stream offsets. */
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

export type TreeNodeKind =
  | 'stream'
  | 'file-header'
  | 'section'
  | 'header-field'
  | 'field'
  | 'array'
  | 'struct'
  | 'subsection'
  | 'ram-blocks'
  | 'ram-block'
  | 'page-run'
  | 'page'
  | 'footer'
  | 'vmdesc'
  | 'container'
  | 'container-part'
  | 'unknown';

/**
 * The two byte spaces of an image: the QEMU stream (what model offsets refer to) and the
 * file around it (libvirt or qcow2 wrappers). They coincide for a bare .mig.
 */
export type ByteSpace = 'stream' | 'file';

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

export interface TreeNode {
  id: string;
  kind: TreeNodeKind;
  label: string;
  /** Short type or summary shown after the label. */
  detail?: string;
  /** Offset and length of the bytes the node covers, in the stream unless `space` says file. */
  offset: number;
  length: number;
  /** 'file' for wrapper nodes (libvirt header, XML, qcow2 snapshot table), outside the stream. */
  space?: 'file';
  /** Shown expanded when the image opens (a wrapper and its stream, so the sections are in sight). */
  initiallyOpen?: boolean;
  hasChildren: boolean;
  damaged?: boolean;
  value?: FieldValue;
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
