import * as path from 'node:path';
import { deriveHardware, UnsupportedMachineError } from '../../shared/launch/derive-hardware';
import type { VmHardware } from '../../shared/launch/hardware';
import { incomingUri, IncomingError } from '../../shared/launch/incoming';
import { qemuCommand, type QemuCommand } from '../../shared/launch/qemu-command';
import { MIGWB_LAUNCHER } from '../build-paths';
import type { OpenedImage } from './open-image';
import { machineList, resolveQemu, type QemuBinary, type QemuChoice } from './qemu-binaries';
import { UserError } from './user-error';

export interface LaunchOptions extends QemuChoice {
  /** A machine type other than the stream's. */
  machine?: string;
  /** Arguments added before -S -incoming (migwb load: its QMP socket). */
  extra?: string[];
}

export interface LaunchPlan {
  hardware: VmHardware;
  command: QemuCommand;
  /** The QEMU the command targets, when one was chosen with --qemu or --to. */
  qemu?: QemuBinary;
}

/** The hardware of an opened image and the QEMU command line that loads it. */
export function planLaunch(img: OpenedImage, options: LaunchOptions = {}): LaunchPlan {
  let hardware: VmHardware;
  try {
    hardware = deriveHardware(img.source, img.model);
  } catch (e) {
    if (e instanceof UnsupportedMachineError) throw new UserError(`${img.path}: ${e.message}`);
    throw e;
  }
  const qemu = resolveQemu(options, hardware.machine.arch);
  let uri: string;
  try {
    uri = incomingUri({
      path: path.resolve(img.path),
      layers: img.layers,
      streamBase: img.streamBase,
      mappedRam: img.model.ramBlocks.some((b) => b.mappedRam),
      migwb: [process.execPath, MIGWB_LAUNCHER],
    });
  } catch (e) {
    if (e instanceof IncomingError) throw new UserError(`${img.path}: ${e.message}`);
    throw e;
  }
  const command = qemuCommand(hardware, { binary: qemu?.path, machine: options.machine, incomingUri: uri, extra: options.extra });
  if (qemu) checkMachineKnown(command, qemu);
  return { hardware, command, qemu };
}

/** A machine type the target does not have is the first thing QEMU would refuse: say so up front. */
function checkMachineKnown(command: QemuCommand, qemu: QemuBinary): void {
  const machines = machineList(qemu);
  if (machines.types.has(command.machineType) || machines.aliases.has(command.machineType)) return;
  command.findings.unshift({
    level: 'error',
    message: `QEMU ${qemu.version} (${qemu.path}) has no machine type ${command.machineType}; it will refuse to start. Run "migwb preflight" for the closest machine type it has and the transform that makes the image load there`,
  });
}
