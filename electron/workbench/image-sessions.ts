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
export class ImageSessions {
  private readonly sessions = new Map<string, WorkbenchImage>();

  async open(imagePath: string, owner: string, onProgress?: (p: OpenProgress) => void): Promise<ImageOpened> {
    const started = Date.now();
    const own = engineOf(imagePath);
    if (own) {
      // A format with an engine of its own (Xen streams) opens through it, behind the same interface.
      const handle = randomUUID();
      const session = await own.engine.openImage(imagePath, handle, owner, onProgress);
      this.sessions.set(handle, session);
      return session.opened;
    }
    const scanned = await scanInWorker(imagePath, onProgress);
    // The worker left any decompressed stream in the cache, so this finds it at once.
    const image = openDescribedImage(imagePath, scanned.container, scanned.model, scanned.via);
    const handle = randomUUID();
    const session = new ImageSession(handle, owner, image, imageOpened(handle, image, Date.now() - started));
    this.sessions.set(handle, session);
    return session.opened;
  }

  /** The session of `handle` if `owner` opened it: a window cannot read another window's images. */
  get(handle: string, owner: string): WorkbenchImage {
    const s = this.sessions.get(handle);
    if (!s || s.owner !== owner) throw new UserError('this image is no longer open; open it again');
    return s;
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
}
