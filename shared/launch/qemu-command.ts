import type { DeviceSpec, Finding, Placeholder, VmHardware } from './hardware';
import { qemuOptValue, shellQuote } from './shell';

/**
 * A QEMU command line that loads the stream: the hardware of hardware.ts as options, the
 * stand-ins for backends the stream cannot describe, and the incoming migration. When the
 * stream needs migration capabilities, the command starts with `-incoming defer` and the
 * capabilities are set over the monitor before `migrate_incoming`: that works for every
 * capability in QEMU 7.2 and 10.0 alike (`-global migration.x-…` does not exist for
 * x-ignore-shared in either, nor for compress in 10.0).
 */
export interface QemuCommand {
  /** The emulator: the given binary, or qemu-system-<arch> from PATH. */
  binary: string;
  /** Arguments after the binary. */
  argv: string[];
  machineType: string;
  /** Migration capabilities set before the stream is read. */
  capabilities: string[];
  incomingUri: string;
  /** The command uses -incoming defer: run `monitor` (HMP) or `qmp` once QEMU is up. */
  deferred: boolean;
  monitor: string[];
  qmp: { execute: string; arguments?: Record<string, unknown> }[];
  /** Backends that stand in for what the stream cannot describe, and the options that carry them. */
  placeholders: (Placeholder & { option: string; value: string; device: string })[];
  findings: Finding[];
}

export interface CommandOptions {
  binary?: string;
  /** A machine type other than the stream's (a compat or newer type of the target QEMU). */
  machine?: string;
  incomingUri: string;
  /** Whether the target QEMU's driver has a property (from its `-device DRIVER,help`); unknown target: undefined. */
  supports?: (driver: string, property: string) => boolean;
  /** Extra arguments before -S -incoming; replace the -monitor stdio a deferred load otherwise gets (migwb load adds its QMP socket). */
  extra?: string[];
}

export function qemuCommand(hw: VmHardware, options: CommandOptions): QemuCommand {
  const argv: string[] = [];
  const placeholders: QemuCommand['placeholders'] = [];
  const findings = [...hw.findings];
  const machineType = options.machine ?? hw.machine.type;
  const machineOptions = hw.machine.options.map((o) => `${o.name}=${qemuOptValue(o.value)}`);
  argv.push('-machine', [machineType, ...machineOptions].join(','));
  if (hw.cpus.model) argv.push('-cpu', hw.cpus.model);
  argv.push('-m', memoryOption(hw));
  argv.push('-smp', String(hw.cpus.count));
  // Only what the stream shows: no default NIC, VGA, serial, parallel, monitor or CD-ROM.
  argv.push('-nodefaults', '-display', 'none');
  for (const b of hw.memory.backends) {
    if (b.placeholder) {
      const value = `memory-backend-file,id=${b.id},size=${b.size},mem-path=${qemuOptValue(b.placeholder.standIn)},share=on`;
      argv.push('-object', value);
      placeholders.push({ ...b.placeholder, option: '-object', value, device: b.id });
    } else {
      argv.push('-object', `memory-backend-ram,id=${b.id},size=${b.size}`);
    }
  }
  for (const b of hw.memory.backends) if (b.role === 'numa-node') argv.push('-numa', `node,memdev=${b.id}`);
  for (const d of hw.devices) {
    if (!d.backend) continue;
    const [option, value] = backendOption(d.backend);
    argv.push(option, value);
    placeholders.push({ ...d.backend, option, value, device: d.id });
  }
  for (const d of hw.devices) argv.push('-device', deviceOption(d, options.supports));
  const capabilities = hw.capabilities.map((c) => c.name);
  const deferred = capabilities.length > 0;
  // A deferred load needs a monitor to set the capabilities on: the terminal's, unless the caller brings its own.
  argv.push(...(options.extra ?? (deferred ? ['-monitor', 'stdio'] : [])));
  argv.push('-S', '-incoming', deferred ? 'defer' : options.incomingUri);
  const monitor = deferred ? [...capabilities.map((c) => `migrate_set_capability ${c} on`), `migrate_incoming ${options.incomingUri}`] : [];
  const qmp = deferred
    ? [
        { execute: 'migrate-set-capabilities', arguments: { capabilities: capabilities.map((capability) => ({ capability, state: true })) } },
        { execute: 'migrate-incoming', arguments: { uri: options.incomingUri } },
      ]
    : [];
  return { binary: options.binary ?? `qemu-system-${hw.machine.arch}`, argv, machineType, capabilities, incomingUri: options.incomingUri, deferred, monitor, qmp, placeholders, findings };
}

function memoryOption(hw: VmHardware): string {
  const size = sizeText(hw.memory.size);
  return hw.memory.maxmem ? `size=${size},maxmem=${sizeText(hw.memory.maxmem)}` : size;
}

function sizeText(bytes: number): string {
  if (bytes % (1 << 30) === 0) return `${bytes / (1 << 30)}G`;
  if (bytes % (1 << 20) === 0) return `${bytes / (1 << 20)}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}K`;
  return `${bytes}B`;
}

function backendOption(p: Placeholder): [string, string] {
  switch (p.kind) {
    case 'disk':
      return ['-blockdev', p.standIn];
    case 'netdev':
      return ['-netdev', p.standIn];
    case 'chardev':
      return ['-chardev', p.standIn];
    case 'memory':
      return ['-object', p.standIn];
  }
}

export function deviceOption(d: DeviceSpec, supports?: CommandOptions['supports']): string {
  const parts = [d.driver, `id=${d.id}`];
  const a = d.address;
  if (a?.type === 'pci') parts.push(`bus=${a.bus}`, `addr=${a.slot.toString(16).padStart(2, '0')}.${a.function}`);
  if (a?.type === 'usb') parts.push(`bus=${a.bus}`, `port=${a.port}`);
  if (a?.type === 'scsi') parts.push(`bus=${a.bus}`, `channel=${a.channel}`, `scsi-id=${a.target}`, `lun=${a.lun}`);
  if (a?.type === 'virtio-serial') parts.push(`bus=${a.bus}`);
  for (const p of d.properties) if (!p.onlyWhereSupported || supports?.(d.driver, p.name)) parts.push(`${p.name}=${qemuOptValue(p.value)}`);
  return parts.join(',');
}

/** The command as a shell command, one option per line. */
export function renderShell(cmd: QemuCommand): string {
  const lines: string[] = [shellQuote(cmd.binary)];
  for (let i = 0; i < cmd.argv.length; i++) {
    const word = cmd.argv[i];
    const next = cmd.argv[i + 1];
    if (word.startsWith('-') && next !== undefined && !next.startsWith('-')) {
      lines.push(`${word} ${shellQuote(next)}`);
      i++;
    } else {
      lines.push(shellQuote(word));
    }
  }
  return lines.join(' \\\n  ');
}



/** What to do after starting QEMU, the stand-ins to replace, and what the image could not tell: lines for the CLI and the app. */
export function followUpLines(command: QemuCommand): string[] {
  const out: string[] = [];
  if (command.deferred) {
    out.push('The stream needs migration capabilities: type these in the QEMU monitor once it is up (or send the QMP commands of --json):');
    for (const m of command.monitor) out.push(`  ${m}`);
    out.push('');
  }
  if (command.placeholders.length) {
    out.push('Stand-ins for what the image cannot describe (the command runs as printed; point them at the real backends):');
    for (const p of command.placeholders) out.push(`  ${p.option} ${p.value}`, `      for ${p.device}: ${p.replaceWith}`);
    out.push('');
  }
  if (command.findings.length) {
    out.push('Notes:');
    for (const f of command.findings) out.push(`  ${f.level}: ${f.section ? `${f.section}: ` : ''}${f.message}`);
    out.push('');
  }
  return out;
}
