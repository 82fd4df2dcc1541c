import { randomUUID } from 'node:crypto';
import type { ImageOpened } from '../../shared/api/contract';
import { openDescribedImage } from '../services/open-image';
import { UserError } from '../services/user-error';
import { engineOf } from '../formats/engines';
import { imageOpened, ImageSession, type WorkbenchImage } from './image-session';
import { scanInWorker } from './open-in-worker';
import type { OpenProgress } from './open-worker';

/**
 * The images the windows (or browser tabs) have open, by handle. Each belongs to an owner
 * (a window), so closing the window closes its images. Detection, the container's structure,
 * decompression and the scan run in a worker, once; the session attaches the stream from
 * the worker's description and keeps its own read-only handles for reading bytes on demand.
 */
/** Images one window (or tab) may have open at once: each holds a file descriptor and its model. */
export const MAX_IMAGES_PER_OWNER = 32;
/** Images all windows together may have open. */
export const MAX_IMAGES = 128;

export class ImageSessions {
  private readonly sessions = new Map<string, WorkbenchImage>();
  /** Opens under way, by owner: they count against the limits before they finish. */
  private readonly opening = new Map<string, number>();

  async open(imagePath: string, owner: string, onProgress?: (p: OpenProgress) => void): Promise<ImageOpened> {
    const started = Date.now();
    this.checkRoom(owner);
    this.opening.set(owner, (this.opening.get(owner) ?? 0) + 1);
    const own = engineOf(imagePath);
    let session: WorkbenchImage;
    try {
      if (own) {
        // A format with an engine of its own (Xen streams) opens through it, behind the same interface.
        session = await own.engine.openImage(imagePath, randomUUID(), owner, onProgress);
      } else {
        // (The scan pool takes two at a time; the rest wait their turn there.)
        const scanned = await scanInWorker(imagePath, onProgress);
        // The worker left any decompressed stream in the cache, so this finds it at once.
        const image = openDescribedImage(imagePath, scanned.container, scanned.model, scanned.via);
        const handle = randomUUID();
        session = new ImageSession(handle, owner, image, imageOpened(handle, image, Date.now() - started));
      }
    } finally {
      const n = this.opening.get(owner)! - 1;
      if (n) this.opening.set(owner, n);
      else this.opening.delete(owner);
    }
    this.sessions.set(session.handle, session);
    return session.opened;
  }

  /** The session of `handle` if `owner` opened it: a window cannot read another window's images. */
  get(handle: string, owner: string): WorkbenchImage {
    const s = this.sessions.get(handle);
    if (!s || s.owner !== owner) throw new UserError('this image is no longer open; open it again');
    return s;
  }

  /**
   * The session of `handle` for what only QEMU streams have (the QEMU panel, version
   * transforms, the guest memory map): an image of another engine is refused by name.
   */
  qemu(handle: string, owner: string): ImageSession {
    const s = this.get(handle, owner);
    if (!(s instanceof ImageSession)) throw new UserError(`${s.opened.name} is not a QEMU stream (${s.opened.kind}); this is for QEMU streams (for a Xen stream: migwb ram, read --pfn, extract-ram and transform --to xen-v2|xen-v3)`);
    return s;
  }

  /** The session of `handle` if `owner` has it open. */
  find(handle: string, owner: string): WorkbenchImage | undefined {
    const s = this.sessions.get(handle);
    return s?.owner === owner ? s : undefined;
  }

  /** The images of `owner` with edits that closing would lose (not saved since). */
  unsaved(owner: string): WorkbenchImage[] {
    return [...this.sessions.values()].filter((s) => s.owner === owner && s.unsaved);
  }

  close(handle: string, owner: string): void {
    const s = this.sessions.get(handle);
    if (!s || s.owner !== owner) return;
    s.close();
    this.sessions.delete(handle);
  }

  closeOwner(owner: string): void {
    for (const s of [...this.sessions.values()]) if (s.owner === owner) this.close(s.handle, owner);
  }

  get size(): number {
    return this.sessions.size;
  }

  private checkRoom(owner: string): void {
    const pending = [...this.opening.values()].reduce((a, b) => a + b, 0);
    const mine = [...this.sessions.values()].filter((s) => s.owner === owner).length + (this.opening.get(owner) ?? 0);
    if (mine >= MAX_IMAGES_PER_OWNER) throw new UserError(`${MAX_IMAGES_PER_OWNER} images are open in this window; close one before opening another`);
    if (this.sessions.size + pending >= MAX_IMAGES) throw new UserError(`${MAX_IMAGES} images are open; close some before opening another`);
  }
}
