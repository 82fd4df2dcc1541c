import type { Command } from 'commander';
import * as fs from 'node:fs';
import { countBySeverity } from '../../../shared/diagnostics';
import { EditError } from '../../../shared/edit/errors';
import { fieldPaths } from '../../../shared/edit/field-path';
import { fieldEncoding, formatFieldValue } from '../../../shared/edit/field-value';
import { findSection } from '../../../shared/edit/sections';
import { decodeSection } from '../../../shared/formats/qemu-stream/section-decoder';
import { toSnakeCase } from '../../../shared/util/wire';
import type { EditSession } from '../../edit/edit-session';
import { parseRequest, type RequestKind } from '../../edit/request-syntax';
import { loadVmdescFrom } from '../../services/vmdesc-source';
import { UsageError, UserError } from '../../services/user-error';
import { hexOffset } from '../format';
import { printJson, type CliIO } from '../output';
import { checkOutputs } from '../../io/output-paths';
import { collect, donorPaths, givenPaths, loadEditing, openDonors, printDiagnostics, printEdit, repeat, wireEdit } from './edit-common';
import { guestMemoryReader } from '../../../shared/memory/guest-reader';
import { refuseEvidenceOption } from './evidence-option';

interface EditOptions {
  journal?: string;
  donor?: string[];
  resize?: boolean;
  vmdescFrom?: string;
  undo?: string | true;
  redo?: string | true;
  report?: string;
  fields?: string;
  json?: boolean;
}

const REQUEST_OPTIONS: [RequestKind, string, string][] = [
  ['set', '--set <field=value>', "set a device field: 'SECTION[:INSTANCE].PATH=VALUE', e.g. 'cpu.env.regs[0]=0x1234' (paths as \"migwb dump\" names fields)"],
  ['ram', '--ram <gpa=hex>', 'write guest RAM at a guest-physical address, e.g. 0x100000=deadbeef'],
  ['ram-block', '--ram-block <block:offset=hex>', 'write guest RAM by RAM block and offset, e.g. pc.ram:0x100000=deadbeef'],
  ['replace-bytes', '--replace-bytes <offset=hex>', 'overwrite bytes of the (edited) image'],
  ['insert-bytes', '--insert-bytes <offset=hex>', 'insert bytes'],
  ['delete-bytes', '--delete-bytes <offset:length>', 'delete bytes'],
  ['delete-section', '--delete-section <section>', 'delete a device section (NAME or NAME:INSTANCE)'],
  ['move-section', '--move-section <spec>', "move a device section: 'S before T', 'S after T' or 'S last'"],
  ['insert-section', '--insert-section <spec>', "insert a section from a file holding the complete element: 'FILE before T', 'FILE after T' or 'FILE last'"],
  ['graft', '--graft <section>', "copy a device section the image lacks from the donor, placed as in the donor (or 'S before|after T')"],
  ['replace-section', '--replace-section <section>', "replace a device section with the donor's copy"],
  ['note', '--note <chunk=text>', "note on a chunk (its key as \"migwb chunks\" lists it, e.g. 'FULL cpu:0=RIP checked'; '=TEXT' for the whole image; an empty TEXT removes it). A chunked container keeps notes in the file; other images in the journal"],
  ['tags', '--tags <a,b,…>', 'the tags of the image (replacing any it has); kept in a chunked container'],
  ['recompute-crc', '--recompute-crc <offset>', 'chunked container: write the chunk at this file offset with its CRC computed anew. It hides the damage the wrong CRC shows: check the chunk first'],
  ['drop-chunk', '--drop-chunk <offset>', 'chunked container: leave out the ancillary chunk at this file offset (an unknown chunk, a note)'],
];

/**
 * migwb edit: records edits in a journal (a JSON file) over the untouched image. Nothing
 * else is written; `migwb apply` writes the edited image.
 */
export function registerEdit(program: Command, io: CliIO, setExit: (code: number) => void): void {
  // Edits apply in the order given on the command line, whatever their option names.
  const steps: { kind: RequestKind; text: string }[] = [];
  const cmd = program
    .command('edit')
    .description('record edits of an image in a journal (the image is never written; "migwb apply" saves the result)')
    .argument('<image>', 'image file')
    .option('--journal <file>', 'the journal to create or extend (JSON); not needed to only list --fields');
  for (const [kind, flags, help] of REQUEST_OPTIONS) {
    cmd.option(flags, help, (value: string) => void steps.push({ kind, text: value }));
  }
  cmd
    .option('--donor <path>', 'a donor image for --graft/--replace-section, or ID=PATH for a donor the journal names', collect)
    .option('--resize', 'with --set: let a byte field take a value of another size (the vmdesc is updated)')
    .option('--vmdesc-from <source>', 'for a stream without a vmdesc: name fields by the vmdesc of a sibling image (or a vmdesc JSON file)')
    .option('--undo [count]', 'undo the last edit (or the last COUNT), before any new edits')
    .option('--redo [count]', 'redo undone edits, before any new edits')
    .option('--fields <section>', 'list the fields of a section of the edited image with their paths, types and values')
    .option('--report <file>', 'also write the evidence report (Markdown) of the journal')
    .option('--json', 'machine-readable output');
  refuseEvidenceOption(cmd, 'migwb edit')
    .action(async (image: string, opts: EditOptions) => {
      // The journal is this command's own file (read, then rewritten); it may be nothing else.
      const inserted = steps.filter((s) => s.kind === 'insert-section').map((s) => ({ path: s.text.replace(/\s+(before|after)\s+.*$|\s+last$/, ''), role: 'an inserted section file' }));
      checkOutputs(
        [...givenPaths([[image, 'the image'], [opts.vmdescFrom, '--vmdesc-from']]), ...Object.values(donorPaths(opts.donor ?? [])).map((p) => ({ path: p, role: 'a donor' })), ...inserted],
        givenPaths([[opts.journal, '--journal'], [opts.report, '--report']]),
      );
      if (opts.journal === undefined) {
        if (opts.fields === undefined || steps.length || opts.undo !== undefined || opts.redo !== undefined || opts.report !== undefined) {
          throw new UsageError('give --journal FILE to record edits (the image itself is never written); only --fields SECTION works without one');
        }
        return showFields(io, image, opts, setExit);
      }
      const journalFile = opts.journal;
      const { EditSession, journalText, readJournalFile, writeTextAtomically } = await loadEditing();
      const borrowed = opts.vmdescFrom ? await loadVmdescFrom(opts.vmdescFrom) : undefined;
      const session = await EditSession.openAsync(image);
      try {
        if (borrowed) session.borrowVmdesc(borrowed, opts.vmdescFrom!);
        const existing = fs.existsSync(journalFile) ? readJournalFile(journalFile) : undefined;
        const donors = donorPaths(opts.donor ?? []);
        if (existing) await session.loadJournal(existing, donors);
        await openDonors(session, donors, existing?.sources.map((s) => s.id) ?? []);
        const donorId = Object.keys(donors)[0] ?? existing?.sources[0]?.id;
        const undone = repeat(opts.undo, () => session.undo(), '--undo');
        const redone = repeat(opts.redo, () => session.redo(), '--redo');
        const applied = steps.map((s) => session.apply(parseRequest(s.kind, s.text, { resize: opts.resize, donor: donorId })));
        const changed = applied.length + undone.length + redone.length > 0 || !existing;
        if (changed) await writeTextAtomically(journalFile, journalText(await session.document()), session.inputs());
        if (opts.report) await writeTextAtomically(opts.report, await session.report(), [...session.inputs(), { path: journalFile, role: '--journal' }]);
        const diags = session.diagnostics;
        if (opts.json) {
          printJson(
            io,
            toSnakeCase({
            image,
            journal: journalFile,
            applied: applied.map(wireEdit),
            undone: undone.map(wireEdit),
            redone: redone.map(wireEdit),
            edits: session.entries.length,
            size: session.view.size,
            counts: countBySeverity(diags),
            diagnostics: diags,
            ...(opts.fields ? { fields: listFields(session, opts.fields) } : {}),
            }),
          );
        } else {
          for (const e of undone) printEdit(io, 'undone:', e);
          for (const e of redone) printEdit(io, 'redone:', e);
          for (const e of applied) printEdit(io, '+', e);
          io.out(`journal ${journalFile}: ${session.entries.length} edit${session.entries.length === 1 ? '' : 's'}${session.redoable.length ? `, ${session.redoable.length} undone` : ''}${changed ? '' : ' (unchanged)'}\n`);
          if (opts.fields) printFields(io, listFields(session, opts.fields));
          printDiagnostics(io, `edited image (${session.view.size} bytes)`, diags);
          if (countBySeverity(diags).error) io.out('"migwb apply" refuses to save an image with errors unless given --force\n');
          else if (session.entries.length) io.out(`save it with: migwb apply ${image} ${journalFile} -o OUT\n`);
        }
      } finally {
        session.close();
      }
      setExit(0);
    });
}

/** `edit --fields SECTION` alone: the section's fields, read-only; no journal is made. */
async function showFields(io: CliIO, image: string, opts: EditOptions, setExit: (code: number) => void): Promise<void> {
  const borrowed = opts.vmdescFrom ? await loadVmdescFrom(opts.vmdescFrom) : undefined;
  const { EditSession } = await loadEditing();
  const session = await EditSession.openAsync(image);
  try {
    if (borrowed) session.borrowVmdesc(borrowed, opts.vmdescFrom!);
    const rows = listFields(session, opts.fields!);
    if (opts.json) printJson(io, toSnakeCase({ image, fields: rows }));
    else printFields(io, rows);
  } finally {
    session.close();
  }
  setExit(0);
}

interface FieldRow {
  /** What the value means (named bits, guest-memory ring indexes). */
  note?: string;
  path: string;
  type: string;
  offset: number;
  size: number;
  value: string;
  editable: boolean;
}

function listFields(session: EditSession, spec: string): FieldRow[] {
  const model = session.describedModel();
  const e = spec === 'configuration' && model.configuration ? model.configuration : findSectionOrThrow(session, spec);
  return fieldPaths(decodeSection(session.view, model, e, { guest: guestMemoryReader(session.view, model) }).nodes).map(({ path, node }) => ({
    path,
    type: node.type,
    offset: node.offset,
    size: node.size,
    value: node.children ? '' : formatFieldValue(node.value),
    editable: fieldEncoding(node).kind !== 'not-editable',
    ...(node.note ? { note: node.note } : {}),
  }));
}

function findSectionOrThrow(session: EditSession, spec: string) {
  try {
    return findSection(session.model(), spec);
  } catch (e) {
    if (e instanceof EditError) throw new UserError(e.message);
    throw e;
  }
}

function printFields(io: CliIO, rows: FieldRow[]): void {
  for (const r of rows) io.out(`${hexOffset(r.offset)}  ${r.path}  ${r.type}${r.editable ? '' : ' (not settable)'}  ${r.size} bytes${r.value ? '  ' + r.value : ''}${r.note ? `  (${r.note})` : ''}\n`);
}
