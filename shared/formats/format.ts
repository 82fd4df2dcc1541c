import type { ChunkRow } from '../api/chunk-row';
import type { TreeNode } from '../api/contract';
import type { OffsetSpace, StreamPiece } from '../api/offset-map';
import type { Diagnostic } from '../diagnostics';
import type { ContainerEdit } from '../edit/intents';
import type { ByteSource } from '../io/byte-source';
import type { ContainerLayer, FileRange } from './container-model';
import type { QemuStreamModel } from './qemu-stream/model';

/**
 * What a format provides to the rest of the workbench: one FormatDefinition per format, in
 * shared/formats/<format>/format.ts, listed once in shared/formats/registry.ts. Detection
 * walks the registry's signatures; opening, the structure tree, `migwb info`, saving and
 * the indexer reach a format only through this interface, so adding a format is a folder
 * and a registry row (plus a node-side row in electron/formats/registry.ts if its stream
 * needs Node to be read, as a compressed libvirt stream does).
 *
 * Most formats end in a QEMU stream the QEMU engine models: the file is one (a bare stream),
 * or a format wraps one (libvirt, qcow2) or nests one in its chunks. Such a format describes
 * its own structure as layers (plain data) and says where the stream's bytes are
 * (StreamPlacement): its `reader`.
 *
 * A format whose content is not a QEMU stream brings its own engine instead (Xen save
 * streams: records, guest pages by pfn, and the QEMU device state nested in EMULATOR_CONTEXT):
 * `engine` names it, and its node-side engine row (electron/formats/registry.ts) opens,
 * indexes and serves the commands for it, behind the same commands and API as every image.
 */
export interface FormatDefinition<L extends ContainerLayer = ContainerLayer, K extends string = string> {
  /** The folder name under shared/formats/ (and the key of the node-side row). */
  id: string;
  /** The magics this format is recognised by, each naming the image kind it means. Written once, here. */
  signatures: readonly Signature<K>[];
  /** Kinds without a magic, recognised by reading their first records (legacy Xen streams). Tried after every signature. */
  probes?: readonly Probe<K>[];
  /** Absent (and no engine): recognised, not supported yet (opening says "… which this version cannot open yet"). */
  reader?: FormatReader<L, K>;
  /** The format has its own engine (see above): a short name of it, e.g. "Xen save streams". */
  engine?: string;
}

/** A kind recognised by its content rather than a magic: `test` reads what it needs of the file. */
export interface Probe<K extends string = string> {
  kind: K;
  label: string;
  test(file: ByteSource): boolean;
}

/** A magic at file offset 0 and the image kind it identifies. */
export interface Signature<K extends string = string> {
  /** Stable: stored in the library's `format` column and printed as `kind` by `info --json`. */
  kind: K;
  magic: Uint8Array;
  /** What a user calls it: "libvirt save image (virsh save)". */
  label: string;
}

/** Everything a format that opens provides. */
export interface FormatReader<L extends ContainerLayer, K extends string = string> {
  /** How "expected …" names it when a file is not recognised: 'a libvirt save image'. */
  expectedAs: string;
  /**
   * Reads the format's own structure once (every header is parsed here and nowhere else)
   * and says where the QEMU stream is, or why this file cannot be opened. Never throws on
   * bad input: problems are diagnostics at file offsets.
   */
  describe(file: ByteSource, kind: K, options: DescribeOptions): Described<L>;
  /**
   * The stream's bytes, from what `describe` found, without reading the structure again:
   * the main thread attaches what the open worker described, and search workers attach
   * what the main thread holds. Not called for an encoded placement (the node-side row
   * attaches those).
   */
  attach(file: ByteSource, container: ContainerDescription<L>): AttachedStream;
  /** How its layer is shown; absent for a format without a wrapper (a bare stream). */
  views?: LayerViews<L>;
  /** How an edited stream is written back inside the format, for Save as and `migwb apply`. */
  writeBack(input: WriteBackInput<L>): WriteBack;
  /** The format stores notes and tags (ContainerEdits of kind note and tags) in the file; others keep them in the journal only. */
  storesAnnotations?: boolean;
  /** The format records the edit journal in the file: Save as hands writeBack the session's journal document. */
  recordsJournal?: boolean;
  /**
   * Resolves an edit of the format's own chunks (recompute-crc, drop-chunk) against the
   * container, or says why it cannot be made; absent: the format has no such chunks.
   */
  chunkEdit?(container: ContainerDescription<L>, request: { op: 'recompute-crc' | 'drop-chunk'; chunk: number }): ContainerEdit | { refusal: string };
  /** The format's own chunks, as `migwb chunks` and the chunk panel list them; absent: the stream's elements stand for chunks. */
  chunks?(input: ChunkListInput<L>): ChunkRow[];
  /**
   * The shell command that writes the QEMU stream to standard output, for QEMU's
   * `-incoming exec:…` (standard tools where they suffice, else migwb itself), or why there is
   * none; absent: the file is the stream (`cat`).
   */
  incomingCommand?(layer: L, image: IncomingFile): { command: string } | { refusal: string };
}

/** The image file QEMU is to read, and how a shell runs migwb. */
export interface IncomingFile {
  /** Absolute path. */
  path: string;
  /** e.g. ["/usr/bin/node", "/opt/migwb/bin/migwb.js"]. */
  migwb: readonly string[];
}

/** The image as it stands in the editor, for a chunk list. */
export interface ChunkListInput<L extends ContainerLayer = ContainerLayer> {
  file: ByteSource;
  container: ContainerDescription<L>;
  /** The edited QEMU stream and its model. */
  edited: ByteSource;
  model: QemuStreamModel;
  /** Journal entries that changed stream bytes. */
  streamEdits: number;
  containerEdits: readonly ContainerEdit[];
  /** Problems of the edited stream (to mark damaged elements). */
  diagnostics: readonly Diagnostic[];
}

export interface DescribeOptions {
  /** For formats holding several VM states (qcow2 snapshots): which, by name or id; default the newest. */
  snapshot?: string;
}

/** The outcome of `describe`: the container, or a refusal completing "<path> …" ("is a qcow2 disk image, but …"). */
export type Described<L extends ContainerLayer = ContainerLayer> = { container: ContainerDescription<L> } | { refusal: string };

/**
 * An image's container as plain data: what it is, its layers and problems, and where its
 * QEMU stream lies. It is made once per open (by `describe`) and handed on: from the open
 * worker to the main thread, from the main thread to search workers.
 */
export interface ContainerDescription<L extends ContainerLayer = ContainerLayer> {
  /** The detected image kind (a Signature's kind). */
  kind: string;
  /** The registry row that described it (FormatDefinition.id). */
  format: string;
  /** The format's layers, outermost first (none for a bare stream). */
  layers: L[];
  /** Problems of the layers, at file offsets. */
  diagnostics: Diagnostic[];
  stream: StreamPlacement;
}

/** Where the QEMU stream's bytes are: the data the offset map is built from. */
export interface StreamPlacement {
  /** What stream offsets are called where no file offset stands for them. */
  space: OffsetSpace;
  /**
   * Where the file holds stream bytes as they are, sorted by stream offset: one infinite
   * piece for a stream stored as is to the end of the file, one per data cluster run of a
   * qcow2 vmstate, one per chunk of a chunked container, none for a compressed stream.
   */
  pieces: StreamPiece[];
  /** Set when the stream is stored encoded (compressed) in this range: the node-side row decodes it before it can be attached. */
  encoded?: { encoding: string; range: FileRange };
}

/** The QEMU stream of an opened container, readable. */
export interface AttachedStream {
  stream: ByteSource;
  /**
   * The container's problems: the description's, then any found attaching (a decompression
   * that stopped early) or later while reading (a qcow2 cluster that does not inflate).
   */
  diagnostics: Diagnostic[];
  close(): void;
}

/** How a layer is shown: the structure tree's wrapper level and `migwb info`'s lines. */
export interface LayerViews<L extends ContainerLayer> {
  /** The ContainerLayer.kind of the layers `describe` makes. */
  layerKind: string;
  tree: WrapperTree<L>;
  /** Human lines of `migwb info` for the layer, indented by two spaces; `style` is the CLI's. */
  infoLines(layer: L, style: TextStyle): string[];
}

/**
 * The wrapper level of the structure tree. Node ids are paths below the layer's root id
 * (`w0`, `w1` … by depth); wrapper nodes are in file space (`space: 'file'`). The QEMU
 * stream's own nodes hang below the node `${root}/${streamPart}`.
 */
export interface WrapperTree<L extends ContainerLayer> {
  streamPart: string;
  root(layer: L, root: string, at: WrapperTreeContext): TreeNode;
  /** Children of `${root}/${path.join('/')}` (`path` empty: the layer's parts). */
  children(layer: L, root: string, path: readonly string[], at: WrapperTreeContext): TreeNode[];
}

export interface WrapperTreeContext {
  /** The file, to read header field values from. */
  file: ByteSource;
  /** File offset of stream byte 0 when the file holds it. */
  streamStart?: number;
}

/** The CLI's text formatting, handed to infoLines so formats print alike. */
export interface TextStyle {
  offset(n: number): string;
  size(n: number): string;
  table(header: string[], rows: (string | number)[][]): string;
}

export interface WriteBackInput<L extends ContainerLayer> {
  /** The original file (never written). */
  file: ByteSource;
  container: ContainerDescription<L>;
  /** The edited QEMU stream, as the journal shows it. */
  edited: ByteSource;
  /** Its model. */
  model: QemuStreamModel;
  /** Edits in the journal (0: the stream is as it was). */
  edits: number;
  /** The tool named in a section directory written anew. */
  sealedBy: string;
  /** Edits of the container (notes, tags, chunks) in the order they were made; a format without a place for them ignores them. */
  containerEdits?: readonly ContainerEdit[];
  /** The session's journal document, for a format that records journals in the file (see FormatReader.recordsJournal). */
  journal?: unknown;
}

/** The file to write, with notes for the user; or a refusal completing "<path> …". */
export type WriteBack = { content: ByteSource; notes: string[] } | { refusal: string };

/** A format's registry row, typed: its kinds stay literal so the registry can list every ImageKind. */
export function defineFormat<const K extends string, L extends ContainerLayer = never>(format: FormatDefinition<L, K>): FormatDefinition<L, K> {
  return format;
}
