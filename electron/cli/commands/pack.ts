import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { UserError } from '../../services/user-error';
import { formatSize } from '../format';
import type { CliIO } from '../output';
import { copyWithProgress } from './interruptible';

export function registerPack(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('pack')
    .description('put the QEMU stream of an image into a chunked container (docs/chunked-container.md): a length and a CRC per section, lossless; "-" reads standard input and writes standard output, so QEMU can migrate to "exec:migwb pack - -o vm.migc"')
    .argument('<image>', 'image file (any format migwb opens), or - for a QEMU stream on standard input')
    .requiredOption('-o, --output <file>', 'the container to write, or - for standard output')
    .option('--chunk-size <bytes>', 'largest chunk of stream data, 16384 to 16777216 (default 4194304)', parseCount)
    .option('--qemu-version <version>', 'the QEMU version that wrote the stream, recorded in the header (a stream does not say)')
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot whose VM state to pack (default: the newest with one)')
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'machine-readable report (on stderr when the container goes to standard output)')
    .action(async (image: string, opts: { output: string; chunkSize?: number; qemuVersion?: string; snapshot?: string; force?: boolean; json?: boolean }) => {
      // With the container on standard output, the report goes to stderr.
      const report = opts.output === '-' ? (t: string) => io.err(t) : (t: string) => io.out(t);
      const { packImage, sourceProblems } = await import('../../services/pack-image');
      const result = await copyWithProgress(io, 'packing', setExit, (signal, onProgress) => packImage(image, opts.output, { ...opts, signal, stdin: io.stdin, stdout: io.stdout, onProgress }));
      if (!result) return;
      const problems = sourceProblems(result.sourceDiagnostics);
      if (opts.json) {
        const json = JSON.stringify(toSnakeCase({ image, output: opts.output, source_kind: result.sourceKind, stream_size: result.streamSize, container_size: result.containerSize, chunks: result.summary.chunks, origin: result.origin, splitter_notes: result.summary.notes, source_problems: problems ?? null }), null, 2);
        report(json + '\n');
      } else {
        const counts = Object.entries(result.summary.chunks).map(([t, n]) => `${n} ${t}`).join(', ');
        report(`${opts.output === '-' ? 'standard output' : opts.output}: ${formatSize(result.streamSize)} of QEMU stream in ${formatSize(result.containerSize)}: ${counts}\n`);
        report(`  stream sha256 ${result.origin.stream_sha256}\n`);
        for (const n of result.summary.notes) report(`  note: ${n.message}\n`);
        if (problems) report(`  warning: ${problems}\n`);
      }
      setExit(0);
    });
}

function parseCount(text: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new UserError(`--chunk-size takes a number of bytes, not ${JSON.stringify(text)}`);
  return n;
}
