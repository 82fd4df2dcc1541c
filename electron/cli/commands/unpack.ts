import type { Command } from 'commander';
import { countBySeverity } from '../../../shared/diagnostics';
import { toSnakeCase } from '../../../shared/util/wire';
import { formatSize, hexOffset } from '../format';
import type { CliIO } from '../output';
import { copyWithProgress } from './interruptible';

export function registerUnpack(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('unpack')
    .description('write the QEMU stream of a chunked container, byte for byte, checking every CRC; a damaged or unknown critical chunk stops it (exit 1); "-" reads standard input and writes standard output, so QEMU can load with -incoming "exec:migwb unpack vm.migc -o -"')
    .argument('<container>', 'chunked container, or - for standard input')
    .requiredOption('-o, --output <file>', 'the stream to write (OUT.mig), or - for standard output')
    .option('--force', 'write damaged chunks and skip unknown critical ones instead of stopping; replace the output file if it exists')
    .option('--json', 'machine-readable report (on stderr)')
    .action(async (container: string, opts: { output: string; force?: boolean; json?: boolean }) => {
      const report = opts.output === '-' ? (t: string) => io.err(t) : (t: string) => io.out(t);
      const { unpackImage } = await import('../../services/unpack-image');
      const result = await copyWithProgress(io, 'unpacking', setExit, (signal, onProgress) => unpackImage(container, opts.output, { force: opts.force, overwrite: opts.force, signal, stdin: io.stdin, stdout: io.stdout, onProgress }));
      if (!result) return;
      const counts = countBySeverity(result.diagnostics);
      if (opts.json) {
        io.err(JSON.stringify(toSnakeCase({ container, output: opts.output, written: result.written, complete: result.complete, stream_size: result.streamSize, chunks: result.chunks, counts, stopped_by: result.stoppedBy ?? null, diagnostics: result.diagnostics }), null, 2) + '\n');
      } else {
        if (result.stoppedBy) {
          io.err(`migwb: ${container}: stopped at ${hexOffset(result.stoppedBy.offset)}: ${result.stoppedBy.message}\n`);
          io.err(
            result.written
              ? `  ${formatSize(result.streamSize)} of stream were written before it${opts.force ? '' : ' (standard output cannot take them back)'}\n`
              : `  nothing was written to ${opts.output}; "migwb validate ${container}" shows every problem, --force writes the stream anyway\n`,
          );
        }
        for (const d of result.diagnostics.filter((x) => x !== result.stoppedBy && x.severity !== 'info')) io.err(`  ${d.severity} ${hexOffset(d.offset)}: ${d.message}\n`);
        if (result.written && !result.stoppedBy) report(`${opts.output === '-' ? 'standard output' : opts.output}: ${formatSize(result.streamSize)} of QEMU stream from ${result.chunks} chunks${counts.error ? `, ${counts.error} errors` : ', every CRC right'}\n`);
      }
      setExit(counts.error > 0 ? 1 : 0);
    });
}
