import type { Command } from 'commander';
import type { CliIO } from '../output';
import { registerApply } from './apply';
import { registerDump } from './dump';
import { registerEdit } from './edit';
import { registerExtractRam } from './extract-ram';
import { registerFind } from './find';
import { registerIndex } from './index-command';
import { registerInfo } from './info';
import { registerLs } from './ls';
import { registerQuery } from './query';
import { registerRam } from './ram';
import { registerRead } from './read';
import { registerRepair } from './repair';
import { registerSeal } from './seal';
import { registerScreen } from './screen';
import { registerSearch } from './search';
import { registerServe } from './serve';
import { registerValidate } from './validate';

/** Adds one command to the program; `setExit` records the command's exit status. */
export type CommandRegistrar = (program: Command, io: CliIO, setExit: (code: number) => void) => void;

/** Every migwb command, in the order `migwb --help` lists them. */
export const COMMANDS: readonly CommandRegistrar[] = [
  registerInfo,
  registerValidate,
  registerDump,
  registerEdit,
  registerApply,
  registerRepair,
  registerSeal,
  registerIndex,
  registerLs,
  registerFind,
  registerQuery,
  registerRam,
  registerExtractRam,
  registerRead,
  registerSearch,
  registerScreen,
  registerServe,
];
