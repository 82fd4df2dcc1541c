import type { Command } from 'commander';
import type { CliIO } from '../output';

/** Adds one command to the program; `setExit` records the command's exit status. */
export type CommandRegistrar = (program: Command, io: CliIO, setExit: (code: number) => void) => void;

/** A migwb command: its name, and its module, loaded only when a command line needs it. */
export interface CommandRow {
  name: string;
  load: () => Promise<CommandRegistrar>;
}

/**
 * Every migwb command, in the order `migwb --help` lists them. A command's module (and what
 * it imports: the engine, SQLite, the repair planner...) is evaluated only when the command
 * line names it, so a command starts without the others' code.
 */
export const COMMANDS: readonly CommandRow[] = [
  { name: 'info', load: async () => (await import('./info')).registerInfo },
  { name: 'validate', load: async () => (await import('./validate')).registerValidate },
  { name: 'dump', load: async () => (await import('./dump')).registerDump },
  { name: 'diff', load: async () => (await import('./diff')).registerDiff },
  { name: 'report', load: async () => (await import('./report')).registerReport },
  { name: 'edit', load: async () => (await import('./edit')).registerEdit },
  { name: 'apply', load: async () => (await import('./apply')).registerApply },
  { name: 'repair', load: async () => (await import('./repair')).registerRepair },
  { name: 'transform', load: async () => (await import('./transform')).registerTransform },
  { name: 'seal', load: async () => (await import('./seal')).registerSeal },
  { name: 'pack', load: async () => (await import('./pack')).registerPack },
  { name: 'unpack', load: async () => (await import('./unpack')).registerUnpack },
  { name: 'chunks', load: async () => (await import('./chunks')).registerChunks },
  { name: 'index', load: async () => (await import('./index-command')).registerIndex },
  { name: 'ls', load: async () => (await import('./ls')).registerLs },
  { name: 'find', load: async () => (await import('./find')).registerFind },
  { name: 'tag', load: async () => (await import('./tag')).registerTag },
  { name: 'note', load: async () => (await import('./tag')).registerNote },
  { name: 'query', load: async () => (await import('./query')).registerQuery },
  { name: 'ram', load: async () => (await import('./ram')).registerRam },
  { name: 'extract-ram', load: async () => (await import('./extract-ram')).registerExtractRam },
  { name: 'read', load: async () => (await import('./read')).registerRead },
  { name: 'search', load: async () => (await import('./search')).registerSearch },
  { name: 'screen', load: async () => (await import('./screen')).registerScreen },
  { name: 'qemu-args', load: async () => (await import('./qemu-args')).registerQemuArgs },
  { name: 'load', load: async () => (await import('./load')).registerLoad },
  { name: 'preflight', load: async () => (await import('./preflight')).registerPreflight },
  { name: 'stream', load: async () => (await import('./stream')).registerStream },
  { name: 'serve', load: async () => (await import('./serve')).registerServe },
];

/**
 * The commands a command line needs registered: only its own when it starts with a command
 * name, none for a bare --version, and all for anything else (the help, a mistyped command
 * that commander suggests a name for).
 */
export function commandsFor(argv: readonly string[]): readonly CommandRow[] {
  const named = COMMANDS.find((c) => c.name === argv[0]);
  if (named) return [named];
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return [];
  return COMMANDS;
}
