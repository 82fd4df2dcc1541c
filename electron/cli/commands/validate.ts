import type { Command } from 'commander';
import { countBySeverity } from '../../../shared/diagnostics';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexOffset, printable, severityCounts } from '../format';
import { printJson, type CliIO } from '../output';
import { placedDiagnostics } from '../../services/image-diagnostics';
import { openForCommand } from './open-with-progress';
import { recordForEvidence, withEvidenceOption, type EvidenceOptions } from './evidence-option';


export function registerValidate(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withEvidenceOption(
    program
      .command('validate')
    .description('check an image and list every problem with its file offset; exit status 0: no errors, 1: errors, 2: could not run')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
      .option('--snapshot <name|id>', 'qcow2: the internal snapshot to check (default: the newest with a VM state)'),
  ).action(async (image: string, opts: { json?: boolean; snapshot?: string } & EvidenceOptions) => {
      const evidence = await recordForEvidence(io, [image], opts);
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      // A file that changed since it was opened for evidence is a problem of the whole file, listed first.
      const diags = [...evidence.map((d) => ({ ...d, offsetSpace: 'file' as const })), ...placedDiagnostics(img)];
      img.close();
      const counts = countBySeverity(diags);
      if (opts.json) {
        printJson(io, { path: image, format: img.kind, valid: counts.error === 0, counts, diagnostics: toSnakeCase(diags) });
      } else if (diags.length === 0) {
        io.out(`${image}: no problems found\n`);
      } else {
        io.out(`${image}: ${severityCounts(counts)}\n`);
        for (const d of diags) {
          const where = d.offsetSpace === 'file' ? hexOffset(d.offset) : `${d.offsetSpace} ${hexOffset(d.offset)}`;
          io.out(`${d.severity.padEnd(7)} ${where}  ${d.section ? printable(d.section) + ': ' : ''}${printable(d.message)}\n`);
          io.out(`        expected ${printable(d.expected)}; found ${printable(d.found)}\n`);
          if (d.hint) io.out(`        ${printable(d.hint)}\n`);
        }
      }
      setExit(counts.error > 0 ? 1 : 0);
    });
}
