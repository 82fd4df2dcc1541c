import type { PreflightView, QemuLaunchView, QemuTargetInfo, QemuTargetRequest } from '../../shared/api/contract';
import { followUpLines, renderShell } from '../../shared/launch/qemu-command';
import { QEMU_RELEASES } from '../../shared/transform/releases';
import { deriveHardware } from '../../shared/launch/derive-hardware';
import { runPreflight } from '../services/preflight-service';
import { resolveQemu } from '../services/qemu-binaries';
import { libvirtDomain, planLaunch } from '../services/qemu-launch';
import { UserError } from '../services/user-error';
import type { ImageSession } from './image-session';

/**
 * The backend of the app's "Load in QEMU…" panel: the command line (with its copy text),
 * the libvirt XML and the preflight verdict for a target QEMU, computed for the image file
 * on disk (unsaved edits are counted, not loaded: QEMU reads the file).
 */
export function qemuLaunchView(session: ImageSession, target: QemuTargetRequest): QemuLaunchView {
  const img = session.original;
  const plan = planLaunch(img, options(target));
  const c = plan.command;
  const domain = libvirtDomain(img, plan);
  const hw = plan.hardware;
  return {
    binary: c.binary,
    argv: c.argv,
    shell: renderShell(c),
    followUp: followUpLines(c),
    machineType: c.machineType,
    qemu: plan.qemu ? { path: plan.qemu.path, version: plan.qemu.version } : null,
    capabilities: c.capabilities,
    deferred: c.deferred,
    monitor: c.monitor,
    placeholders: c.placeholders,
    findings: c.findings,
    summary: { arch: hw.machine.arch, cpus: hw.cpus.count, cpuModel: hw.cpus.model ?? null, memoryBytes: hw.memory.size, devices: hw.devices.length },
    libvirtXml: domain.xml,
    libvirtXmlSource: domain.source,
    libvirtCheck: domain.check ?? null,
    unsavedEdits: session.unsavedEdits,
  };
}

export function qemuPreflightView(session: ImageSession, target: QemuTargetRequest): PreflightView {
  const run = runPreflight(session.original, options(target));
  return { ...run.result, qemu: { path: run.qemu.path, version: run.qemu.version }, schemaFrom: run.schemaFrom, unsavedEdits: session.unsavedEdits };
}

/** Every release the rules know, with this machine's emulator of the image's architecture when there is one. */
export function qemuTargets(session: ImageSession): QemuTargetInfo[] {
  const arch = deriveHardware(session.original.source, session.original.model).machine.arch;
  return QEMU_RELEASES.map((r) => {
    try {
      const binary = resolveQemu({ to: r.id }, arch);
      return { id: r.id, binary: binary ? { path: binary.path, version: binary.version } : null };
    } catch (e) {
      if (e instanceof UserError) return { id: r.id, binary: null };
      throw e;
    }
  });
}

function options(target: QemuTargetRequest) {
  return { to: target.to ?? undefined, qemu: target.qemu ?? undefined, machine: target.machine ?? undefined };
}
