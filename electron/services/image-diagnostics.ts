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
  const container = img.containerDiagnostics.map((d) => ({ ...d, offsetSpace: 'file' as const }));
  const stream = img.model.diagnostics.map((d): PlacedDiagnostic => ({ ...d, ...img.offsets.place(d.offset) }));
  return [...container, ...stream];
}
