import type { DiffOptions, DiffSide } from '../../shared/diff/diff-side';
import type { ImageDiff } from '../../shared/api/image-diff';
import { diffImages } from '../../shared/diff/image-diff';
import type { PageHashes } from '../../shared/diff/page-hashes';
import type { OpenedImage } from './open-image';

/** An opened image as one side of a diff. */
export function diffSideOf(img: OpenedImage, label = img.path, pageHashes?: PageHashes): DiffSide {
  return {
    label,
    source: img.source,
    model: img.model,
    fileOffsetOf: (o) => img.fileOffsetOf(o),
    kind: img.kind,
    layers: img.layers.map((l) => l.kind),
    offsetSpace: img.offsetSpace,
    fileSize: img.file.size,
    ...(pageHashes ? { pageHashes } : {}),
  };
}

/** The diff of two opened images (the CLI and the app both call this), with their page hashes when they were taken (openForDiff). */
export function diffOpenedImages(a: OpenedImage, b: OpenedImage, options: DiffOptions = {}, hashes: { a?: PageHashes; b?: PageHashes } = {}): ImageDiff {
  return diffImages(diffSideOf(a, a.path, hashes.a), diffSideOf(b, b.path, hashes.b), options);
}
