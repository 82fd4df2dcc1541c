/**
 * Stream offsets and file offsets: the one place that translates between them. Model
 * offsets are offsets in the QEMU stream; the file may hold the stream as it is (a bare
 * stream, a raw libvirt save), in pieces (a qcow2 vmstate over its data clusters, chunks of
 * a container), or not at all (a compressed stream, whose bytes exist only decompressed).
 *
 * Pure and environment-neutral: the backend builds an image's map from its format's stream
 * placement; the renderer builds the same map from what ImageOpened carries.
 */

/**
 * What stream offsets are called where no file offset stands for them: "file" when the file
 * holds the stream as it is, "vmstate" for a qcow2 snapshot (offsets in its vmstate area),
 * "decompressed" for a compressed libvirt save (offsets in the decompressed stream);
 * "stream" for an offset of a stream stored as is whose file offset would lie past the end
 * of the file (a wrapper pointing beyond it), so no offset labelled "file" is outside it;
 * "unpacked" for a chunked container (offsets in the stream `migwb unpack` writes).
 */
export type OffsetSpace = 'file' | 'vmstate' | 'decompressed' | 'stream' | 'unpacked';


export const OFFSET_SPACE_LABELS: Readonly<Record<OffsetSpace, string>> = {
  file: 'file offsets',
  vmstate: 'offsets in the qcow2 snapshot vmstate',
  decompressed: 'offsets in the decompressed QEMU stream',
  stream: 'offsets in the QEMU stream, which lies past the end of the file',
  unpacked: 'offsets in the unpacked QEMU stream (as migwb unpack writes it)',
};

/** How the app prefixes an offset of each space that has no file offset beside it. */
const PLACE_PREFIX: Readonly<Record<OffsetSpace, string>> = {
  file: 'file',
  vmstate: 'vmstate',
  decompressed: 'decompressed stream',
  stream: 'stream',
  unpacked: 'stream',
};

/** Stream bytes [stream, stream + length) are file bytes [file, file + length), as they are. */
export interface StreamPiece {
  stream: number;
  file: number;
  /** Infinity for a stream stored as is up to the end of the file (offsets past its end map on). */
  length: number;
}

/** A stream offset placed for the user: at the file offset holding it, else in its own space. */
export interface PlacedOffset {
  offset: number;
  offsetSpace: OffsetSpace;
  streamOffset: number;
}

/** The stream↔file map of one image. Pieces are sorted by stream offset and do not overlap. */
export class OffsetMap {
  private byFile?: readonly StreamPiece[];

  constructor(
    readonly space: OffsetSpace,
    private readonly pieces: readonly StreamPiece[],
  ) {}

  /** A stream stored as it is from file offset `base` to the end of the file. */
  static linear(base: number): OffsetMap {
    return new OffsetMap('file', [{ stream: 0, file: base, length: Infinity }]);
  }

  /** A stream no file byte holds as it is (stored compressed). */
  static unmapped(space: OffsetSpace): OffsetMap {
    return new OffsetMap(space, []);
  }

  /**
   * The map as ImageOpened carries it to the renderer: the space, and the stream's file
   * offset when the file holds the whole stream in one piece. Per-cluster maps (qcow2) stay
   * in the backend, which places diagnostics, search hits and reads itself.
   */
  static ofImage(image: { offsetSpace: OffsetSpace; streamBase: number | null }): OffsetMap {
    return image.streamBase === null ? OffsetMap.unmapped(image.offsetSpace) : new OffsetMap(image.offsetSpace, [{ stream: 0, file: image.streamBase, length: Infinity }]);
  }

  /**
   * File offset of stream byte 0 when the stream is stored in the file as it is, whole and
   * in one piece, so its offsets are file offsets moved by this (space "file"). A qcow2
   * vmstate in contiguous clusters is still a vmstate: its offsets stay vmstate offsets.
   */
  get base(): number | undefined {
    const [first] = this.pieces;
    return this.space === 'file' && this.pieces.length === 1 && first.stream === 0 ? first.file : undefined;
  }

  /** File offset holding stream byte `streamOffset` as it is, when one does. */
  fileOffsetOf(streamOffset: number): number | undefined {
    const p = containing(this.pieces, streamOffset, (x) => x.stream);
    return p && p.file + (streamOffset - p.stream);
  }

  /** Stream offset of the stream byte file byte `fileOffset` holds, when it holds one. */
  streamOffsetOf(fileOffset: number): number | undefined {
    this.byFile ??= [...this.pieces].sort((a, b) => a.file - b.file);
    const p = containing(this.byFile, fileOffset, (x) => x.file);
    return p && p.stream + (fileOffset - p.file);
  }

  /** The same byte in the other byte space ("stream" → "file" or back), when the file holds it. */
  translate(offset: number, from: 'stream' | 'file'): number | undefined {
    return from === 'stream' ? this.fileOffsetOf(offset) : this.streamOffsetOf(offset);
  }

  /**
   * Where a whole-stream listing (`migwb info`) puts a stream offset: at its file offset
   * when the file holds the whole stream in one piece, else at the stream offset itself.
   */
  listed(streamOffset: number): number {
    return streamOffset + (this.base ?? 0);
  }

  /** A stream offset placed for the user: its file offset where the file holds the byte, else in this map's space. */
  place(streamOffset: number): PlacedOffset {
    const file = this.fileOffsetOf(streamOffset);
    return file === undefined ? { offset: streamOffset, offsetSpace: this.space, streamOffset } : { offset: file, offsetSpace: 'file', streamOffset };
  }

  /**
   * How the app shows an offset of a byte space: "file 0x… (n)" for a file offset; for a
   * stream offset its space ("vmstate 0x… (n)") or, where the file holds the byte as it is
   * elsewhere, the file offset beside it ("0x… (n) · file 0x…").
   */
  describe(offset: number, space: 'stream' | 'file', hex: (n: number) => string): string {
    const at = `${hex(offset)} (${offset})`;
    if (space === 'file' || this.space !== 'file') return `${PLACE_PREFIX[space === 'file' ? 'file' : this.space]} ${at}`;
    const file = this.fileOffsetOf(offset);
    return file === undefined || file === offset ? at : `${at} · file ${hex(file)}`;
  }
}

/** The piece whose range (by `start`) contains `offset`, by binary search over pieces sorted by `start`. */
function containing(pieces: readonly StreamPiece[], offset: number, start: (p: StreamPiece) => number): StreamPiece | undefined {
  let lo = 0;
  let hi = pieces.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (start(pieces[mid]) <= offset) lo = mid + 1;
    else hi = mid - 1;
  }
  const p = pieces[hi];
  return p && offset >= start(p) && offset - start(p) < p.length ? p : undefined;
}
