/**
 * A row of a chunk list, as the API hands it to the renderer and `migwb chunks` prints it:
 * a chunk of a chunked container (docs/chunked-container.md), or, for any other image, a
 * QEMU element standing for the chunk `migwb pack` would make of it.
 */

/** The four property bits of a chunk type, from the case of its letters (PNG §5.4). */
export interface ChunkProperties {
  critical: boolean;
  public: boolean;
  /** The third letter is uppercase, as the format requires. */
  reservedClear: boolean;
  safeToCopy: boolean;
}

export interface ChunkRow {
  /** Position in the list. */
  index: number;
  type: string;
  properties: ChunkProperties;
  /** The name notes use (docs/chunked-container.md §5): "FULL cpu:0", "PART ram 0 +2". */
  key: string;
  detail?: string;
  /** File offset of the chunk in the file as it is; absent for a chunk Save as would write anew, and for an element. */
  fileOffset?: number;
  /** Bytes the chunk takes in the file (header, data, CRC), or the element's length. */
  length: number;
  /** Its stream bytes, for a chunk holding them (offsets in the edited stream). */
  stream?: { offset: number; length: number };
  /**
   * ok / bad: the stored CRC checked; cut: the file ends inside the chunk; new: written with a
   * fresh CRC on save; none: a QEMU stream has no checksums.
   */
  crc: 'ok' | 'bad' | 'cut' | 'new' | 'none';
  storedCrc?: number;
  computedCrc?: number;
  /** The chunk's data or element has a problem (bad CRC, cut, damaged element). */
  damaged: boolean;
  /** The user's note about it. */
  note?: string;
  /** For a device section: "NAME:INSTANCE", what the section edits (move, delete, replace) take. */
  section?: string;
}
