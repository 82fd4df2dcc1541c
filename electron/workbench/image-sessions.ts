import { randomUUID } from 'node:crypto';
import type { ImageOpened } from '../../shared/api/contract';
import { openContainer } from '../services/open-container';
import { openedImageOf, openReadOnly } from '../services/open-image';
import { UserError } from '../services/user-error';
import { XenImageSession } from '../formats/xen/xen-image-session';
import { isXenFile } from '../formats/xen/xen-file';
import { XenSession } from '../formats/xen/xen-session';
import { imageOpened, ImageSession, type WorkbenchImage } from './image-session';
import { scanInWorker } from './open-in-worker';
import type { OpenProgress } from './open-worker';

/**
 * The images the windows (or browser tabs) have open, by handle. Each belongs to an owner
 * (a window), so closing the window closes its images. Decompression and the scan run in a
 * worker; the session keeps its own read-only handles for reading bytes on demand.
 */
export class ImageSessions {
  private readonly sessions = new Map<string, WorkbenchImage>();

  async open(imagePath: string, owner: string, onProgress?: (p: OpenProgress) => void): Promise<ImageOpened> {
    const started = Date.now();
    if (isXenFile(imagePath)) {
      // Xen streams (recognised by content) have their own engine; the file is their address space.
      const handle = randomUUID();
      const session = new XenImageSession(handle, owner, XenSession.open(imagePath), Date.now() - started);
      this.sessions.set(handle, session);
      return session.opened;
    }
    const scanned = await scanInWorker(imagePath, onProgress);
    const file = openReadOnly(imagePath);
    let image;
    try {
      // The worker left any decompressed stream in the cache, so this finds it at once.
      image = openedImageOf(imagePath, file, openContainer(imagePath, file), scanned.model, scanned.via);
    } catch (e) {
      file.close();
      throw e;
    }
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
