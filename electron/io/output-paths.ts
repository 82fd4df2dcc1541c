import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../services/user-error';

/**
 * Outputs never overwrite inputs. Every command that writes (apply, repair, edit, seal,
 * extract-ram, index, the app's save) names its inputs (the image, donors, journals, a
 * vmdesc source) and its outputs (-o, --journal, --report, --out, --db), and this one check
 * refuses any output that is the same file as an input or as another output.
 *
 * "The same file" is decided by identity, not by spelling: device and inode of what the
 * path resolves to (so a hard link, a symlink, "./x" and "../d/x" are all caught), and for
 * an output that does not exist yet, the identity of its folder plus its name (so two
 * spellings of one new file are caught too).
 */
export interface NamedPath {
  path: string;
  /** How the user knows it: "the image", "the donor", "--journal", "-o". */
  role: string;
}

/** Throws a UserError if an output is an input, or two outputs are one file. */
export function checkOutputs(inputs: readonly NamedPath[], outputs: readonly NamedPath[]): void {
  const seen = inputs.map((i) => ({ ...i, id: identityOf(i.path), input: true }));
  for (const out of outputs) {
    const id = identityOf(out.path);
    const clash = seen.find((s) => s.id !== undefined && s.id === id);
    if (clash) {
      throw new UserError(
        clash.input
          ? `refusing to write ${out.path} (${out.role}): it is ${sameSpelling(clash.path, out.path) ? '' : 'the same file as '}${clash.role} ${clash.path}, which is evidence and is never modified; choose another output path`
          : `refusing to write ${out.path} (${out.role}): ${clash.role} writes ${sameSpelling(clash.path, out.path) ? 'that file' : `the same file (${clash.path})`} too; give each output its own path`,
      );
    }
    seen.push({ ...out, id, input: false });
  }
}

/**
 * What a path names: "dev:ino" of the file it resolves to; for a path that does not exist,
 * "dev:ino/name" of its folder and its name (the file it would create). Undefined when
 * even the folder cannot be found (nothing there to clash with).
 */
export function identityOf(p: string): string | undefined {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    // not there (yet): identified by the folder it would be created in
  }
  try {
    const resolved = path.resolve(p);
    const dir = fs.statSync(path.dirname(resolved), { bigint: true });
    return `${dir.dev}:${dir.ino}/${path.basename(resolved)}`;
  } catch {
    return undefined;
  }
}

function sameSpelling(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}
