import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_READ, type DirectoryListing, type WorkbenchApi, type WorkbenchEvent } from '../../shared/api/contract';
import { readBytes } from '../../shared/io/byte-source';
import { searchBytes } from '../../shared/workbench/byte-search';
import { computeMinimap } from '../../shared/workbench/minimap';
import { sectionJson } from '../../shared/workbench/section-json';
import type { Library } from '../index/library';
import { UserError } from '../services/user-error';
import { loadVmdescFrom } from '../services/vmdesc-source';
import { repairSession, saveSession, saveSessionJournal } from '../workbench/image-editing';
import type { ImageSessions } from '../workbench/image-sessions';

export interface HandlerDeps {
  sessions: ImageSessions;
  /** The image library (SQLite index); its indexing runs in a worker thread. */
  library: Library;
  host: 'electron' | 'bridge';
  version: string;
  initialPaths: string[];
  /** Folders given at start, to be added to the library. */
  initialFolders?: string[];
  /** Native dialogs (Electron); absent in the bridge, where the renderer shows its own picker. */
  dialogs?: { pickImage(): Promise<string | null>; pickFolder(): Promise<string | null>; pickSavePath(suggestedName: string): Promise<string | null> };
  /** Called after an image opened (the desktop app keeps its recent list). */
  onImageOpened?(path: string): void;
}

/**
 * The backend of one window (Electron) or one browser session (bridge): the same
 * functions behind ipcMain.handle and behind the bridge's HTTP endpoints. Arguments reach
 * them validated (see dispatch.ts). `owner` ties opened images to their window.
 */
export function createHandlers(deps: HandlerDeps, owner: string, emit: (event: WorkbenchEvent) => void): WorkbenchApi {
  const { sessions, library } = deps;
  let indexing: AbortController | null = null;
  return {
    async hostInfo() {
      return { host: deps.host, version: deps.version, nativeDialogs: !!deps.dialogs, initialPaths: deps.initialPaths, initialFolders: deps.initialFolders ?? [], library: library.file };
    },
    async openImage(imagePath) {
      const opened = await sessions.open(imagePath, owner, (p) => emit({ type: 'open-progress', path: imagePath, ...p }));
      deps.onImageOpened?.(imagePath);
      return opened;
    },
    async closeImage(handle) {
      sessions.close(handle, owner);
    },
    async treeChildren(handle, nodeId) {
      return sessions.get(handle, owner).tree.children(nodeId);
    },
    async nodePathAt(handle, offset, space) {
      return sessions.get(handle, owner).tree.pathAt(offset, space);
    },
    async readBytes(handle, offset, length, space) {
      const bytes = sessions.get(handle, owner).bytes(space);
      return Buffer.from(readBytes(bytes, offset, Math.min(length, MAX_READ))).toString('base64');
    },
    async minimap(handle, buckets) {
      return computeMinimap(sessions.get(handle, owner).model, buckets);
    },
    async search(handle, query) {
      return searchBytes(sessions.get(handle, owner).bytes(query.space ?? 'stream'), query);
    },
    async sectionJson(handle, nodeId) {
      const s = sessions.get(handle, owner);
      const element = s.model.elements[Number(/^e(\d+)/.exec(nodeId)?.[1] ?? NaN)];
      return element ? sectionJson(s.source, s.model, element) : null;
    },
    async fieldAddress(handle, nodeId) {
      return sessions.get(handle, owner).tree.fieldAddress(nodeId) ?? null;
    },
    async editApply(handle, request) {
      return sessions.get(handle, owner).apply(request);
    },
    async editUndo(handle) {
      return sessions.get(handle, owner).undo();
    },
    async editRedo(handle) {
      return sessions.get(handle, owner).redo();
    },
    async editRepair(handle, donorPath) {
      return repairSession(sessions.get(handle, owner), donorPath);
    },
    async editSave(handle, outputPath, request) {
      return saveSession(sessions.get(handle, owner), outputPath, request, (p) => emit({ type: 'save-progress', handle, ...p }));
    },
    async editSaveJournal(handle, file) {
      await saveSessionJournal(sessions.get(handle, owner), file);
    },
    async borrowVmdesc(handle, sourcePath) {
      const session = sessions.get(handle, owner);
      return session.borrowVmdesc(await loadVmdescFrom(sourcePath), sourcePath);
    },
    async libraryList() {
      return library.list().map(({ id, path: p, status, statusDetail, format, size, machineType, pageSize, openedVia, errors, warnings, indexedAt, tags }) => ({ id, path: p, status, statusDetail, format, size, machineType, pageSize, openedVia, errors, warnings, indexedAt, tags }));
    },
    async libraryIndex(paths) {
      if (indexing) throw new UserError('the library is already being indexed; wait for it or cancel it');
      indexing = new AbortController();
      try {
        const report = await library.index(paths, {
          signal: indexing.signal,
          onProgress: (p) => emit({ type: 'index-progress', filesDone: p.filesDone, filesTotal: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, currentFile: p.currentFile ?? null }),
        });
        const { files, indexed, unchanged, notImages, unsupported, failed, missing, cancelled, elapsedMs } = report;
        return { files, indexed, unchanged, notImages, unsupported, failed, missing, cancelled, elapsedMs };
      } finally {
        indexing = null;
      }
    },
    async libraryCancel() {
      indexing?.abort();
    },
    async listDirectory(dir) {
      return listDirectory(dir ?? os.homedir());
    },
    async pickImage() {
      return deps.dialogs ? deps.dialogs.pickImage() : null;
    },
    async pickFolder() {
      return deps.dialogs ? deps.dialogs.pickFolder() : null;
    },
    async pickSavePath(suggestedName) {
      return deps.dialogs ? deps.dialogs.pickSavePath(suggestedName) : null;
    },
  };
}

const MAX_ENTRIES = 5000;

/** A folder's entries for the in-app picker: folders first, then files, by name. */
export function listDirectory(dir: string): DirectoryListing {
  const resolved = path.resolve(dir);
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(resolved, { withFileTypes: true });
  } catch (e) {
    throw new UserError(`cannot list ${resolved}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`);
  }
  const entries = names.slice(0, MAX_ENTRIES).map((d) => {
    const full = path.join(resolved, d.name);
    let size = 0;
    let isDirectory = d.isDirectory();
    try {
      const st = fs.statSync(full);
      size = st.size;
      isDirectory = st.isDirectory();
    } catch {
      // a dangling link or a file that vanished: list it, size unknown
    }
    return { name: d.name, path: full, isDirectory, size };
  });
  entries.sort((a, b) => (a.isDirectory === b.isDirectory ? a.name.localeCompare(b.name) : a.isDirectory ? -1 : 1));
  const parent = path.dirname(resolved);
  return { path: resolved, parent: parent === resolved ? null : parent, entries };
}
