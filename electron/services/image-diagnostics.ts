import type { OffsetSpace } from '../../shared/api/offset-map';
import type { Diagnostic } from '../../shared/diagnostics';
import type { OpenedImage } from './open-image';

/** A diagnostic placed for the user: `offset` is a file offset whenever the file holds the byte. */
export interface PlacedDiagnostic extends Diagnostic {
  /** Where `offset` points: the file, or (when no file byte holds it) the vmstate or decompressed stream. */
  offsetSpace: OffsetSpace;
  /** Offset in the QEMU stream, for problems inside it. */
  streamOffset?: number;
}

/**
 * Every problem of an opened image, wrappers first: the container's own diagnostics are
 * already at file offsets; the stream's are placed by the image's offset map (at the file
 * offset where the file holds the stream byte) and keep their stream offset.
 */
export function placedDiagnostics(img: OpenedImage): PlacedDiagnostic[] {
  // Container diagnostics point into the file; one that cannot (a pointer far past its end) is placed at its last byte.
  const container = img.containerDiagnostics.map((d) => ({ ...d, offset: Math.min(d.offset, Math.max(0, img.file.size - 1)), offsetSpace: 'file' as const }));
  const stream = img.model.diagnostics.map((d): PlacedDiagnostic => {
    const placed = img.offsets.place(d.offset);
    // No byte of the file holds it (the stream starts or runs past the end of the file): an offset in the stream, named for what it is.
    if (placed.offsetSpace === 'file' && placed.offset >= img.file.size) return { ...d, offset: d.offset, offsetSpace: img.offsets.space === 'file' ? 'stream' : img.offsets.space, streamOffset: d.offset };
    return { ...d, ...placed };
  });
  return [...container, ...stream];
}
