import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_READ, type DirectoryListing, type WorkbenchApi, type WorkbenchEvent } from '../../shared/api/contract';
import { readBytes } from '../../shared/io/byte-source';
import { searchSteps } from '../../shared/workbench/byte-search';
import type { Library } from '../index/library';
import type { PathGrants } from './path-grants';
import { UserError } from '../services/user-error';
import { loadVmdescFrom } from '../services/vmdesc-source';
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
  /** Which paths came from the user: every path a handler reads, lists or writes is checked here. */
  grants: PathGrants;
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
  const { sessions, library, grants } = deps;
  let indexing: AbortController | null = null;
  /** The latest search of each image, by handle. */
  const searches = new Map<string, number>();
  return {
    async hostInfo() {
      return { host: deps.host, version: deps.version, nativeDialogs: !!deps.dialogs, initialPaths: deps.initialPaths, initialFolders: deps.initialFolders ?? [], library: library.file };
    },
    async openImage(imagePath) {
      grants.checkRead(imagePath, 'opened');
      const opened = await sessions.open(imagePath, owner, (p) => emit({ type: 'open-progress', path: imagePath, ...p }));
      deps.onImageOpened?.(imagePath);
      return opened;
    },
    async closeImage(handle) {
      sessions.close(handle, owner);
    },
    async treeChildren(handle, nodeId) {
      return sessions.get(handle, owner).treeChildren(nodeId);
    },
    async nodePathAt(handle, offset, space) {
      return sessions.get(handle, owner).nodePathAt(offset, space);
    },
    async readBytes(handle, offset, length, space) {
      const bytes = sessions.get(handle, owner).bytes(space);
      return Buffer.from(readBytes(bytes, offset, Math.min(length, MAX_READ))).toString('base64');
    },
    async minimap(handle, buckets) {
      return sessions.get(handle, owner).minimap(buckets);
    },
    async search(handle, query) {
      // A long search yields between chunks, so the window's other requests are served meanwhile;
      // a newer search of the same image ends it (the renderer waits only for the last one).
      const generation = (searches.get(handle) ?? 0) + 1;
      searches.set(handle, generation);
      const steps = searchSteps(sessions.get(handle, owner).bytes(query.space ?? 'stream'), query);
      try {
        for (let slice = Date.now(); ; ) {
          const step = steps.next();
          if (step.done) return step.value;
          if (Date.now() - slice < SEARCH_SLICE_MS) continue;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (searches.get(handle) !== generation) throw new UserError('the search was replaced by a newer one');
          sessions.get(handle, owner); // still open?
          slice = Date.now();
        }
      } finally {
        if (searches.get(handle) === generation) searches.delete(handle);
      }
    },
    async sectionJson(handle, nodeId) {
      return sessions.get(handle, owner).sectionJson(nodeId);
    },
    async fieldAddress(handle, nodeId) {
      return sessions.get(handle, owner).fieldAddress(nodeId) ?? null;
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
      if (donorPath !== null) grants.checkRead(donorPath, 'used as a donor');
      return sessions.get(handle, owner).repair(donorPath);
    },
    async editSave(handle, outputPath, request) {
      grants.checkWrite(outputPath);
      return sessions.get(handle, owner).save(outputPath, request, (p) => emit({ type: 'save-progress', handle, ...p }));
    },
    async editSaveJournal(handle, file) {
      grants.checkWrite(file);
      await sessions.get(handle, owner).saveJournal(file);
    },
    async borrowVmdesc(handle, sourcePath) {
      grants.checkRead(sourcePath, 'read for its vmdesc');
      const session = sessions.get(handle, owner);
      return session.borrowVmdesc(await loadVmdescFrom(sourcePath), sourcePath);
    },
    async libraryList() {
      const images = library.list();
      const readable = new Set(grants.readable(images.map((i) => i.path)));
      return images
        .filter((i) => readable.has(i.path))
        .map(({ id, path: p, status, statusDetail, format, size, machineType, pageSize, openedVia, errors, warnings, indexedAt, tags }) => ({ id, path: p, status, statusDetail, format, size, machineType, pageSize, openedVia, errors, warnings, indexedAt, tags }));
    },
    async libraryIndex(paths) {
      if (indexing) throw new UserError('the library is already being indexed; wait for it or cancel it');
      for (const p of paths) grants.checkRead(p, 'indexed');
      indexing = new AbortController();
      try {
        const report = await library.index(paths, {
          signal: indexing.signal,
          onProgress: (p) => emit({ type: 'index-progress', filesDone: p.filesDone, filesTotal: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, currentFile: p.currentFile ?? null }),
        });
        const { files, indexed, unchanged, notImages, failed, missing, cancelled, elapsedMs } = report;
        return { files, indexed, unchanged, notImages, failed, missing, cancelled, elapsedMs };
      } finally {
        indexing = null;
      }
    },
    async libraryCancel() {
      indexing?.abort();
    },
    async listDirectory(dir) {
      // The in-app picker starts in the first folder the user gave (its parent is offered only while it is inside one too).
      const start = dir ?? grants.roots()[0];
      if (start === undefined) throw new UserError('no folder to browse: add a folder to the library, or start migwb serve with a folder');
      const listing = listDirectory(grants.checkList(start));
      return { ...listing, parent: listing.parent !== null && grants.canList(listing.parent) ? listing.parent : null };
    },
    async pickImage() {
      const chosen = deps.dialogs ? await deps.dialogs.pickImage() : null;
      if (chosen) grants.grantFile(chosen);
      return chosen;
    },
    async pickFolder() {
      const chosen = deps.dialogs ? await deps.dialogs.pickFolder() : null;
      if (chosen) grants.grantFolder(chosen);
      return chosen;
    },
    async pickSavePath(suggestedName) {
      const chosen = deps.dialogs ? await deps.dialogs.pickSavePath(suggestedName) : null;
      if (chosen) grants.grantSaveTarget(chosen);
      return chosen;
    },
  };
}

const MAX_ENTRIES = 5000;
/** How long a search runs before it lets other requests through. */
const SEARCH_SLICE_MS = 20;

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
