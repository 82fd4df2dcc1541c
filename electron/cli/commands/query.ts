import type { Command } from 'commander';
import { table } from '../format';
import { printJson, type CliIO } from '../output';
import { databasePath, withDbOption } from './library-options';

export function registerQuery(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(program.command('query').description('run a read-only SQL query on the library database (tables: images, sections, ram_blocks, page_runs, devices, diagnostics, xen_streams, xen_records, notes, tags, folders)'))
    .argument('<sql>', 'one SELECT statement')
    .option('--json', 'rows as JSON objects')
    .action(async (sql: string, opts: { db?: string; json?: boolean }) => {
      const { queryLibrary } = await import('../../index/library');
      const { columns, rows } = queryLibrary(databasePath(opts), sql);
      if (opts.json) printJson(io, rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))));
      else io.out(table(columns, rows.map((r) => r.map((v) => (v === null ? 'NULL' : typeof v === 'number' ? v : String(v))))) + '\n');
      setExit(0);
    });
}
