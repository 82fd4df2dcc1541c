import type { Command } from 'commander';
import type { CliIO } from '../output';
import { registerDump } from './dump';
import { registerExtractRam } from './extract-ram';
import { registerInfo } from './info';
import { registerRam } from './ram';
import { registerRead } from './read';
import { registerSearch } from './search';
import { registerValidate } from './validate';

/** Adds one command to the program; `setExit` records the command's exit status. */
export type CommandRegistrar = (program: Command, io: CliIO, setExit: (code: number) => void) => void;

/** Every migwb command, in the order `migwb --help` lists them. */
export const COMMANDS: readonly CommandRegistrar[] = [registerInfo, registerValidate, registerDump, registerRam, registerExtractRam, registerRead, registerSearch];
