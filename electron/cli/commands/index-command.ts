import type { Command } from 'commander';
import * as fs from 'node:fs';
import type { IndexProgress, IndexReport } from '../../index/library';
import { checkOutputs } from '../../io/output-paths';
import { toSnakeCase } from '../../../shared/util/wire';
import { printJson, type CliIO } from '../output';
import { EXIT_INTERRUPTED, interruptible } from './interruptible';
import { databasePath, withDbOption } from './library-options';
import { humanSize } from '../../../shared/util/size';

export function registerIndex(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(
    program
      .command('index')
      .description('index images into the library database: files, or folders (every image in them, recognised by content); no PATH re-indexes the library')
      .argument('[path...]', 'image files and folders'),
  )
    .option('--seal-sidecars', 'write IMAGE.migdir beside every image that had to be scanned, so the next open is instant')
    .option('--json', 'machine-readable report')
    .action(async (paths: string[], opts: { db?: string; sealSidecars?: boolean; json?: boolean }) => {
      // The database is written: never over a file being indexed.
      checkOutputs(paths.filter((p) => fs.statSync(p, { throwIfNoEntry: false })?.isFile()).map((p) => ({ path: p, role: 'an image to index' })), [{ path: databasePath(opts), role: '--db' }]);
      const { Library } = await import('../../index/library');
      const library = Library.open(databasePath(opts));
      const bar = indexProgress(io);
      let report: IndexReport;
      try {
        report = await interruptible((signal) => library.index(paths, { sealSidecars: opts.sealSidecars, signal, onProgress: bar.update }));
      } finally {
        bar.done();
        library.close();
      }
      if (opts.json) printJson(io, toSnakeCase({ database: library.file, ...report }));
      else io.out(describeReport(report, library.file));
      setExit(report.cancelled ? EXIT_INTERRUPTED : 0);
    });
}

function describeReport(r: IndexReport, db: string): string {
  const parts = [`${r.unchanged} unchanged`, `${r.notImages} not images`, `${r.unsupported} unsupported`, `${r.failed} failed`, `${r.missing} missing`];
  if (r.sidecarsWritten) parts.push(`${r.sidecarsWritten} sidecars written`);
  const head = r.cancelled ? `cancelled after indexing ${r.indexed} images; run the same command again to finish` : `indexed ${r.indexed} images`;
  return `${head} (${r.files} files: ${parts.join(', ')}) in ${(r.elapsedMs / 1000).toFixed(1)} s\ndatabase: ${db}\n`;
}

/** One status line on a terminal: percent of bytes, files, current file. */
function indexProgress(io: CliIO): { update(p: IndexProgress): void; done(): void } {
  let width = 0;
  return {
    update(p) {
      if (!io.errIsTTY || p.filesTotal === 0) return;
      const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.filesDone / p.filesTotal;
      const filled = Math.round(fraction * 24);
      const current = p.currentFile ? `  ${p.currentFile.length > 50 ? '…' + p.currentFile.slice(-49) : p.currentFile}` : '';
      const line = `indexing [${'#'.repeat(filled)}${' '.repeat(24 - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${p.filesDone}/${p.filesTotal} files, ${humanSize(p.bytesDone)} of ${humanSize(p.bytesTotal)}${current}`;
      io.err('\r' + line.padEnd(width));
      width = line.length;
    },
    done() {
      if (width) io.err('\r' + ' '.repeat(width) + '\r');
    },
  };
}
