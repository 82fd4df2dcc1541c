import { bytesPiece, PieceTable, rangePiece } from '../../edit/pieces';
import { readBytes, type ByteSource } from '../../io/byte-source';
import type { QemuStreamModel } from '../qemu-stream/model';
import { encodeDirectory, looksLikeDirectoryHeader } from './section-directory';

/**
 * An edited bare stream, ready to be saved. An appended migwb section directory no longer
 * describes it, so it is replaced by a fresh one; other trailers are kept (they are not
 * ours to interpret). `model` is the edited stream's.
 */
export function resealEdited(edited: ByteSource, model: QemuStreamModel, sealedBy: string): { content: ByteSource; notes: string[] } {
  const { keep, directory, notes } = freshDirectory(edited, model, sealedBy);
  if (keep === edited.size) return { content: edited, notes };
  const sources = new Map<string, ByteSource>([['stream', edited]]);
  const pieces = [rangePiece('stream', 0, keep), ...(directory ? [bytesPiece(directory)] : [])];
  return { content: new PieceTable(sources, pieces).snapshot(), notes };
}

/**
 * What becomes of an edited stream's trailer: the stream's first `keep` bytes are kept, and
 * an old migwb section directory after them is replaced by `directory` (absent: dropped).
 */
export function freshDirectory(edited: ByteSource, model: QemuStreamModel, sealedBy: string): { keep: number; directory?: Uint8Array; notes: string[] } {
  const t = model.trailing;
  if (!t) return { keep: edited.size, notes: [] };
  if (!looksLikeDirectoryHeader(readBytes(edited, t.offset, 9))) {
    return { keep: edited.size, notes: [`the ${t.length} bytes after the stream (a section directory or other trailer) were kept as they were; they do not describe the edited stream`] };
  }
  if (!model.sawEof) return { keep: t.offset, notes: ['the section directory was dropped and not rewritten: the edited stream has no QEMU_VM_EOF'] };
  const described = { ...model, size: t.offset, trailing: undefined, diagnostics: model.diagnostics.filter((d) => d.code !== 'trailing-data') };
  return { keep: t.offset, directory: encodeDirectory(described, { placedAt: t.offset, sealedBy }), notes: ['the section directory was rewritten for the edited stream'] };
}
