import * as fs from 'node:fs';
import type { DonorEditRequest, DonorSections, EditState, SectionPosition } from '../../shared/api/contract';
import { toHex } from '../../shared/io/bytes';
import { chunkList } from '../../shared/workbench/chunk-list';
import { openImage } from '../services/open-image';
import { UserError } from '../services/user-error';
import type { ImageSession } from './image-session';
import { groupDigits } from '../../shared/util/size';

/**
 * The chunk panel's edits that need a file besides the image: a donor's sections (graft,
 * replace) and a section read from a file (insert). They become the same requests as
 * `migwb edit --graft / --replace-section / --insert-section`, in the session's journal.
 */

/** The largest section file the app reads (it is read whole): a chunk's limit (docs/chunked-container.md §1.2); a larger file is not one device section. */
const MAX_SECTION_FILE = 16 << 20;

/** A donor's device sections (the donor is opened read-only and closed again). */
export function donorSections(donorPath: string): DonorSections {
  const donor = openImage(donorPath);
  try {
    const rows = chunkList({ file: donor.file, container: donor.container, edited: donor.source, model: donor.model, streamEdits: 0, containerEdits: [], diagnostics: donor.model.diagnostics });
    return { path: donor.path, sections: rows.filter((r) => r.section !== undefined).map((r) => ({ section: r.section!, length: r.stream?.length ?? r.length, damaged: r.damaged })) };
  } finally {
    donor.close();
  }
}

/** Grafts or replaces a section from a donor: the donor is opened once per session and recorded in the journal (its sha256 on save). */
export function editFromDonor(session: ImageSession, donorPath: string, request: DonorEditRequest): EditState {
  const source = session.editing().donorAt(donorPath);
  return session.apply(
    request.op === 'graft-section'
      ? { op: 'graft-section', source, section: request.section, ...(request.position ? { position: request.position } : {}) }
      : { op: 'replace-section', source, section: request.section },
  );
}

/** Inserts the section a file holds (header, payload and footer, as QEMU wrote it) at a position. */
export function insertSectionFile(session: ImageSession, sectionPath: string, position: SectionPosition): EditState {
  let bytes: Buffer;
  try {
    const size = fs.statSync(sectionPath).size;
    if (size > MAX_SECTION_FILE) throw new UserError(`${sectionPath} holds ${groupDigits(size)} bytes; a section inserted from a file may have at most ${groupDigits(MAX_SECTION_FILE)} (use migwb edit --insert-section for larger ones)`);
    bytes = fs.readFileSync(sectionPath);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read the section file ${sectionPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (bytes.length === 0) throw new UserError(`${sectionPath} is empty; a section file holds one whole QEMU section (its header, payload and footer)`);
  return session.apply({ op: 'insert-section', hex: toHex(bytes), position });
}
