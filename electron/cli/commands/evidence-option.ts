import type { Command } from 'commander';
import type { Diagnostic } from '../../../shared/diagnostics';
import { FileSource } from '../../io/file-source';
import { UsageError } from '../../services/user-error';
import { hexOffset, printable } from '../format';
import type { CliIO } from '../output';
import { databasePath, withDbOption } from './library-options';

export interface EvidenceOptions {
  evidence?: boolean;
  db?: string;
}

const EVIDENCE_HELP = 'open for evidence: read-only; the sha256 of the file is recorded with the time in the library (--db), and a hash that differs from one recorded before is an error';

/** --evidence (and --db for the library that keeps the hashes, unless the command has its own). */
export function withEvidenceOption(cmd: Command, hasDb = false): Command {
  cmd.option('--evidence', EVIDENCE_HELP);
  return hasDb ? cmd : withDbOption(cmd);
}

/**
 * Opening files for evidence: each file's sha256 is taken and recorded in the library with
 * the time (said on stderr, so --json output stays as it is); a hash that differs from one
 * recorded before is an error diagnostic, returned for the command to list, and said on stderr.
 */
export async function recordForEvidence(io: CliIO, files: readonly string[], opts: EvidenceOptions): Promise<Diagnostic[]> {
  if (!opts.evidence) return [];
  const [{ Library }, { recordEvidenceOpen }] = await Promise.all([import('../../index/library'), import('../../services/evidence')]);
  const db = databasePath(opts);
  const library = Library.open(db);
  const problems: Diagnostic[] = [];
  try {
    for (const file of files) {
      const source = new FileSource(file);
      try {
        const check = await recordEvidenceOpen(library, file, source);
        io.err(`evidence: ${file}: sha256 ${check.sha256} (${check.size} bytes) recorded at ${check.takenAt} in ${db}${check.earlier ? `; ${check.earlier} earlier hash${check.earlier === 1 ? '' : 'es'} of it` : ''}\n`);
        if (!check.problem) continue;
        problems.push(check.problem);
        const d = check.problem;
        io.err(`error   ${hexOffset(d.offset)}  ${file}: ${printable(d.message)}\n        expected ${printable(d.expected)}; found ${printable(d.found)}\n`);
      } finally {
        source.close();
      }
    }
  } finally {
    library.close();
  }
  return problems;
}

/** --evidence on a command that changes what it opens: refused, with what to do instead. */
export function refuseEvidenceOption(cmd: Command, what: string): Command {
  return cmd.option('--evidence', `refused: ${what} makes changes, and an image opened for evidence is read-only`).hook('preAction', (_, action) => {
    if (action.opts<EvidenceOptions>().evidence) {
      throw new UsageError(`--evidence opens images read-only: "${what}" would change the image (in a journal or a new file), so it is refused. Examine it with info, validate, dump, search or read --evidence; edit a copy without --evidence`);
    }
  });
}
