import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexOffset } from '../format';
import { printJson, type CliIO } from '../output';
import type { PreflightRun } from '../../services/preflight-service';
import { openForCommand } from './open-with-progress';
import { targetOptions, type TargetFlags } from './qemu-args';

interface PreflightCommandOptions extends TargetFlags {
  schema?: string;
}

export function registerPreflight(program: Command, io: CliIO, setExit: (code: number) => void): void {
  targetOptions(
    program
      .command('preflight')
      .description("predict, without running the guest, whether a QEMU loads the image with the command line of qemu-args, and QEMU's exact first error if not; exit status 0: it loads, 1: it refuses, 2: could not run")
      .argument('<image>', 'image file'),
  )
    .option('--schema <file>', "the target's -dump-vmstate JSON (default: run once per binary and cached)")
    .option('--json', 'machine-readable output')
    .action(async (image: string, opts: PreflightCommandOptions) => {
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      let run: PreflightRun;
      try {
        const { runPreflight } = await import('../../services/preflight-service');
        run = runPreflight(img, opts);
      } finally {
        img.close();
      }
      if (opts.json) {
        printJson(io, toSnakeCase({ path: image, qemu: run.qemu, schema: run.schemaFrom, command: run.plan.command.argv, ...run.result }));
      } else {
        io.out(renderPreflight(image, run));
      }
      setExit(run.result.loads ? 0 : 1);
    });
}

function renderPreflight(image: string, run: PreflightRun): string {
  const r = run.result;
  const lines = [`${image} → QEMU ${run.qemu.version} (${run.qemu.path}), -machine ${r.machine}`];
  if (r.loads) {
    lines.push('Prediction: QEMU loads it.');
    for (const n of r.notices) lines.push(`  QEMU will print (and load anyway): ${n}`);
  } else {
    lines.push('Prediction: QEMU refuses it.', `First error: ${r.firstError}`, '', 'What QEMU stumbles over, in its order (it stops at the first):');
    r.failures.forEach((f, i) => {
      const where = [f.section, f.field && `field ${f.field}`, f.offset !== undefined && `stream ${hexOffset(f.offset)}`, f.fileOffset !== undefined && f.fileOffset !== f.offset && `file ${hexOffset(f.fileOffset)}`].filter(Boolean).join(', ');
      lines.push(`  ${i + 1}. [${f.check}] ${where || f.stage}`);
      lines.push(`     ${f.reason}`);
      for (const q of f.qemuLines) lines.push(`     QEMU: ${q}`);
      lines.push(`     fix: ${f.fix}`);
    });
  }
  if (r.limits.length) lines.push('', 'Not taken into account:', ...r.limits.map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}
