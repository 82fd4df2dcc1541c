import type { Command } from 'commander';
import { defaultDatabasePath } from '../../index/database';

/** --db FILE, shared by the library commands (index, ls, find, query). */
export function withDbOption(cmd: Command): Command {
  return cmd.option('--db <file>', `library database (default: ${defaultDatabasePath()})`);
}

export function databasePath(opts: { db?: string }): string {
  return opts.db ?? defaultDatabasePath();
}
