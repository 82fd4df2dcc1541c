import type { Command } from 'commander';
import type { ImageListing } from '../../index/library';
import { toSnakeCase } from '../../../shared/util/wire';
import { table } from '../format';
import { printJson, type CliIO } from '../output';
import { databasePath, withDbOption } from './library-options';
import { humanSize } from '../../../shared/util/size';

export function registerLs(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(program.command('ls').description('list the images in the library database'))
    .option('--all', 'also list files that are not images')
    .option('--json', 'machine-readable output')
    .action(async (opts: { db?: string; all?: boolean; json?: boolean }) => {
      const { Library } = await import('../../index/library');
      const library = Library.open(databasePath(opts), { mustExist: true });
      try {
        const images = library.list({ all: opts.all });
        if (opts.json) printJson(io, toSnakeCase({ database: library.file, images }));
        else io.out(images.length ? renderListing(images) + '\n' : `the library ${library.file} has no images yet; add some with "migwb index PATH"\n`);
      } finally {
        library.close();
      }
      setExit(0);
    });
}

/** The table ls and find print. */
export function renderListing<T extends Omit<ImageListing, 'devices'>>(images: T[], extra?: (img: T) => string): string {
  return table(
    ['PATH', 'FORMAT', 'STATUS', 'MACHINE', 'SIZE', 'ERR', 'WARN', 'OPENED', ...(extra ? ['MATCH'] : [])],
    images.map((i) => [
      i.path,
      i.format ?? '-',
      i.status,
      i.machineType ?? '-',
      humanSize(i.size),
      i.errors,
      i.warnings,
      i.openedVia ?? '-',
      ...(extra ? [extra(i)] : []),
    ]),
  );
}
