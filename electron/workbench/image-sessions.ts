import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { ByteSpace, ImageOpened } from '../../shared/api/contract';
import type { ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { StructureTree } from '../../shared/workbench/structure-tree';
import type { FileSource } from '../io/file-source';
import { openContainer } from '../services/open-container';
import { openReadOnly } from '../services/open-image';
import { UserError } from '../services/user-error';
import { scanInWorker } from './open-in-worker';
import type { OpenProgress } from './open-worker';

/** An image open in the workbench: its file, its stream, its model and structure tree. */
export interface ImageSession {
  handle: string;
  owner: string;
  path: string;
  file: FileSource;
  /** The QEMU stream (the file itself for a bare .mig, a decompressed cache file, a qcow2 vmstate). */
  source: ByteSource;
  model: QemuStreamModel;
  tree: StructureTree;
  opened: ImageOpened;
  close(): void;
}

/**
 * The images the windows (or browser tabs) have open, by handle. Each belongs to an owner
 * (a window), so closing the window closes its images. Decompression and the scan run in a
 * worker; the session keeps its own read-only handles for reading bytes on demand.
 */
export class ImageSessions {
  private readonly sessions = new Map<string, ImageSession>();

  async open(imagePath: string, owner: string, onProgress?: (p: OpenProgress) => void): Promise<ImageOpened> {
    const started = Date.now();
    const scanned = await scanInWorker(imagePath, onProgress);
    const file = openReadOnly(imagePath);
    try {
      // The worker left any decompressed stream in the cache, so this finds it at once.
      const c = openContainer(imagePath, file);
      const handle = randomUUID();
      const opened: ImageOpened = {
        handle,
        path: imagePath,
        name: path.basename(imagePath),
        kind: c.kind,
        fileSize: file.size,
        streamSize: c.stream.size,
        streamBase: c.streamBase ?? null,
        layers: c.layers.map((l) => l.kind),
        offsetSpace: c.offsetSpace,
        containerDiagnostics: c.diagnostics,
        machineType: scanned.model.machineType ?? null,
        pageSize: scanned.model.pageSize,
        diagnostics: scanned.model.diagnostics,
        openedVia: scanned.via,
        openMs: Date.now() - started,
      };
      const tree = new StructureTree(c.stream, scanned.model, { file, layers: c.layers });
      const close = () => (c.close(), file.close());
      this.sessions.set(handle, { handle, owner, path: imagePath, file, source: c.stream, model: scanned.model, tree, opened, close });
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

  /** The bytes of one of the session's spaces. */
  bytes(handle: string, owner: string, space: ByteSpace): ByteSource {
    const s = this.get(handle, owner);
    return space === 'file' ? s.file : s.source;
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
