import type { Command } from 'commander';
import { followUpLines, renderShell } from '../../../shared/launch/qemu-command';
import { shellCommand } from '../../../shared/launch/shell';
import { toSnakeCase } from '../../../shared/util/wire';
import { formatSize } from '../format';
import { printJson, type CliIO } from '../output';
import type { LaunchPlan, LibvirtDomain } from '../../services/qemu-launch';
import { openForCommand } from './open-with-progress';

/** The flags targetOptions adds. */
export interface TargetFlags {
  qemu?: string;
  to?: string;
  machine?: string;
  snapshot?: string;
  json?: boolean;
}

interface QemuArgsOptions extends TargetFlags {
  libvirt?: boolean;
}

/** --qemu/--to/--machine, shared by qemu-args, load and preflight. */
export function targetOptions(command: Command): Command {
  return command
    .option('--qemu <binary>', 'the QEMU emulator to target (its version decides what it can load)')
    .option('--to <version>', 'the QEMU version to target: qemu-7.2 or qemu-10.0 (its qemu-system-<arch> is looked up)')
    .option('--machine <type>', "a machine type other than the image's (a compat or newer type of the target QEMU)")
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot to load (default: the newest with a VM state)');
}

export function registerQemuArgs(program: Command, io: CliIO, setExit: (code: number) => void): void {
  targetOptions(
    program
      .command('qemu-args')
      .description('the QEMU command line that loads an image, rebuilt from the image alone: machine, RAM, CPUs, every device with its PCI address and properties, capabilities; disks and networks the image cannot describe as marked stand-ins')
      .argument('<image>', 'image file'),
  )
    .option('--json', 'machine-readable output, with the evidence for every value')
    .option('--libvirt', 'a libvirt domain XML instead (for a libvirt save: its own XML, checked against the stream)')
    .action(async (image: string, opts: QemuArgsOptions) => {
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      try {
        const { libvirtDomain, planLaunch } = await import('../../services/qemu-launch');
        const plan = planLaunch(img, opts);
        if (opts.libvirt) {
          const domain = libvirtDomain(img, plan);
          if (opts.json) printJson(io, { path: image, ...(toSnakeCase(domain) as object) });
          else {
            io.out(domain.xml);
            if (domain.check) io.err(renderCheck(domain.check));
          }
        } else if (opts.json) printJson(io, { path: image, ...(toSnakeCase(commandJson(plan)) as object) });
        else io.out(renderPlan(image, plan));
      } finally {
        img.close();
      }
      setExit(0);
    });
}

function renderCheck(check: NonNullable<LibvirtDomain['check']>): string {
  const lines = [`migwb: the embedded domain XML checked against the stream: ${check.agree} facts agree, ${check.findings.length} disagree`];
  for (const f of check.findings) lines.push(`migwb: ${f.level}: ${f.message}`);
  return lines.join('\n') + '\n';
}

export function commandJson(plan: LaunchPlan): Record<string, unknown> {
  const c = plan.command;
  return {
    binary: c.binary,
    argv: c.argv,
    command: shellCommand([c.binary, ...c.argv]),
    machineType: c.machineType,
    qemu: plan.qemu ?? null,
    capabilities: c.capabilities,
    incomingUri: c.incomingUri,
    deferred: c.deferred,
    monitor: c.monitor,
    qmp: c.qmp,
    placeholders: c.placeholders,
    findings: c.findings,
    hardware: plan.hardware,
  };
}

export function renderPlan(image: string, plan: LaunchPlan): string {
  const { hardware: hw, command } = plan;
  const out: string[] = [];
  const cpu = `${hw.cpus.count} vCPU${hw.cpus.count === 1 ? '' : 's'}${hw.cpus.model ? ` (${hw.cpus.model})` : ''}`;
  out.push(`# ${image}: ${command.machineType}${hw.machine.inferred ? ' (inferred)' : ''}, ${hw.machine.arch}, ${cpu}, ${formatSize(hw.memory.size).split(' (')[0]} RAM, ${hw.devices.length} device${hw.devices.length === 1 ? '' : 's'}`);
  out.push(renderShell(command), '');
  out.push(...followUpLines(command));
  return out.join('\n') + '\n';
}
