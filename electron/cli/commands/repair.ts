import type { Command } from 'commander';
import { countBySeverity } from '../../../shared/diagnostics';
import { toSnakeCase } from '../../../shared/util/wire';
import type { SaveRefusedError } from '../../edit/atomic-save';
import type { SessionSaveResult } from '../../edit/edit-session';
import { UsageError } from '../../services/user-error';
import { printJson, type CliIO } from '../output';
import { checkOutputs } from '../../io/output-paths';
import { givenPaths, loadEditing, printDiagnostics } from './edit-common';
import { refuseEvidenceOption } from './evidence-option';

interface RepairOptions {
  output?: string;
  donor?: string;
  dryRun?: boolean;
  force?: boolean;
  streamOnly?: boolean;
  journal?: string;
  report?: string;
  json?: boolean;
}

/**
 * migwb repair: proposes fixes for what validation finds, applies them in memory, checks
 * the result and saves it to a new file; --dry-run prints the plan only. Exit status 0:
 * repaired (or nothing to repair), 1: errors remain, 2: could not run.
 */
export function registerRepair(program: Command, io: CliIO, setExit: (code: number) => void): void {
  refuseEvidenceOption(
    program
      .command('repair')
    .description('repair what validation finds (damaged headers, cut files, a damaged vmdesc, sections missing against a donor) into a new file')
    .argument('<image>', 'the damaged image (never written)')
    .option('-o, --output <file>', 'where to write the repaired image')
    .option('--donor <image>', 'an intact save of the same VM configuration to take missing parts from')
    .option('--dry-run', 'print the repair plan and the predicted result; write nothing')
    .option('--stream-only', 'write only the edited QEMU stream, without its libvirt or qcow2 wrapper')
    .option('--force', 'save even if errors remain')
    .option('--journal <file>', 'also write the repairs as an edit journal (re-applicable with "migwb apply")')
    .option('--report <file>', 'also write the evidence report (Markdown)')
      .option('--json', 'machine-readable output'),
    'migwb repair',
  ).action(async (image: string, opts: RepairOptions) => {
      if (!opts.output && !opts.dryRun) throw new UsageError('give the output file with -o OUT (the damaged image is never written), or --dry-run to see the plan');
      const outputs = givenPaths([[opts.dryRun ? undefined : opts.output, '-o'], [opts.journal, '--journal'], [opts.report, '--report']]);
      checkOutputs(givenPaths([[image, 'the image'], [opts.donor, 'the donor']]), outputs);
      const { EditSession, SaveRefusedError, journalText, writeTextAtomically } = await loadEditing();
      // The repair planner loads only for this command.
      const { runRepairs } = await import('../../edit/repair-service');
      const session = await EditSession.openAsync(image);
      try {
        const donorId = opts.donor ? await session.addDonorAsync(opts.donor) : undefined;
        const donor = donorId !== undefined ? session.context().donor(donorId) : undefined;
        const outcome = runRepairs(session, donorId);
        let saved: SessionSaveResult | undefined;
        let refused: SaveRefusedError | undefined;
        if (!opts.dryRun && outcome.actions.length) {
          try {
            saved = await session.save(opts.output!, { force: opts.force, streamOnly: opts.streamOnly });
          } catch (e) {
            if (!(e instanceof SaveRefusedError)) throw e;
            refused = e;
          }
        }
        const written = saved ? [{ path: saved.path, role: '-o' }] : [];
        if (opts.journal && outcome.actions.length) await writeTextAtomically(opts.journal, journalText(await session.document()), [...session.inputs(), ...written]);
        if (opts.report && outcome.actions.length) await writeTextAtomically(opts.report, await session.report(saved), [...session.inputs(), ...written, ...givenPaths([[opts.journal, '--journal']])]);
        if (opts.json) {
          printJson(
            io,
            toSnakeCase({
              image,
              donor: donor ? { path: donor.path, sha256: donor.sha256 } : null,
              dryRun: !!opts.dryRun,
              actions: outcome.actions.map((a) => ({ code: a.code, summary: a.edit.summary, details: a.edit.fixups, answers: a.addresses })),
              stopped: outcome.stopped,
              lost: outcome.limits.lost,
              consequence: outcome.limits.consequence ?? null,
              before: countBySeverity(outcome.before),
              after: { counts: countBySeverity(outcome.after), diagnostics: outcome.after },
              output: saved ? { path: saved.path, size: saved.size, sha256: saved.sha256 } : null,
              refused: refused?.message,
            }),
          );
        } else {
          printDiagnostics(io, `${image}`, outcome.before);
          if (outcome.actions.length === 0) io.out(`nothing ${outcome.before.some((d) => d.severity === 'error') ? 'this version can repair' : 'to repair'}; nothing was written\n`);
          else io.out(`${opts.dryRun ? 'repair plan' : 'repairs'} (${outcome.actions.length}):\n`);
          outcome.actions.forEach((a, i) => {
            io.out(`${i + 1}. ${a.edit.summary}\n`);
            for (const d of a.edit.fixups) io.out(`     ${d}\n`);
            for (const d of a.addresses) io.out(`     answers: ${d.code} at 0x${d.offset.toString(16)}: ${d.message}\n`);
          });
          if (outcome.stopped) io.out(`stopped: ${outcome.stopped}\n`);
          if (outcome.actions.length) printDiagnostics(io, opts.dryRun ? 'predicted result' : 'repaired image', outcome.after);
          if (outcome.limits.lost.length) {
            io.out(`not recovered${donor ? '' : ' (no donor was given)'}:\n`);
            for (const l of outcome.limits.lost) io.out(`  - ${l}\n`);
            io.out(`${outcome.limits.consequence}${donor ? '' : ' With migwb: repair IMAGE --donor INTACT-SAVE -o OUT.'}\n`);
          }
          if (saved) {
            io.out(`wrote ${saved.path}: ${saved.size} bytes, sha256 ${saved.sha256}\n`);
            for (const n of saved.notes) io.out(`note: ${n}\n`);
          } else if (opts.dryRun && outcome.actions.length) {
            io.out('dry run: nothing was written\n');
          }
        }
        if (refused) io.err(`migwb: ${refused.message}\n`);
        // 1: errors remain (refused, predicted by a dry run, or nothing could repair them).
        const remaining = outcome.after.some((d) => d.severity === 'error');
        setExit(refused || (remaining && !saved) ? 1 : 0);
      } finally {
        session.close();
      }
    });
}
