import type { DiffOptions, DiffSide } from '../../shared/diff/diff-side';
import type { ImageDiff } from '../../shared/api/image-diff';
import { diffImages } from '../../shared/diff/image-diff';
import type { OpenedImage } from './open-image';

/** An opened image as one side of a diff. */
export function diffSideOf(img: OpenedImage, label = img.path): DiffSide {
  return {
    label,
    source: img.source,
    model: img.model,
    fileOffsetOf: (o) => img.fileOffsetOf(o),
    kind: img.kind,
    layers: img.layers.map((l) => l.kind),
    offsetSpace: img.offsetSpace,
    fileSize: img.file.size,
  };
}

/** The diff of two opened images (the CLI and the app both call this). */
export function diffOpenedImages(a: OpenedImage, b: OpenedImage, options: DiffOptions = {}): ImageDiff {
  return diffImages(diffSideOf(a), diffSideOf(b), options);
}
