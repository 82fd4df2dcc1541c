import type { Command } from 'commander';
import type { ImageListing } from '../../index/library';
import { UserError } from '../../services/user-error';
import { toSnakeCase } from '../../../shared/util/wire';
import { table } from '../format';
import { printJson, type CliIO } from '../output';
import { databasePath, withDbOption } from './library-options';
import { humanSize } from '../../../shared/util/size';

export function registerLs(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(program.command('ls').description('list the images in the library database'))
    .option('--all', 'also list files that are not images')
    .option('--json', 'machine-readable output')
    .option('--export <format>', 'write the rows as the app exports them, csv or json (path, wrapper, devices, problems, tags, notes, sha256…), to the file -o names')
    .option('-o, --output <file>', 'the export file (never the library or an image)')
    .action(async (opts: { db?: string; all?: boolean; json?: boolean; export?: string; output?: string }) => {
      if (opts.export !== undefined && opts.export !== 'csv' && opts.export !== 'json') throw new UserError(`--export takes csv or json, not ${JSON.stringify(opts.export)}`);
      if ((opts.export === undefined) !== (opts.output === undefined)) throw new UserError('--export FORMAT and -o FILE go together: migwb ls --export csv -o library.csv');
      const { Library } = await import('../../index/library');
      const library = Library.open(databasePath(opts), { mustExist: true });
      try {
        const images = library.list({ all: opts.all });
        if (opts.export && opts.output) {
          const { writeExport } = await import('../../index/export-rows');
          const written = await writeExport(opts.output, images, opts.export, library.file);
          io.out(`${images.length} rows written to ${written}\n`);
        } else if (opts.json) printJson(io, toSnakeCase({ database: library.file, images }));
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
