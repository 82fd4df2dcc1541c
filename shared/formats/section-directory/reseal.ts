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
  const t = model.trailing;
  if (!t) return { content: edited, notes: [] };
  if (!looksLikeDirectoryHeader(readBytes(edited, t.offset, 9))) {
    return { content: edited, notes: [`the ${t.length} bytes after the stream (a section directory or other trailer) were kept as they were; they do not describe the edited stream`] };
  }
  const sources = new Map<string, ByteSource>([['stream', edited]]);
  const stream = rangePiece('stream', 0, t.offset);
  if (!model.sawEof) {
    return { content: new PieceTable(sources, [stream]).snapshot(), notes: ['the section directory was dropped and not rewritten: the edited stream has no QEMU_VM_EOF'] };
  }
  const described = { ...model, size: t.offset, trailing: undefined, diagnostics: model.diagnostics.filter((d) => d.code !== 'trailing-data') };
  const directory = encodeDirectory(described, { placedAt: t.offset, sealedBy });
  return { content: new PieceTable(sources, [stream, bytesPiece(directory)]).snapshot(), notes: ['the section directory was rewritten for the edited stream'] };
}
