import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { ImageOpened } from '../../shared/api/contract';
import type { ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { StructureTree } from '../../shared/workbench/structure-tree';
import type { FileSource } from '../io/file-source';
import { openContainer } from '../services/open-container';
import { openReadOnly } from '../services/open-image';
import { UserError } from '../services/user-error';
import { scanInWorker } from './open-in-worker';

/** An image open in the workbench: its file, its stream, its model and structure tree. */
export interface ImageSession {
  handle: string;
  owner: string;
  path: string;
  file: FileSource;
  source: ByteSource;
  model: QemuStreamModel;
  tree: StructureTree;
  opened: ImageOpened;
}

/**
 * The images the windows (or browser tabs) have open, by handle. Each belongs to an owner
 * (a window), so closing the window closes its images. The scan runs in a worker; the
 * session keeps its own read-only file handle for reading bytes on demand.
 */
export class ImageSessions {
  private readonly sessions = new Map<string, ImageSession>();

  async open(imagePath: string, owner: string, onProgress?: (done: number, total: number) => void): Promise<ImageOpened> {
    const started = Date.now();
    const scanned = await scanInWorker(imagePath, onProgress);
    const file = openReadOnly(imagePath);
    try {
      const { stream: source } = openContainer(imagePath, file);
      const handle = randomUUID();
      const opened: ImageOpened = {
        handle,
        path: imagePath,
        name: path.basename(imagePath),
        kind: scanned.kind,
        fileSize: file.size,
        streamSize: source.size,
        streamBase: scanned.streamBase ?? null,
        machineType: scanned.model.machineType ?? null,
        pageSize: scanned.model.pageSize,
        diagnostics: scanned.model.diagnostics,
        openedVia: scanned.via,
        openMs: Date.now() - started,
      };
      this.sessions.set(handle, { handle, owner, path: imagePath, file, source, model: scanned.model, tree: new StructureTree(source, scanned.model), opened });
      return opened;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The session of `handle` if `owner` opened it: a window cannot read another window's images. */
  get(handle: string, owner: string): ImageSession {
    const s = this.sessions.get(handle);
    if (!s || s.owner !== owner) throw new UserError('this image is no longer open; open it again');
    return s;
  }

  close(handle: string, owner: string): void {
    const s = this.sessions.get(handle);
    if (!s || s.owner !== owner) return;
    s.file.close();
    this.sessions.delete(handle);
  }

  closeOwner(owner: string): void {
    for (const s of [...this.sessions.values()]) if (s.owner === owner) this.close(s.handle, owner);
  }

  get size(): number {
    return this.sessions.size;
  }
}
