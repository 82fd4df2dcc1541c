import { Command, CommanderError } from 'commander';
import { engineForCommandLine } from './engine-dispatch';
import { UsageError, UserError } from '../services/user-error';
import { commandsFor } from './commands';
import { printableLines } from './format';
import { processIO, type CliIO } from './output';
import { packageVersion } from '../build-paths';

/** Exit statuses: 0 success, 1 the image has errors (validate), 2 could not run. */
export const EXIT_USAGE = 2;

/**
 * migwb: every action of the workbench as a command over the same engine as the GUI.
 * Returns the exit status instead of exiting, so tests can run it in-process.
 */
export async function runCli(argv: string[], terminal: CliIO = processIO): Promise<number> {
  // Whatever a command prints, no control character from an image reaches the terminal raw.
  // (Over `terminal`, not a copy of it: a copy would read its errIsTTY getter, and so make process.stderr, now.)
  const io: CliIO = Object.create(terminal, { out: { value: (text: string) => terminal.out(printableLines(text)), enumerable: true } }) as CliIO;
  let exitCode = 0;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const program = new Command('migwb')
    .description('Migration Image Workbench: inspect, validate and decode VM migration and save images')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run "migwb --help" for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  let running = '';
  program.hook('preAction', (_program, action) => void (running = action.name()));
  try {
    // Formats with an engine of their own (Xen streams, recognised by content) serve the same commands.
    const engine = await engineForCommandLine(argv);
    if (engine) return await engine.runCli(argv, io);
    for (const command of commandsFor(argv)) (await command.load())(program, io, setExit);
    // A wrong command line points to the help of the command it was for.
    for (const command of program.commands) command.showHelpAfterError(helpPointer(command.name()));
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : EXIT_USAGE;
    }
    if (e instanceof UserError) {
      io.err(`migwb: ${e.message}\n`);
      if (e instanceof UsageError && running) io.err(`${helpPointer(running)}\n`);
      return EXIT_USAGE;
    }
    io.err(`migwb: internal error, please report it: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_USAGE;
  }
}

function helpPointer(command: string): string {
  return `(run "migwb ${command} --help" for usage)`;
}

/** Runs migwb as this process: argv in, exit status out. */
export function runAsProcess(): void {
  // `migwb dump … | head` closes our stdout early; like other Unix tools, stop quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runAsProcess();
