import type { Command } from 'commander';
import type { SealResult } from '../../services/seal-image';
import { UsageError } from '../../services/user-error';
import { toSnakeCase } from '../../../shared/util/wire';
import { formatSize } from '../format';
import { printJson, type CliIO } from '../output';
import { progressBar } from '../progress';
import { EXIT_INTERRUPTED, interruptible } from './interruptible';

export function registerSeal(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('seal')
    .description('write a section directory so the image opens without a scan: appended to a copy (-o), or beside the original (--sidecar)')
    .argument('<image>', 'image file (never modified)')
    .option('-o, --output <file>', 'write a sealed copy: the stream, then the directory')
    .option('--sidecar', 'write IMAGE.migdir beside the untouched image instead')
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'machine-readable output')
    .action(async (image: string, opts: { output?: string; sidecar?: boolean; force?: boolean; json?: boolean }) => {
      if (!!opts.output === !!opts.sidecar) throw new UsageError('give either -o FILE (a sealed copy) or --sidecar (IMAGE.migdir beside the image)');
      const bar = progressBar(io, 'sealing');
      const target = opts.output ? { kind: 'copy' as const, output: opts.output, overwrite: opts.force } : { kind: 'sidecar' as const };
      let result: SealResult | 'cancelled';
      try {
        const { sealImageInWorker } = await import('../../services/seal-image');
        result = await interruptible((signal) => sealImageInWorker(image, target, { signal, onProgress: (p) => bar.update(p.done, p.total) }));
      } finally {
        bar.done();
      }
      if (result === 'cancelled') {
        io.err('migwb: sealing cancelled; nothing was written\n');
        return setExit(EXIT_INTERRUPTED);
      }
      if (opts.json) printJson(io, toSnakeCase({ image, ...result }));
      else {
        io.out(
          `${result.written}: ${result.kind === 'copy' ? `${formatSize(result.streamLength)} of stream, then` : `for ${image} (${formatSize(result.streamLength)}):`} ` +
            `a ${formatSize(result.directoryLength)} section directory of ${result.elements} elements and ${result.pageRuns} page runs\n`,
        );
      }
      setExit(0);
    });
}
