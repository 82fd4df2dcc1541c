import type { Diagnostic } from '../../shared/diagnostics';
import type { EvidenceOpen } from '../../shared/api/contract';
import type { ByteSource } from '../../shared/io/byte-source';
import { sha256Of } from '../edit/file-hash';
import type { EvidenceHash, Library } from '../index/library';

/** The diagnostic of a file whose hash is not the one recorded when it was first opened for evidence. */
export const EVIDENCE_HASH_CHANGED = 'evidence-hash-changed';

/** What opening a file for evidence found: its hash now, and every hash recorded for it before. */
export interface EvidenceCheck extends EvidenceOpen {
  /** Hashes recorded for the path before this open, oldest first. */
  earlierHashes: EvidenceHash[];
  /** Set when an earlier hash differs: the file changed since it was opened for evidence. */
  problem: Diagnostic | null;
}

/**
 * Opening a file for evidence: its sha256 is taken now and recorded in the library with the
 * time, and compared with every hash recorded for the path before; a different one is an
 * error diagnostic (the file changed since), placed on the whole file.
 */
export async function recordEvidenceOpen(library: Library, file: string, source: ByteSource): Promise<EvidenceCheck> {
  const takenAt = new Date().toISOString();
  const sha256 = await sha256Of(source);
  const earlierHashes = library.recordEvidenceHash(file, source.size, sha256, takenAt);
  const changed = earlierHashes.filter((h) => h.sha256 !== sha256);
  return { sha256, size: source.size, takenAt, earlier: earlierHashes.length, changed: changed.length > 0, earlierHashes, problem: changed.length ? hashChanged(changed[0], sha256, source.size) : null };
}

/** The sentence a report and a diagnostic say about a hash that changed. */
export function hashChangedText(was: EvidenceHash, sha256: string, size: number): string {
  return `the sha256 taken at ${was.takenAt} was ${was.sha256} (${was.size} bytes); it is now ${sha256} (${size} bytes): the file changed since it was first opened for evidence`;
}

function hashChanged(was: EvidenceHash, sha256: string, size: number): Diagnostic {
  return {
    severity: 'error',
    code: EVIDENCE_HASH_CHANGED,
    offset: 0,
    length: size,
    expected: `sha256 ${was.sha256} (${was.size} bytes, taken at ${was.takenAt})`,
    found: `sha256 ${sha256} (${size} bytes)`,
    message: 'The file changed since it was first opened for evidence',
    hint: 'Treat this copy as altered: compare it with the original evidence (migwb diff) and record who had it since; the library keeps every hash with its time (migwb report --evidence lists them)',
  };
}

/** Why an image opened for evidence refuses an edit. */
export function evidenceReadOnly(name: string): string {
  return `${name} is open for evidence, read-only: no edit, repair, transform or save is made. Open it again without evidence mode to edit (edits go to a journal; the original file is never written either way).`;
}
