import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { utf8Encode } from '../../shared/util/text-bytes';
import type { AutosavedJournal } from '../../shared/api/contract';
import { EditError } from '../../shared/edit/errors';
import { parseJournalDocument, type JournalDocument } from '../../shared/edit/journal-file';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import { UserError } from '../services/user-error';
import type { WorkbenchImage } from './image-session';

/** What the autosave needs of an open image. */
type AutosavedImage = Pick<WorkbenchImage, 'path' | 'unsaved' | 'journal'>;

const FORMAT = 'migwb-autosaved-journal';
/** Edits in quick succession (typing in the hex view) are written once. */
const DELAY_MS = 300;

interface AutosaveFile {
  format: typeof FORMAT;
  savedAt: string;
  journal: JournalDocument;
}

/**
 * The journals of open images, kept on disk beside the library while they have unsaved
 * edits, so a crash, a killed process or a closed browser tab loses nothing: opening the
 * image again offers to restore them. One file per image path (the last window to edit an
 * image wins); it goes when the edits are saved, undone or discarded. The journal is the
 * same document `migwb apply` takes, so restoring checks the image's sha256 as applying does.
 */
export class JournalAutosave {
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  /** Writes in flight by image path, chained so an older state never lands after a newer one. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  /** The autosave file of an image (named by a hash of its absolute path). */
  fileFor(imagePath: string): string {
    return path.join(this.dir, `${createHash('sha256').update(path.resolve(imagePath)).digest('hex').slice(0, 32)}.json`);
  }

  /** What an earlier session left for this image, if anything. */
  find(imagePath: string): AutosavedJournal | null {
    const saved = this.read(imagePath);
    return saved && { edits: saved.journal.edits.length, undone: saved.journal.undone.length, savedAt: saved.savedAt };
  }

  /** The journal left for this image; a UserError when there is none or it cannot be read. */
  load(imagePath: string): JournalDocument {
    const saved = this.read(imagePath);
    if (!saved) throw new UserError(`no unsaved edits of ${path.basename(imagePath)} are kept any more`);
    return saved.journal;
  }

  /** The session's journal changed: written shortly, or removed once nothing is left unsaved. */
  schedule(session: AutosavedImage): void {
    clearTimeout(this.pending.get(session.path));
    this.pending.set(
      session.path,
      setTimeout(() => {
        this.pending.delete(session.path);
        void this.flush(session).catch(() => undefined); // a full disk must not break editing; the next edit tries again
      }, DELAY_MS),
    );
  }

  /** Writes (or removes) the session's autosave now. */
  flush(session: AutosavedImage): Promise<void> {
    clearTimeout(this.pending.get(session.path));
    this.pending.delete(session.path);
    return this.chain(session.path, async () => {
      if (!session.unsaved) return this.remove(session.path);
      const journal = await session.journal();
      const file: AutosaveFile = { format: FORMAT, savedAt: new Date().toISOString(), journal };
      fs.mkdirSync(this.dir, { recursive: true });
      const bytes = utf8Encode(JSON.stringify(file));
      writeFileAtomic(this.fileFor(session.path), (fd) => writeAll(fd, bytes));
    });
  }

  /** Forgets the image's autosave (the user discarded the edits, or saved them). */
  discard(imagePath: string): Promise<void> {
    clearTimeout(this.pending.get(imagePath));
    this.pending.delete(imagePath);
    return this.chain(imagePath, async () => this.remove(imagePath));
  }

  private remove(imagePath: string): void {
    fs.rmSync(this.fileFor(imagePath), { force: true });
  }

  private chain(imagePath: string, work: () => Promise<void>): Promise<void> {
    const next = (this.writing.get(imagePath) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.writing.set(imagePath, next);
    return next.finally(() => {
      if (this.writing.get(imagePath) === next) this.writing.delete(imagePath);
    });
  }

  private read(imagePath: string): AutosaveFile | null {
    let text: string;
    try {
      text = fs.readFileSync(this.fileFor(imagePath), 'utf8');
    } catch {
      return null;
    }
    try {
      const file = JSON.parse(text) as AutosaveFile;
      if (file.format !== FORMAT) return null;
      const journal = parseJournalDocument(JSON.stringify(file.journal));
      // Another image whose path hashes alike, or the same path holding another file now: not offered.
      return path.resolve(journal.image.path) === path.resolve(imagePath) ? { ...file, journal } : null;
    } catch (e) {
      if (e instanceof EditError || e instanceof SyntaxError) return null;
      throw e;
    }
  }
}
