import * as fs from 'node:fs';
import { utf8Encode } from '../../shared/util/text-bytes';
import { EditError } from '../../shared/edit/errors';
import { parseJournalDocument, type JournalDocument } from '../../shared/edit/journal-file';
import { MemorySource } from '../../shared/io/byte-source';
import { UserError } from '../services/user-error';
import type { NamedPath } from '../io/output-paths';
import { saveAtomically } from './atomic-save';

/** Reads and checks a journal file; problems are one-line UserErrors. */
export function readJournalFile(file: string): JournalDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read the journal ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
  }
  try {
    return parseJournalDocument(text);
  } catch (e) {
    if (e instanceof EditError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Writes a text file (journal, report) atomically; never over one of the `protect`ed images. */
export async function writeTextAtomically(file: string, text: string, protect: readonly NamedPath[]): Promise<void> {
  await saveAtomically(file, new MemorySource(utf8Encode(text)), { protect, validate: () => [] });
}

export function journalText(doc: JournalDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
