import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from '../../electron/cli/commands';
import { migwb } from '../helpers/cli';

/**
 * The CLI loads a command's module only when the command line names it (issue 12, §7), from
 * a table of names: each name must be the command its module registers, and the help and
 * a mistyped command still see every command.
 */
describe('the command table', () => {
  it('each row loads the module that registers exactly the command it names', async () => {
    for (const row of COMMANDS) {
      const program = new Command('migwb');
      (await row.load())(program, { out: () => {}, outBytes: () => {}, err: () => {}, errIsTTY: false }, () => {});
      expect(program.commands.map((c) => c.name()), row.name).toEqual([row.name]);
    }
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
  });

  it('a command line gets its own command only; --version none; help and unknown words all', () => {
    expect(commandsFor(['info', 'x.mig']).map((c) => c.name)).toEqual(['info']);
    expect(commandsFor(['search', '--string', 'info']).map((c) => c.name)).toEqual(['search']);
    expect(commandsFor(['--version'])).toEqual([]);
    expect(commandsFor(['-V'])).toEqual([]);
    for (const argv of [[], ['--help'], ['help', 'info'], ['inf'], ['-h', 'info']]) expect(commandsFor(argv)).toBe(COMMANDS);
  });

  it('migwb --help lists every command in the table order; a mistyped command is still suggested', async () => {
    const help = await migwb('--help');
    expect(help.code).toBe(0);
    const listed = [...help.out.split('\nCommands:\n')[1].matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1]).filter((n) => n !== 'help');
    expect(listed).toEqual(COMMANDS.map((c) => c.name));
    const typo = await migwb('serch');
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/Did you mean search\?/);
    expect((await migwb('--version')).out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
