import type { Command } from 'commander';
import { countBySeverity } from '../../../shared/diagnostics';
import { toSnakeCase } from '../../../shared/util/wire';
import { printJson, type CliIO } from '../output';
import { progressBar } from '../progress';
import { checkOutputs } from '../../io/output-paths';
import { collect, donorPaths, givenPaths, loadEditing, printDiagnostics, printEdit, wireEdit } from './edit-common';

interface ApplyOptions {
  output: string;
  donor?: string[];
  force?: boolean;
  streamOnly?: boolean;
  report?: string;
  json?: boolean;
}

/**
 * migwb apply: re-applies a journal to the image it was made for (checked by sha256) or an
 * identical copy, and saves the result atomically to a new file after re-validating it.
 */
export function registerApply(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('apply')
    .description('apply an edit journal to its image (or an identical copy) and save the result to a new file')
    .argument('<image>', 'the original image (never written)')
    .argument('<journal>', 'the journal made by "migwb edit" or "migwb repair --journal"')
    .requiredOption('-o, --output <file>', 'where to write the edited image (never the original)')
    .option('--donor <id=path>', 'where a donor the journal names is now (ID=PATH; PATH alone for the donor "donor")', collect)
    .option('--stream-only', 'write only the edited QEMU stream, without its libvirt or qcow2 wrapper')
    .option('--force', 'save even if the result has errors')
    .option('--report <file>', 'also write the evidence report (Markdown), with the result\'s sha256')
    .option('--json', 'machine-readable output')
    .action(async (image: string, journal: string, opts: ApplyOptions) => {
      const donors = donorPaths(opts.donor ?? []);
      checkOutputs(
        [...givenPaths([[image, 'the image'], [journal, 'the journal']]), ...Object.entries(donors).map(([id, p]) => ({ path: p, role: `the donor ${id}` }))],
        givenPaths([[opts.output, '-o'], [opts.report, '--report']]),
      );
      const { EditSession, SaveRefusedError, readJournalFile, writeTextAtomically } = await loadEditing();
      const doc = readJournalFile(journal);
      const session = await EditSession.openAsync(image);
      try {
        await session.loadJournal(doc, donors);
        const bar = progressBar(io, 'saving');
        let saved;
        try {
          saved = await session.save(opts.output, { force: opts.force, streamOnly: opts.streamOnly, onProgress: (d, t) => bar.update(d, t) });
        } catch (e) {
          if (!(e instanceof SaveRefusedError)) throw e;
          io.err(`migwb: ${e.message}\n`);
          setExit(1);
          return;
        } finally {
          bar.done();
        }
        if (opts.report) await writeTextAtomically(opts.report, await session.report(saved), [...session.inputs(), { path: journal, role: 'the journal' }, { path: saved.path, role: '-o' }]);
        if (opts.json) {
          printJson(io, toSnakeCase({ image, journal, edits: session.entries.map(wireEdit), output: { path: saved.path, size: saved.size, sha256: saved.sha256 }, counts: countBySeverity(saved.diagnostics), diagnostics: saved.diagnostics, notes: saved.notes }));
        } else {
          for (const e of session.entries) printEdit(io, '+', e);
          io.out(`wrote ${saved.path}: ${saved.size} bytes, sha256 ${saved.sha256}\n`);
          printDiagnostics(io, 'the written file', saved.diagnostics);
          for (const n of saved.notes) io.out(`note: ${n}\n`);
        }
      } finally {
        session.close();
      }
      setExit(0);
    });
}
