import type { Command } from 'commander';
import { countBySeverity } from '../../../shared/diagnostics';
import { QEMU_RELEASES } from '../../../shared/transform/releases';
import type { TransformPlan } from '../../../shared/transform/transform';
import { toSnakeCase } from '../../../shared/util/wire';
import type { SaveRefusedError } from '../../edit/atomic-save';
import type { SessionSaveResult } from '../../edit/edit-session';
import { UserError } from '../../services/user-error';
import { hexOffset } from '../format';
import { printJson, type CliIO } from '../output';
import { progressBar } from '../progress';
import { checkOutputs } from '../../io/output-paths';
import { ENGINE_TRANSFORM_TARGETS } from '../../formats/engine-targets';
import { givenPaths, loadEditing, printDiagnostics } from './edit-common';

interface TransformOptions {
  to?: string;
  machine?: string;
  template?: string;
  output?: string;
  dryRun?: boolean;
  xbzrleToPage?: boolean;
  mappedRam?: boolean;
  streamOnly?: boolean;
  force?: boolean;
  journal?: string;
  report?: string;
  listRules?: boolean;
  json?: boolean;
}

/** Targets of formats with an engine of their own (Xen: xen-v2, xen-v3); their images never reach this command (see engine-dispatch). */
const ENGINE_TARGETS = Object.entries(ENGINE_TRANSFORM_TARGETS).flatMap(([format, targets]) => (targets ?? []).map((target) => ({ target, format })));

/**
 * migwb transform: makes a save from one QEMU release load in another. Plans every change
 * with the rule and QEMU source behind it, applies them as one journal entry and saves the
 * result atomically to a new file (--dry-run: the plan only). Exit status 0: transformed
 * (or nothing to change), 1: blocked, or the result has errors; 2: could not run.
 */
export function registerTransform(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('transform')
    .description('make an image load in another QEMU release: plan, apply as one journal entry, save to a new file')
    .argument('[image]', 'the image (never written)')
    .option('--to <release>', `the target QEMU: ${QEMU_RELEASES.map((r) => r.id).join(' or ')} (a Xen stream: ${ENGINE_TARGETS.map((t) => t.target).join(' or ')})`)
    .option('--machine <type>', 'target machine type: a versioned name, a family (pc, q35, virt: the newest), newest, or compat (default: the image\'s own where the target has it)')
    .option('--template <image>', 'a native image of the target with the same configuration: layouts the rules do not know are rebased onto it')
    .option('-o, --output <file>', 'where to write the transformed image')
    .option('--dry-run', 'print the plan only; write nothing')
    .option('--xbzrle-to-page', 'also turn XBZRLE records into plain PAGE records (normalises the stream)')
    .option('--mapped-ram', 'lay RAM out as mapped-ram, for a QEMU 9.0+ load with -incoming defer, the mapped-ram capability and migrate-incoming file:OUT')
    .option('--stream-only', 'write only the QEMU stream, without its libvirt or qcow2 wrapper (needed for qcow2 snapshots)')
    .option('--force', 'save even if the result has errors')
    .option('--journal <file>', 'also write the transform as an edit journal (re-applicable with "migwb apply")')
    .option('--report <file>', 'also write the evidence report (Markdown)')
    .option('--list-rules', 'list the rules table and exit')
    .option('--json', 'machine-readable output')
    .action(async (image: string | undefined, opts: TransformOptions) => {
      if (opts.listRules) return listRules(io, !!opts.json, (await import('../../../shared/transform/rules')).TRANSFORM_RULES);
      if (!image) throw new UserError('give the image to transform');
      const engineTarget = ENGINE_TARGETS.find((t) => t.target === opts.to);
      if (engineTarget) {
        const { NODE_ENGINES } = await import('../../formats/engines');
        throw new UserError(`--to ${opts.to} converts ${NODE_ENGINES[engineTarget.format]?.name ?? engineTarget.format} streams; ${image} is not one (migwb info tells what it is)`);
      }
      if (!opts.to && !opts.template) throw new UserError('give the target with --to qemu-7.2|qemu-10.0 (or a --template saved by the target QEMU)');
      if (!opts.output && !opts.dryRun) throw new UserError('give the output file with -o OUT (the image is never written), or --dry-run to see the plan');
      const options = [...(opts.xbzrleToPage ? ['xbzrle-to-page'] : []), ...(opts.mappedRam ? ['inline-to-mapped-ram'] : [])];
      const outputs = givenPaths([[opts.dryRun ? undefined : opts.output, '-o'], [opts.journal, '--journal'], [opts.report, '--report']]);
      checkOutputs(givenPaths([[image, 'the image'], [opts.template, 'the template']]), outputs);
      const { EditSession, SaveRefusedError, journalText, writeTextAtomically } = await loadEditing();
      const session = await EditSession.openAsync(image);
      try {
        const errors = session.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length) {
          throw new UserError(`${image} has ${errors.length} error${errors.length === 1 ? '' : 's'} (first: ${errors[0].message} at ${hexOffset(errors[0].offset)}); repair it first ("migwb repair"), then transform the repaired image`);
        }
        const outcome = session.transform({ to: opts.to, machine: opts.machine, templatePath: opts.template, options }, { dryRun: opts.dryRun });
        const { plan } = outcome;
        let saved: SessionSaveResult | undefined;
        let refused: SaveRefusedError | undefined;
        if (outcome.applied && !opts.dryRun) {
          const bar = progressBar(io, 'saving');
          try {
            saved = await session.save(opts.output!, { force: opts.force, streamOnly: opts.streamOnly, onProgress: (d, t) => bar.update(d, t) });
          } catch (e) {
            if (!(e instanceof SaveRefusedError)) throw e;
            refused = e;
          } finally {
            bar.done();
          }
          const written = saved ? [{ path: saved.path, role: '-o' }] : [];
          if (opts.journal) await writeTextAtomically(opts.journal, journalText(await session.document()), [...session.inputs(), ...written]);
          if (opts.report) await writeTextAtomically(opts.report, await session.report(saved), [...session.inputs(), ...written, ...givenPaths([[opts.journal, '--journal']])]);
        }
        const after = outcome.applied ? session.diagnostics : undefined;
        if (opts.json) {
          printJson(
            io,
            toSnakeCase({
              image,
              dryRun: !!opts.dryRun,
              plan: { ...plan, vmdesc: plan.vmdesc ? { changed: plan.vmdesc.before !== plan.vmdesc.after } : null },
              after: after ? { counts: countBySeverity(after), diagnostics: after.filter((d) => d.severity !== 'info') } : null,
              output: saved ? { path: saved.path, size: saved.size, sha256: saved.sha256, notes: saved.notes } : null,
              refused: refused?.message,
            }),
          );
        } else {
          printPlan(io, image, plan, !!opts.dryRun);
          if (after && outcome.applied) printDiagnostics(io, opts.dryRun ? 'predicted result' : 'transformed image', after);
          if (saved) {
            io.out(`wrote ${saved.path}: ${saved.size} bytes, sha256 ${saved.sha256}\n`);
            for (const n of saved.notes) io.out(`note: ${n}\n`);
            if (plan.target.options.includes('inline-to-mapped-ram')) io.out(`load it with: -incoming defer, then migrate-set-capabilities mapped-ram=on and migrate-incoming file:${saved.path}\n`);
          } else if (opts.dryRun && !plan.blockers.length && plan.changes.length) io.out('dry run: nothing was written\n');
        }
        if (refused) io.err(`migwb: ${refused.message}\n`);
        setExit(plan.blockers.length || refused ? 1 : 0);
      } finally {
        session.close();
      }
    });
}

function printPlan(io: CliIO, image: string, plan: TransformPlan, dryRun: boolean): void {
  io.out(`${image}: ${plan.source.machine ?? 'machine type not recorded'} → ${plan.target.release} -M ${plan.target.machine}${plan.target.template ? ` (template ${plan.target.template})` : ''}\n`);
  io.out(plan.before.loads ? `as it is: QEMU ${plan.target.version} is expected to load it\n` : `as it is: QEMU ${plan.target.version} refuses it: ${plan.before.qemuError!.join(' / ')}\n`);
  if (plan.blockers.length) {
    io.out('cannot transform:\n');
    for (const b of plan.blockers) {
      io.out(`  [${b.rule}] ${b.reason}\n`);
      io.out(`    closest target that loads it: ${b.closest}\n`);
    }
    io.out('nothing was written\n');
    return;
  }
  if (plan.changes.length === 0) {
    io.out('nothing to change: the image already is what the target writes; nothing was written\n');
    return;
  }
  io.out(`${dryRun ? 'plan' : 'changes'} (${plan.changes.length}):\n`);
  plan.changes.forEach((c, i) => {
    io.out(`${String(i + 1).padStart(3)}. [${c.rule}] ${c.subject}: ${c.action}${c.offset !== undefined ? `  @${hexOffset(c.offset)}` : ''}\n`);
    for (const d of c.details ?? []) io.out(`       ${d}\n`);
    for (const cite of c.cites) io.out(`       QEMU: ${cite}\n`);
  });
  if (plan.differences.length) {
    io.out('the target will see differently:\n');
    for (const d of plan.differences) io.out(`  - ${d.subject}: ${d.what} [${d.rule}]\n`);
  }
  if (plan.fixups.length) {
    io.out('framing:\n');
    for (const f of plan.fixups) io.out(`  - ${f}\n`);
  }
}

function listRules(io: CliIO, json: boolean, TRANSFORM_RULES: typeof import('../../../shared/transform/rules').TRANSFORM_RULES): void {
  const rows = TRANSFORM_RULES.map((r) => ({ name: r.name, kind: r.kind, changedIn: r.changedIn ?? null, description: r.description, cites: r.cites }));
  if (json) return printJson(io, toSnakeCase({ rules: rows }));
  for (const r of rows) {
    io.out(`${r.name}  (${r.kind}${r.changedIn ? `, changed in ${r.changedIn.since} by ${r.changedIn.keyedBy}` : ''})\n  ${r.description}\n`);
    for (const c of r.cites) io.out(`  QEMU: ${c.source}${c.compat ? `; ${c.compat}` : ''}\n`);
  }
}
