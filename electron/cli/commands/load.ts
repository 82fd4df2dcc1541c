import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { printJson, type CliIO } from '../output';
import type { LoadedVm } from '../../services/qemu-load';
import { openForCommand } from './open-with-progress';
import { followUpLines } from '../../../shared/launch/qemu-command';
import { targetOptions, type TargetFlags } from './qemu-args';

interface LoadCommandOptions extends TargetFlags {
  detach?: boolean;
  socketDir?: string;
}

/** Exit status when QEMU refused the image (2 is "could not run"). */
const REFUSED = 1;

export function registerLoad(program: Command, io: CliIO, setExit: (code: number) => void): void {
  targetOptions(
    program
      .command('load')
      .description('start QEMU paused with the image as incoming migration (the command line of qemu-args) and QMP and HMP sockets, for live inspection; exit status 1 if QEMU refuses the image')
      .argument('<image>', 'image file'),
  )
    .option('--detach', 'leave QEMU running when migwb exits (end it with "quit" on its monitor)')
    .option('--socket-dir <dir>', 'where the QMP and HMP sockets and QEMU\'s log go (default: a new temp folder)')
    .option('--json', 'machine-readable output')
    .action(async (image: string, opts: LoadCommandOptions) => {
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      let vm: LoadedVm;
      // QEMU's launcher loads only for this command.
      const { startLoad, stop } = await import('../../services/qemu-load');
      try {
        vm = await startLoad(img, opts);
      } finally {
        img.close();
      }
      if (opts.json) {
        printJson(io, toSnakeCase({ path: image, status: vm.status, runstate: vm.runstate ?? null, pid: vm.pid, binary: vm.binary, argv: vm.plan.command.argv, qmpSocket: vm.qmpSocket, hmpSocket: vm.hmpSocket, log: vm.log, errors: vm.errors, detached: !!opts.detach }));
      } else {
        io.out(renderLoad(image, vm, !!opts.detach));
      }
      if (vm.status !== 'completed') return setExit(REFUSED);
      setExit(0);
      if (opts.detach) {
        vm.qmp?.close();
        return;
      }
      await untilQemuEnds(vm, stop);
    });
}

function renderLoad(image: string, vm: LoadedVm, detach: boolean): string {
  const lines: string[] = [];
  if (vm.status !== 'completed') {
    lines.push(`QEMU (${vm.binary}) refused ${image}:`);
    for (const e of vm.errors) lines.push(`  ${e}`);
    lines.push(`(its whole output: ${vm.log}; "migwb preflight" predicts this and names the fix)`);
    return lines.join('\n') + '\n';
  }
  lines.push(`QEMU (${vm.binary}, pid ${vm.pid}) loaded ${image}: the guest is paused (${vm.runstate}).`);
  lines.push(`  QMP  ${vm.qmpSocket}`, `       e.g. socat - UNIX-CONNECT:${vm.qmpSocket}, then {"execute": "qmp_capabilities"}`);
  lines.push(`  HMP  ${vm.hmpSocket}`, `       e.g. socat - UNIX-CONNECT:${vm.hmpSocket}, then "info registers", "xp /16bx 0x100000", "info mtree -f"`);
  lines.push(`  log  ${vm.log}`);
  lines.push('"cont" runs the guest; "quit" ends QEMU.');
  lines.push(detach ? `QEMU keeps running after migwb exits; end it with "quit" on a monitor, or kill ${vm.pid}.` : 'QEMU ends with migwb: press Ctrl-C when done.');
  const followUp = followUpLines({ ...vm.plan.command, deferred: false });
  if (followUp.length) lines.push('', ...followUp);
  return lines.join('\n') + '\n';
}

/** Foreground: migwb lives as long as QEMU; Ctrl-C ends both. */
function untilQemuEnds(vm: LoadedVm, stop: typeof import('../../services/qemu-load').stop): Promise<void> {
  return new Promise((resolve) => {
    const end = () => stop(vm.child, vm.qmp);
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    vm.child.once('exit', () => {
      process.off('SIGINT', end);
      process.off('SIGTERM', end);
      vm.qmp?.close();
      resolve();
    });
  });
}
