import type { ChunkRow } from '../api/chunk-row';
import { notesAfter } from '../edit/container-edit';
import { elementRows } from '../formats/chunked/chunk-rows';
import type { ChunkListInput } from '../formats/format';
import { readerOf } from '../formats/registry';

/**
 * The chunk list of an image as it stands in the editor (`migwb chunks`, the chunk panel):
 * its format's own chunks, or, for a format without chunks, the QEMU elements of its stream
 * standing for the chunks `migwb pack` would make (sections play the part of chunks).
 */
export function chunkList(input: ChunkListInput): ChunkRow[] {
  const reader = readerOf(input.container);
  if (reader.chunks) return reader.chunks(input);
  return elementRows(input.edited, input.model, notesAfter([], input.containerEdits), input.diagnostics);
}
