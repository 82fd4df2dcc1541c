import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../services/user-error';

/**
 * Where the paths the API handlers act on may come from. The renderer (and anyone holding
 * a `migwb serve` link) only names paths; this registry in the main process decides
 * whether a path was given by the user:
 *
 * - a file chosen in an open dialog, dropped on the window, given on the command line or
 *   picked from the recent list: that file may be read;
 * - a folder chosen in a folder dialog, a library folder, or a folder `migwb serve` was
 *   started with: everything below it may be read and listed (and, for serve, written);
 * - a save dialog's answer: that one path may be written; for serve, new files may also
 *   be written into the folders of the images it was started with.
 *
 * Paths are compared after resolving symlinks, so a link inside a granted folder cannot
 * reach outside it. Anything else is refused with a message that quotes nothing but the
 * path the caller gave.
 */
export type GrantSource = 'dialog' | 'drop' | 'command line' | 'recent' | 'library' | 'serve';

export interface LibraryPaths {
  /** The library's folders (everything below may be read). */
  folders(): string[];
  /** Whether `file` is an image of the library (indexed on its own). */
  hasImage(file: string): boolean;
}

export class PathGrants {
  private readonly files = new Set<string>();
  private readonly trees = new Set<string>();
  private readonly saveTargets = new Set<string>();
  private readonly saveFolders = new Set<string>();

  /** `library`: the library's folders and images count as the user's (the desktop app); absent for `migwb serve`. */
  constructor(private readonly library?: LibraryPaths) {}

  /** A file the user chose to open (dialog, drop, command line, recent list). */
  grantFile(file: string): void {
    this.files.add(real(file));
  }

  /** A folder the user chose: everything below may be read and listed. */
  grantFolder(folder: string): void {
    this.trees.add(real(folder));
  }

  /** The answer of a save dialog: this path may be written. */
  grantSaveTarget(file: string): void {
    this.saveTargets.add(realTarget(file));
  }

  /** A folder new files may be saved into (and that may be listed, to pick the name), without reading what is in it. */
  grantSaveFolder(folder: string): void {
    this.saveFolders.add(real(folder));
  }

  /** The folders whose contents may be read, for messages and for the picker's start. */
  roots(): string[] {
    return [...new Set([...this.trees, ...(this.library?.folders() ?? []).map(real)])];
  }

  /** The resolved path of `file` if it may be read; else a UserError. */
  checkRead(file: string, what = 'read'): string {
    const resolved = real(file);
    if (this.files.has(resolved) || this.underTree(resolved) || this.library?.hasImage(path.resolve(file)) || this.library?.hasImage(resolved)) return resolved;
    throw this.refusal(file, what);
  }

  /** The resolved folder if it may be listed. */
  checkList(folder: string): string {
    const resolved = real(folder);
    if (this.underTree(resolved) || this.saveFolders.has(resolved)) return resolved;
    throw this.refusal(folder, 'list');
  }

  /** The resolved target if it may be written: a save dialog's answer, or (serve) a path in a folder given to it. */
  checkWrite(file: string): string {
    const resolved = realTarget(file);
    if (this.saveTargets.has(resolved) || this.underTree(resolved) || this.saveFolders.has(path.dirname(resolved))) return resolved;
    throw new UserError(`${file} was not chosen as a place to save; choose it with Save as…`);
  }

  /** The paths of `files` that may be read: everything of the user's own library (the desktop app), else what lies in a granted folder. */
  readable(files: string[]): string[] {
    if (this.library) return files;
    const roots = [...this.trees];
    return files.filter((f) => this.files.has(f) || roots.some((r) => f === r || f.startsWith(r + path.sep)) || this.mayRead(f));
  }

  /** Whether `file` may be read (for lists that show only what the caller may open). */
  mayRead(file: string): boolean {
    try {
      this.checkRead(file);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether a folder is at (or below) a granted root, so its parent can be offered in the picker. */
  canList(folder: string): boolean {
    try {
      this.checkList(folder);
      return true;
    } catch {
      return false;
    }
  }

  private underTree(resolved: string): boolean {
    for (const root of [...this.trees, ...(this.library?.folders() ?? []).map(real)]) {
      if (resolved === root || resolved.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) return true;
    }
    return false;
  }

  private refusal(p: string, what: string): UserError {
    return new UserError(`${p} cannot be ${what === 'list' ? 'listed' : what}: it was not chosen by you (open it with a dialog, drop it on the window, or add its folder to the library)`);
  }
}

/** A path with its symlinks resolved; a path that does not exist is resolved as far as it exists. */
function real(p: string): string {
  const resolved = path.resolve(p);
  try {
    return fs.realpathSync.native(resolved);
  } catch {
    return realTarget(resolved);
  }
}

/** Where writing `p` would create or replace a file: its folder resolved, plus its name. */
function realTarget(p: string): string {
  const resolved = path.resolve(p);
  try {
    const st = fs.lstatSync(resolved);
    // An existing symlink is written through: what matters is where it points.
    if (st.isSymbolicLink()) return fs.realpathSync.native(resolved);
  } catch {
    // not there yet
  }
  try {
    return path.join(fs.realpathSync.native(path.dirname(resolved)), path.basename(resolved));
  } catch {
    return resolved;
  }
}
