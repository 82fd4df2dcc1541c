import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { renderCaseHtml } from '../../../shared/report/case-report';
import { toSnakeCase } from '../../../shared/util/wire';
import { writeTextAtomically } from '../../edit/journal-store';
import { checkOutputs, type NamedPath } from '../../io/output-paths';
import type { SearchPattern } from '../../memory/search';
import { buildCaseReport } from '../../services/case-report';
import { UserError } from '../../services/user-error';
import type { CliIO } from '../output';
import { packageVersion } from '../../build-paths';
import { openForCommand } from './open-with-progress';

interface ReportOptions {
  output?: string;
  json?: string;
  db?: string;
  journal?: string[];
  diff?: boolean;
  evidence?: boolean;
  string?: string[];
  hex?: string[];
}

const repeatable = (v: string, prev: string[] = []) => [...prev, v];

export function registerReport(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('the evidence report of a case: one self-contained, printable HTML file (and JSON) with every image\'s hashes, facts and diagnostics, notes, searches, diffs and journals; prints the report\'s sha256')
    .argument('<images...>', 'the images of the case (read-only)')
    .requiredOption('-o, --output <case.html>', 'the HTML report to write')
    .option('--json <case.json>', 'also write the same facts as JSON')
    .option('--db <file>', 'a library holding the images\' notes and tags')
    .option('--journal <j.json>', 'an edit journal of the case (repeatable)', repeatable)
    .option('--evidence', 'open for evidence: record each image\'s sha256 with its time in the library (--db) and flag one that changed since (exit status 1)')
    .option('--diff', 'diff every image after the first against the first')
    .option('--string <text>', 'search every image\'s guest memory for this text (repeatable)', repeatable)
    .option('--hex <bytes>', 'search every image\'s guest memory for these bytes (repeatable)', repeatable)
    .action(async (images: string[], opts: ReportOptions) => {
      const inputs: NamedPath[] = [...images.map((p) => ({ path: p, role: 'an image of the case' })), ...(opts.journal ?? []).map((p) => ({ path: p, role: '--journal' }))];
      if (opts.db) inputs.push({ path: opts.db, role: '--db' });
      const outputs: NamedPath[] = [{ path: opts.output!, role: '-o' }, ...(opts.json ? [{ path: opts.json, role: '--json' }] : [])];
      checkOutputs(inputs, outputs);
      const searches: SearchPattern[] = [...(opts.string ?? []).map((s) => ({ string: s })), ...(opts.hex ?? []).map((h) => ({ hex: h }))];
      if (opts.diff && images.length < 2) throw new UserError('--diff needs at least two images');
      const report = await buildCaseReport(images, { open: (p, o) => openForCommand(io, p, o), database: opts.db, searches, diff: opts.diff, journals: opts.journal, evidence: opts.evidence, toolVersion: packageVersion() });
      const written: [string, string][] = [[opts.output!, renderCaseHtml(report)]];
      if (opts.json) written.push([opts.json, JSON.stringify(toSnakeCase(report), null, 2) + '\n']);
      for (const [file, text] of written) {
        await writeTextAtomically(file, text, inputs);
        // The report's own hash, so its integrity can be checked later (sha256sum -c).
        io.out(`${createHash('sha256').update(text, 'utf8').digest('hex')}  ${file}\n`);
      }
      const problems = report.images.flatMap((i) => i.evidenceProblems.map((p) => `${i.path}: ${p}`));
      for (const p of problems) io.err(`migwb: ${p}\n`);
      setExit(problems.length ? 1 : 0);
    });
}
