import { InvalidArgumentError, type Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { printJson, type CliIO } from '../output';
import { renderListing } from './ls';
import { databasePath, withDbOption } from './library-options';

export function registerFind(program: Command, io: CliIO, setExit: (code: number) => void): void {
  // `find --version N` is the device's section version, not migwb's own -V/--version: the
  // program's options may then only come before the command name.
  program.enablePositionalOptions();
  withDbOption(program.command('find').description('find indexed images by device, device version, machine type or diagnostics'))
    .option('--device <name>', 'a device section: its idstr, the last part of it (e1000) or its vmsd name')
    .option('--version <n>', 'the device section version (with --device)', parseCount)
    .option('--machine <type>', 'machine type, exactly or as a glob (pc-i440fx-*)')
    .option('--has-diagnostics', 'only images with errors or warnings')
    .option('--json', 'machine-readable output')
    .action(async (opts: { db?: string; device?: string; version?: number; machine?: string; hasDiagnostics?: boolean; json?: boolean }) => {
      const { Library } = await import('../../index/library');
      const library = Library.open(databasePath(opts), { mustExist: true });
      try {
        const found = library.find({ device: opts.device, version: opts.version, machine: opts.machine, hasDiagnostics: opts.hasDiagnostics });
        if (opts.json) printJson(io, toSnakeCase({ database: library.file, images: found }));
        else if (!found.length) io.out('no indexed image matches\n');
        else io.out(renderListing(found, (i) => found.find((f) => f.id === i.id)!.devices.map((d) => `${d.name} v${d.versionId}`).join(', ')) + '\n');
      } finally {
        library.close();
      }
      setExit(0);
    });
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}
