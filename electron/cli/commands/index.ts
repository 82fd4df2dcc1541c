import type { Command } from 'commander';
import type { CliIO } from '../output';
import { registerApply } from './apply';
import { registerChunks } from './chunks';
import { registerDiff } from './diff';
import { registerDump } from './dump';
import { registerEdit } from './edit';
import { registerExtractRam } from './extract-ram';
import { registerFind } from './find';
import { registerIndex } from './index-command';
import { registerInfo } from './info';
import { registerLoad } from './load';
import { registerLs } from './ls';
import { registerPreflight } from './preflight';
import { registerQemuArgs } from './qemu-args';
import { registerPack } from './pack';
import { registerQuery } from './query';
import { registerRam } from './ram';
import { registerRead } from './read';
import { registerRepair } from './repair';
import { registerReport } from './report';
import { registerSeal } from './seal';
import { registerScreen } from './screen';
import { registerSearch } from './search';
import { registerServe } from './serve';
import { registerStream } from './stream';
import { registerTransform } from './transform';
import { registerUnpack } from './unpack';
import { registerNote, registerTag } from './tag';
import { registerValidate } from './validate';

/** Adds one command to the program; `setExit` records the command's exit status. */
export type CommandRegistrar = (program: Command, io: CliIO, setExit: (code: number) => void) => void;

/** Every migwb command, in the order `migwb --help` lists them. */
export const COMMANDS: readonly CommandRegistrar[] = [
  registerInfo,
  registerValidate,
  registerDump,
  registerDiff,
  registerReport,
  registerEdit,
  registerApply,
  registerRepair,
  registerTransform,
  registerSeal,
  registerPack,
  registerUnpack,
  registerChunks,
  registerIndex,
  registerLs,
  registerFind,
  registerTag,
  registerNote,
  registerQuery,
  registerRam,
  registerExtractRam,
  registerRead,
  registerSearch,
  registerScreen,
  registerQemuArgs,
  registerLoad,
  registerPreflight,
  registerStream,
  registerServe,
];
