import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hex, type Diagnostic } from '../../shared/diagnostics';
import type { ByteSource } from '../../shared/io/byte-source';
import { syncFolder, tempPathBeside, writeAll } from '../io/atomic-file';
import { checkOutputs, type NamedPath } from '../io/output-paths';
import { removeStaleTemporaries, TEMPORARY_PATTERNS } from '../io/stale-temporaries';
import { UserError } from '../services/user-error';
import type { LongWorkOptions } from './file-hash';

const CHUNK = 4 << 20;

export interface SaveOptions extends LongWorkOptions {
  /** Files the result must never replace: the original, donors, journals (by identity: hard links and symlinks included). */
  protect: readonly NamedPath[];
  /** Checks the written temp file; its errors refuse the save unless `force`. */
  validate: (tempPath: string) => Diagnostic[];
  /** Save even if validation finds errors. */
  force?: boolean;
}

export interface SaveResult {
  path: string;
  size: number;
  sha256: string;
  /** What re-validation of the written file found. */
  diagnostics: Diagnostic[];
}

/** The result was written and checked, and it has errors: nothing was saved. */
export class SaveRefusedError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const shown = errors.slice(0, 8).map((d) => `  ${hex(d.offset)} ${d.section ? d.section + ': ' : ''}${d.message}`);
    super(
      `not saved: the result would have ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${shown.join('\n')}${errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : ''}\nFix them, or save anyway with --force`,
    );
    this.name = 'SaveRefusedError';
  }
}

/**
 * Writes `content` to `dest` without ever exposing a half-written file: streams it into a
 * temp file beside the destination, fsyncs it, re-validates what is on disk, renames it
 * over the destination and fsyncs the folder. Never writes a protected file.
 */
export async function saveAtomically(dest: string, content: ByteSource, options: SaveOptions): Promise<SaveResult> {
  const target = path.resolve(dest);
  if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`${target} is a folder; give the path of the file to write`);
  checkOutputs(options.protect, [{ path: target, role: 'the output' }]);
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) throw new UserError(`cannot save to ${dest}: the folder ${dir} does not exist`);
  // Temp files of saves that were killed (kill -9, a crash) into this folder go now.
  removeStaleTemporaries(dir, TEMPORARY_PATTERNS.atomicWrite);
  const temp = tempPathBeside(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', 0o644);
    const hash = createHash('sha256');
    const buf = new Uint8Array(CHUNK);
    for (let at = 0; at < content.size; ) {
      options.signal?.throwIfAborted();
      const n = content.readInto(buf, 0, Math.min(CHUNK, content.size - at), at);
      if (n <= 0) throw new Error(`the edited image could not be read at byte ${at}`);
      writeAll(fd, buf.subarray(0, n));
      hash.update(buf.subarray(0, n));
      at += n;
      options.onProgress?.(at, content.size);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    const diagnostics = options.validate(temp);
    if (!options.force && diagnostics.some((d) => d.severity === 'error')) throw new SaveRefusedError(diagnostics);
    options.signal?.throwIfAborted();
    fs.renameSync(temp, target);
    syncFolder(dir);
    return { path: target, size: content.size, sha256: hash.digest('hex'), diagnostics };
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    if ((e as Error).name === 'AbortError') throw new UserError('save cancelled; nothing was written');
    const code = (e as NodeJS.ErrnoException).code;
    // EPERM: an immutable or append-only folder or file (chattr +i), or a sealed mount.
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') throw new UserError(`cannot write in ${dir}: ${describeWriteRefusal(code)} (${(e as Error).message})`);
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new UserError(`not saved: the disk holding ${dir} is full`);
    throw e;
  }
}

function describeWriteRefusal(code: string): string {
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'EPERM') return 'the operation is not permitted there (an immutable or protected folder or file)';
  return 'permission denied';
}
