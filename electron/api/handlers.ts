import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_READ, type DirectoryListing, type ImageOpened, type LibraryImage, type LibraryIndexReport, type WorkbenchApi, type WorkbenchEvent } from '../../shared/api/contract';
import { readBytes } from '../../shared/io/byte-source';
import { searchSteps } from '../../shared/workbench/byte-search';
import { writeExport } from '../index/export-rows';
import type { ImageListing, Library } from '../index/library';
import type { PathGrants } from './path-grants';
import { UserError } from '../services/user-error';
import { evidenceReadOnly, recordEvidenceOpen, type EvidenceCheck } from '../services/evidence';
import { loadVmdescFrom } from '../services/vmdesc-source';
import { searchSessionMemory, sessionGuestWindow, sessionMemoryMap } from '../workbench/guest-memory';
import { diffSessions } from '../workbench/image-diff';
import { applySessionTransform, planSessionTransform, transformTargets } from '../workbench/image-editing';
import { donorSections, editFromDonor, insertSectionFile } from '../workbench/chunk-editing';
import type { WorkbenchImage } from '../workbench/image-session';
import { JournalAutosave } from '../workbench/journal-autosave';
import type { ImageSessions } from '../workbench/image-sessions';
import { displayView } from '../display/display-view';
import { libraryScreens } from '../display/library-screens';
import { qemuLaunchView, qemuPreflightView, qemuTargets } from '../workbench/qemu-panel';

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
  /** Where journals of images with unsaved edits are kept (default: "autosave" beside the library). */
  autosave?: JournalAutosave;
}

/** Lets other work run between the chunks of a search on the main thread. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const PROGRESS_EVERY_MS = 100;

/**
 * The backend of one window (Electron) or one browser session (bridge): the same
 * functions behind ipcMain.handle and behind the bridge's HTTP endpoints. Arguments reach
 * them validated (see dispatch.ts). `owner` ties opened images to their window.
 */
export function createHandlers(deps: HandlerDeps, owner: string, emit: (event: WorkbenchEvent) => void): WorkbenchApi {
  const { sessions, library, grants } = deps;
  let indexing: AbortController | null = null;
  /** Running memory searches and byte searches by image handle. */
  const memorySearches = new Map<string, AbortController>();
  const diffs = new Map<string, AbortController>();
  const byteSearches = new Map<string, AbortController>();
  const autosave = deps.autosave ?? autosaveBeside(library);
  /**
   * Images opened with a journal an earlier session left: until the user restores or
   * discards it, new edits are not written over it.
   */
  const restoreOffered = new Set<string>();
  /** Images opened for evidence (read-only), with the hash taken on open. */
  const evidence = new Map<string, EvidenceCheck>();
  /** An image opened for evidence refuses every change. */
  const refuseIfEvidence = (handle: string): void => {
    if (evidence.has(handle)) throw new UserError(evidenceReadOnly(path.basename(sessions.get(handle, owner).path)));
  };
  /** What the renderer is told of an image opened for evidence: its hash, and a changed hash among its diagnostics. */
  const withEvidence = (opened: ImageOpened): ImageOpened => {
    const check = evidence.get(opened.handle);
    if (!check) return opened;
    const { sha256, size, takenAt, earlier, changed } = check;
    return { ...opened, evidence: { sha256, size, takenAt, earlier, changed }, containerDiagnostics: check.problem ? [check.problem, ...opened.containerDiagnostics] : opened.containerDiagnostics };
  };
  /** A change to the session's journal: kept on disk (or forgotten) shortly. */
  const journalChanged = <T>(session: WorkbenchImage, result: T): T => {
    if (!restoreOffered.has(session.handle)) autosave.schedule(session);
    return result;
  };
  /** Indexes files and folders (none: the whole library), one run at a time, with progress events. */
  const indexPaths = async (paths: string[]): Promise<LibraryIndexReport> => {
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
  };
  return {
    async hostInfo() {
      return { host: deps.host, version: deps.version, nativeDialogs: !!deps.dialogs, initialPaths: deps.initialPaths, initialFolders: deps.initialFolders ?? [], library: library.file };
    },
    async openImage(imagePath) {
      grants.checkRead(imagePath, 'opened');
      const opened = await sessions.open(imagePath, owner, (p) => emit({ type: 'open-progress', path: imagePath, ...p }));
      deps.onImageOpened?.(imagePath);
      const autosaved = autosave.find(imagePath);
      if (autosaved) restoreOffered.add(opened.handle);
      return { ...opened, autosaved };
    },
    async openEvidence(imagePath) {
      grants.checkRead(imagePath, 'opened for evidence');
      const opened = await sessions.open(imagePath, owner, (p) => emit({ type: 'open-progress', path: imagePath, ...p }));
      try {
        evidence.set(opened.handle, await recordEvidenceOpen(library, imagePath, sessions.get(opened.handle, owner).bytes('file')));
      } catch (e) {
        sessions.close(opened.handle, owner);
        throw e;
      }
      deps.onImageOpened?.(imagePath);
      // No journal is offered: nothing may be edited.
      return withEvidence({ ...opened, autosaved: null });
    },
    async closeImage(handle) {
      const session = sessions.find(handle, owner);
      // Edits saved or undone leave nothing to keep; unsaved ones stay until restored or discarded
      // (written now: a pending write would find the image closed).
      if (session?.unsaved && !restoreOffered.has(handle)) await autosave.flush(session);
      else if (session?.edited && !session.unsaved) await autosave.discard(session.path);
      byteSearches.get(handle)?.abort();
      memorySearches.get(handle)?.abort();
      diffs.get(handle)?.abort();
      restoreOffered.delete(handle);
      evidence.delete(handle);
      sessions.close(handle, owner);
    },
    // Large sections are decoded in a worker first (ImageSession, section-decoding.ts).
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
      const source = sessions.get(handle, owner).bytes(query.space ?? 'stream');
      byteSearches.get(handle)?.abort();
      const controller = new AbortController();
      byteSearches.set(handle, controller);
      try {
        // A chunk at a time, so a long search of a large image neither blocks other calls nor goes silent.
        const steps = searchSteps(source, query);
        let reported = Date.now();
        for (;;) {
          const step = steps.next();
          if (step.done) return step.value;
          if (controller.signal.aborted) return null;
          if (Date.now() - reported >= PROGRESS_EVERY_MS) {
            reported = Date.now();
            emit({ type: 'search-progress', handle, ...step.value });
          }
          await nextTurn();
        }
      } finally {
        if (byteSearches.get(handle) === controller) byteSearches.delete(handle);
      }
    },
    async searchCancel(handle) {
      byteSearches.get(handle)?.abort();
    },
    async sectionJson(handle, nodeId) {
      return sessions.get(handle, owner).sectionJson(nodeId);
    },
    async fieldAddress(handle, nodeId) {
      return (await sessions.get(handle, owner).fieldAddress(nodeId)) ?? null;
    },
    async editApply(handle, request) {
      refuseIfEvidence(handle);
      const session = sessions.get(handle, owner);
      return journalChanged(session, session.apply(request));
    },
    async editUndo(handle) {
      refuseIfEvidence(handle);
      const session = sessions.get(handle, owner);
      return journalChanged(session, session.undo());
    },
    async editRedo(handle) {
      refuseIfEvidence(handle);
      const session = sessions.get(handle, owner);
      return journalChanged(session, session.redo());
    },
    async editRepair(handle, donorPath) {
      refuseIfEvidence(handle);
      if (donorPath !== null) grants.checkRead(donorPath, 'used as a donor');
      const session = sessions.get(handle, owner);
      return journalChanged(session, session.repair(donorPath));
    },
    async editRepairDiagnostic(handle, code, offset) {
      refuseIfEvidence(handle);
      const session = sessions.get(handle, owner);
      return journalChanged(session, session.repairDiagnostic(code, offset));
    },
    async restoreAutosave(handle) {
      refuseIfEvidence(handle);
      const session = sessions.get(handle, owner);
      const restored = await session.restore(autosave.load(session.path));
      restoreOffered.delete(handle);
      return journalChanged(session, restored);
    },
    async discardAutosave(handle) {
      const session = sessions.get(handle, owner);
      restoreOffered.delete(handle);
      await autosave.discard(session.path);
      // Edits made meanwhile are kept in its place.
      if (session.unsaved) autosave.schedule(session);
    },
    async editSave(handle, outputPath, request) {
      refuseIfEvidence(handle);
      grants.checkWrite(outputPath);
      const session = sessions.get(handle, owner);
      const saved = await session.save(outputPath, request, (p) => emit({ type: 'save-progress', handle, ...p }));
      await autosave.flush(session); // saved: nothing left to keep
      return saved;
    },
    async editSaveJournal(handle, file) {
      refuseIfEvidence(handle);
      grants.checkWrite(file);
      await sessions.get(handle, owner).saveJournal(file);
    },
    async borrowVmdesc(handle, sourcePath) {
      grants.checkRead(sourcePath, 'read for its vmdesc');
      const session = sessions.get(handle, owner);
      return withEvidence(session.borrowVmdesc(await loadVmdescFrom(sourcePath), sourcePath));
    },
    async chunkList(handle) {
      return sessions.qemu(handle, owner).chunks();
    },
    async donorSections(handle, donorPath) {
      sessions.get(handle, owner);
      return donorSections(grants.checkRead(donorPath, 'used as a donor'));
    },
    async editFromDonor(handle, donorPath, request) {
      refuseIfEvidence(handle);
      const donor = grants.checkRead(donorPath, 'used as a donor');
      const session = sessions.qemu(handle, owner);
      return journalChanged(session, editFromDonor(session, donor, request));
    },
    async editInsertSection(handle, sectionPath, position) {
      refuseIfEvidence(handle);
      const file = grants.checkRead(sectionPath, 'inserted as a section');
      const session = sessions.qemu(handle, owner);
      return journalChanged(session, insertSectionFile(session, file, position));
    },
    async qemuLaunch(handle, target) {
      return qemuLaunchView(sessions.qemu(handle, owner), target);
    },
    async qemuPreflight(handle, target) {
      return qemuPreflightView(sessions.qemu(handle, owner), target);
    },
    async qemuTargets(handle) {
      return qemuTargets(sessions.qemu(handle, owner));
    },
    async transformTargets(handle) {
      return transformTargets(sessions.qemu(handle, owner));
    },
    async transformPlan(handle, request) {
      if (request.templatePath !== null) grants.checkRead(request.templatePath, 'used as a transform template');
      return planSessionTransform(sessions.qemu(handle, owner), request);
    },
    async transformApply(handle, request) {
      refuseIfEvidence(handle);
      if (request.templatePath !== null) grants.checkRead(request.templatePath, 'used as a transform template');
      const session = sessions.qemu(handle, owner);
      return journalChanged(session, await applySessionTransform(session, request, (p) => emit({ type: 'transform-progress', handle, ...p })));
    },
    async memoryMap(handle) {
      return sessionMemoryMap(sessions.qemu(handle, owner));
    },
    async readGuestMemory(handle, block, offset, length) {
      return sessionGuestWindow(sessions.qemu(handle, owner), block, offset, length);
    },
    async displayScreen(handle, request) {
      return displayView(sessions.qemu(handle, owner), request);
    },
    async memorySearch(handle, query) {
      const session = sessions.qemu(handle, owner);
      // A new search replaces the image's running one.
      memorySearches.get(handle)?.abort();
      const controller = new AbortController();
      memorySearches.set(handle, controller);
      try {
        return await searchSessionMemory(session, query, { signal: controller.signal, onProgress: (p) => emit({ type: 'memory-search-progress', handle, ...p }) });
      } finally {
        if (memorySearches.get(handle) === controller) memorySearches.delete(handle);
      }
    },
    async memorySearchCancel(handle) {
      memorySearches.get(handle)?.abort();
    },
    async diffImages(handleA, handleB, request) {
      for (const handle of [handleA, handleB]) {
        const other = sessions.get(handle, owner).opened;
        if (other.kind.startsWith('xen'))
          throw new UserError(
            `${other.name} is a Xen save (${other.kind}): comparing works on QEMU migration streams (bare, in a libvirt save, a qcow2 snapshot or the chunked container), and a Xen save's records and guest pages are not matched yet. Compare Xen saves with "migwb ram" or "migwb read --pfn" on each.`,
          );
      }
      const a = sessions.qemu(handleA, owner);
      const b = sessions.qemu(handleB, owner);
      // A new diff from the same image replaces its running one.
      diffs.get(handleA)?.abort();
      const controller = new AbortController();
      diffs.set(handleA, controller);
      try {
        return await diffSessions(a, b, request, { signal: controller.signal, onProgress: (p) => emit({ type: 'diff-progress', handle: handleA, ...p }) });
      } finally {
        if (diffs.get(handleA) === controller) diffs.delete(handleA);
      }
    },
    async diffCancel(handleA) {
      diffs.get(handleA)?.abort();
    },
    async libraryList() {
      const images = library.list();
      const readable = new Set(grants.readable(images.map((i) => i.path)));
      return images.filter((i) => readable.has(i.path)).map(libraryImage);
    },
    async libraryIndex(paths) {
      for (const p of paths) grants.checkRead(p, 'indexed');
      return indexPaths(paths);
    },
    async libraryReindex(ids) {
      const paths = library.byIds(ids).map((i) => i.path).filter((p) => fs.existsSync(p));
      // (No paths would re-index the whole library.)
      if (!paths.length) throw new UserError('none of the selected files exists any more; Re-index all marks them missing');
      return indexPaths(paths);
    },
    async libraryTag(ids, tags, remove) {
      if (remove) library.untag(ids, tags);
      else library.tag(ids, tags);
    },
    async libraryAddNote(id, text) {
      library.addNote(id, text);
    },
    async libraryDeleteNote(noteId) {
      library.deleteNote(noteId);
    },
    async libraryExport(ids, format, file) {
      grants.checkWrite(file);
      const rows = library.byIds(ids);
      return { path: await writeExport(file, rows, format, library.file), rows: rows.length };
    },
    async libraryCancel() {
      indexing?.abort();
    },
    async libraryScreens(ids) {
      // Only images the renderer may list (libraryList filters the same way).
      // Only images the renderer may list (libraryList filters the same way) are drawn and given.
      const listed = library.screens(ids);
      const readable = new Set(grants.readable(listed.map((s) => s.path)));
      const allowed = listed.filter((s) => readable.has(s.path)).map((s) => s.id);
      if (!allowed.length) return [];
      return (await libraryScreens(library, allowed)).map(({ path: _path, ...screen }) => screen);
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

/** A library row as the renderer gets it (the listing without what only `ls --json` prints). */
function libraryImage(i: ImageListing): LibraryImage {
  const { sha256: _sha256, fileVersion: _fileVersion, elementCount: _elementCount, notes: _notes, ...shown } = i;
  return shown;
}

/** The journals of images with unsaved edits, kept in "autosave" beside the library's database. */
export function autosaveBeside(library: Library): JournalAutosave {
  return new JournalAutosave(path.join(path.dirname(library.file), 'autosave'));
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
