import type { Framebuffer } from '../../shared/display/framebuffer';
import { encodePng } from './png';
import { screen, type Screen, type ScreenOptions } from '../../shared/display/screen';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import type { OpenedImage } from '../services/open-image';

/** A screen as plain data (what --json prints and the API returns) and the picture beside it. */
export interface ScreenReport {
  description: Omit<Screen, 'framebuffer'> & { width?: number; height?: number };
  framebuffer?: Framebuffer;
}

/** The screen of an opened image (the one engine behind `migwb screen`, the Display tab and library thumbnails). */
export function screenOfImage(img: Pick<OpenedImage, 'source' | 'model'>, options: ScreenOptions = {}): ScreenReport {
  const s = screen(img.source, img.model, options);
  const { framebuffer, ...rest } = s;
  return { description: { ...rest, width: framebuffer?.width, height: framebuffer?.height }, framebuffer };
}

/** Writes the picture as a PNG file, atomically. */
export function writeScreenPng(path: string, fb: Framebuffer): void {
  const png = encodePng(fb);
  writeFileAtomic(path, (fd) => writeAll(fd, png));
}
