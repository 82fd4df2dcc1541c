import * as path from 'node:path';
import { deriveHardware, UnsupportedMachineError } from '../../shared/launch/derive-hardware';
import type { Finding, VmHardware } from '../../shared/launch/hardware';
import { checkDomainXml, domainXml } from '../../shared/launch/libvirt-domain';
import { incomingUri, IncomingError } from '../../shared/launch/incoming';
import { qemuCommand, type QemuCommand } from '../../shared/launch/qemu-command';
import { MIGWB_LAUNCHER } from '../build-paths';
import type { OpenedImage } from './open-image';
import { deviceCatalog, machineList, resolveQemu, type QemuBinary, type QemuChoice } from './qemu-binaries';
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
  const catalog = qemu && deviceCatalog(qemu);
  const supports = catalog ? (driver: string, name: string) => catalog.properties(driver)?.has(name) ?? false : undefined;
  const command = qemuCommand(hardware, { binary: qemu?.path, machine: options.machine, incomingUri: uri, extra: options.extra, supports });
  if (qemu) checkMachineKnown(command, qemu);
  return { hardware, command, qemu };
}

export interface LibvirtDomain {
  /** The domain XML: a libvirt save's own, else rebuilt from the stream. */
  xml: string;
  source: 'embedded' | 'rebuilt';
  /** For a libvirt save: its XML against the stream. */
  check?: { agree: number; findings: Finding[] };
}

/** The libvirt view of an image: a save's own domain XML (checked against its stream), or one rebuilt from the stream. */
export function libvirtDomain(img: OpenedImage, plan: LaunchPlan): LibvirtDomain {
  const save = img.layers.find((l) => l.kind === 'libvirt-save');
  if (save?.kind === 'libvirt-save' && save.xml) return { xml: save.xml.text.endsWith('\n') ? save.xml.text : save.xml.text + '\n', source: 'embedded', check: checkDomainXml(save.xml.text, plan.hardware) };
  const name = `migwb-${path.basename(img.path).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.+-]/g, '_')}`;
  return { xml: domainXml(plan.hardware, { name, emulator: plan.qemu?.path }), source: 'rebuilt' };
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
