import type { ByteSource } from '../io/byte-source';
import { machineFamily } from '../memory/layout';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { armArch, deriveCpus } from './cpu-model';
import { deviceRule, virtioMemState, virtioSerialPorts, type DeviceRule } from './device-rules';
import { property, type DeviceProperty, type DeviceSpec, type Finding, type MachineFamilyName, type MachineSpec, type MemoryBackendSpec, type MemorySpec, type TargetArch, type VmHardware } from './hardware';
import { familyRule, isBoardBlock, isBuiltinSection, PC_BIOS_BY_SIZE, type MachineFamilyRule } from './machine-rules';
import { SectionFacts } from './section-facts';

export class UnsupportedMachineError extends Error {}

/**
 * The virtual hardware of a stream (see hardware.ts), from the stream alone: the
 * configuration section, the RAM block list, the device sections' idstrs and fields.
 * Throws UnsupportedMachineError for machines no row of machine-rules.ts describes.
 */
export function deriveHardware(source: ByteSource, model: QemuStreamModel): VmHardware {
  const family = familyOf(model);
  const rule = familyRule(family);
  const sections = model.elements.filter((e) => e.type === 'FULL' && e.idstr).map((e) => new SectionFacts(source, model, e));
  const findings: Finding[] = [];
  const cpuSections = sections.filter((s) => s.idstr === 'cpu');
  const arch = archOf(rule, cpuSections[0]);
  const machine = deriveMachine(model, rule, arch, sections, findings);
  const devices = new DeviceBuilder(rule, findings);
  for (const s of sections) if (!isBuiltinSection(rule, s.idstr) && !(s.name === 'PCIBUS' && s.path === '')) devices.add(s);
  devices.finish();
  const memory = deriveMemory(model, rule, machine, devices.claimedBlocks, findings);
  memory.backends.push(...devices.memoryBackends);
  if (devices.deviceMemory) memory.maxmem = memory.size + devices.deviceMemory;
  return {
    machine,
    memory,
    cpus: deriveCpus(cpuSections, arch, findings),
    devices: devices.list,
    capabilities: deriveCapabilities(model),
    findings,
  };
}

function familyOf(model: QemuStreamModel): MachineFamilyName {
  const f = machineFamily(model);
  if (f === 'pc' || f === 'q35' || f === 'arm-virt' || f === 'riscv-virt') return f;
  throw new UnsupportedMachineError(
    `the machine of this stream (${model.machineType ?? 'no machine type recorded'}) is not one qemu-args can rebuild yet; it knows pc (i440fx), q35, ARM virt and RISC-V virt machines`,
  );
}

function archOf(rule: MachineFamilyRule, cpu: SectionFacts | undefined): TargetArch {
  if (!cpu) return rule.arch[0];
  switch (rule.family) {
    case 'pc':
    case 'q35':
      // x86_64 saves 16 general registers, i386 8 (target/i386/machine.c CPU_NB_REGS).
      return cpu.field('env.regs')?.children?.length === 8 ? 'i386' : 'x86_64';
    case 'arm-virt':
      return armArch(cpu);
    case 'riscv-virt':
      return cpu.field('env.gpr[0]')?.size === 4 ? 'riscv32' : 'riscv64';
  }
}

function deriveMachine(model: QemuStreamModel, rule: MachineFamilyRule, arch: TargetArch, sections: SectionFacts[], findings: Finding[]): MachineSpec {
  const present = new Set(sections.map((s) => s.idstr));
  const options: MachineSpec['options'] = [];
  for (const sw of rule.switchable) {
    if (sw.sections.every((s) => !present.has(s))) options.push({ name: sw.option, value: sw.value, evidence: { says: sw.why } });
  }
  for (const imp of rule.implied ?? []) {
    const s = sections.find((x) => imp.section.test(x.idstr));
    if (s) options.push({ name: imp.option, value: imp.value, evidence: s.here(imp.why) });
  }
  const config = model.configuration;
  if (model.machineType) {
    return { family: rule.family, arch, type: model.machineType, options, evidence: { section: 'configuration', offset: config?.offset, says: `machine type ${model.machineType} in the configuration section` } };
  }
  // No configuration section: machine types up to 2.3 (hw_compat_2_3: send-configuration=off,
  // send-section-footer=off); those up to 2.2 also suppress the vmdesc.
  const version = model.vmdesc ? '2.3' : '2.2';
  const prefix = rule.family === 'q35' ? 'pc-q35' : rule.family === 'pc' ? 'pc-i440fx' : undefined;
  if (!prefix || model.sectionFooters) {
    findings.push({ level: 'error', message: 'the stream has no configuration section, so its machine type is unknown; pass the machine with --machine' });
    return { family: rule.family, arch, type: rule.alias, inferred: 'no configuration section', options, evidence: { says: 'no configuration section; the family is known from its devices' } };
  }
  const type = `${prefix}-${version}`;
  const why = model.vmdesc
    ? 'no configuration section and no section footers (machine types up to 2.3), but a vmdesc (2.3 on): pc 2.3'
    : 'no configuration section, no section footers and no vmdesc: a machine type of 2.2 or older (2.2 assumed)';
  return { family: rule.family, arch, type, inferred: why, options, evidence: { says: why } };
}

function deriveMemory(model: QemuStreamModel, rule: MachineFamilyRule, machine: MachineSpec, claimed: ReadonlySet<string>, findings: Finding[]): MemorySpec {
  const backends: MemoryBackendSpec[] = [];
  const shared = model.capabilities.includes('x-ignore-shared');
  let size = 0;
  const main = model.ramBlocks.find((b) => b.id === rule.ramBlock);
  if (main) size = main.usedLength;
  for (const b of model.ramBlocks) {
    if (isBoardBlock(rule, b.id) || b.id.includes('/') || claimed.has(b.id)) continue;
    // A block no board or device owns is a memory backend object (-object memory-backend-*,id=NAME).
    const sent = !model.pages.resolvedRanges(model.ramBlocks.indexOf(b)).next().done;
    const isShared = shared && !sent;
    backends.push({
      id: b.id,
      size: b.usedLength,
      kind: isShared ? 'file' : 'ram',
      role: 'machine',
      placeholder: isShared
        ? { kind: 'memory', id: b.id, standIn: `/dev/shm/${b.id}`, replaceWith: `the shared memory file of backend ${b.id}: with x-ignore-shared its pages are not in the stream` }
        : undefined,
      evidence: { section: 'ram', offset: b.recordOffset, says: `RAM block ${b.id} (${b.usedLength} bytes) is no board's and no device's: a memory backend` },
    });
    size += b.usedLength;
  }
  if (!main && backends.length === 1) machine.options.push({ name: 'memory-backend', value: backends[0].id, evidence: backends[0].evidence });
  if (!main && backends.length > 1) {
    for (const b of backends) b.role = 'numa-node';
    findings.push({ level: 'info', message: `RAM is split over ${backends.length} memory backends (NUMA nodes); the stream does not record which node each belongs to, so they are given to nodes 0-${backends.length - 1} in block order` });
  }
  if (!main && backends.length === 0) findings.push({ level: 'error', message: `the stream has no ${rule.ramBlock} RAM block and no memory backend block: its RAM size is unknown` });
  if (machine.family === 'pc' || machine.family === 'q35') checkBios(model, findings);
  return {
    size,
    backends,
    evidence: main ? { section: 'ram', offset: main.recordOffset, says: `RAM block ${main.id} is ${main.usedLength} bytes` } : { section: 'ram', says: 'the sum of the memory backends' },
  };
}

function checkBios(model: QemuStreamModel, findings: Finding[]): void {
  const bios = model.ramBlocks.find((b) => b.id === 'pc.bios');
  if (bios && PC_BIOS_BY_SIZE[bios.usedLength] === undefined) {
    findings.push({ level: 'warning', section: 'ram', offset: bios.recordOffset, message: `pc.bios is ${bios.usedLength} bytes; pass -bios with a firmware file of exactly that size (QEMU cannot resize it)` });
  }
}

/**
 * Capabilities the destination must have on: those the configuration section lists (QEMU
 * refuses the stream otherwise: "Capability x is off, but received capability is on") and
 * compress, which 7.2 needs for COMPRESS_PAGE records ("Received an unexpected compressed page").
 */
function deriveCapabilities(model: QemuStreamModel): VmHardware['capabilities'] {
  const out: VmHardware['capabilities'] = model.capabilities.map((name) => ({ name, evidence: { section: 'configuration', offset: model.configuration?.offset, says: `capability ${name} in the configuration section` } }));
  const compressed = model.elements.find((e) => (e.pages?.compress ?? 0) > 0);
  if (compressed && !out.some((c) => c.name === 'compress')) out.push({ name: 'compress', evidence: { section: 'ram', offset: compressed.offset, says: `${compressed.pages!.compress} COMPRESS_PAGE records` } });
  return out;
}

const ISA_DEVICES: Readonly<Record<string, { driver: string; kind: 'serial' | 'parallel'; prefix: string }>> = {
  serial: { driver: 'isa-serial', kind: 'serial', prefix: 'serial' },
  parallel_isa: { driver: 'isa-parallel', kind: 'parallel', prefix: 'parallel' },
};

/** Turns device sections into -device specs, with buses resolved across bridges and controllers. */
class DeviceBuilder {
  readonly list: DeviceSpec[] = [];
  private readonly byPath = new Map<string, DeviceSpec>();
  private readonly counters = new Map<string, number>();
  private readonly memoryDevices: { facts: SectionFacts; spec: DeviceSpec }[] = [];

  constructor(
    private readonly rule: MachineFamilyRule,
    private readonly findings: Finding[],
  ) {}

  private nextId(prefix: string): string {
    const n = this.counters.get(prefix) ?? 0;
    this.counters.set(prefix, n + 1);
    return `${prefix}${n}`;
  }

  /** Wires a device to the backend its rule stands in with. */
  private attachBackend(s: SectionFacts, rule: DeviceRule, spec: DeviceSpec): void {
    if (!rule.backend) return;
    const b = rule.backend(s, `${spec.id}-backend`, (this.counters.get(rule.idPrefix) ?? 1) - 1);
    spec.backend = { kind: b.kind, id: b.id, standIn: b.standIn, replaceWith: b.replaceWith };
    spec.properties.push(property(b.property, b.id, { says: 'the stand-in backend below' }));
  }

  add(s: SectionFacts): void {
    if (s.idstr === 'slirp') return void this.slirp.push(s);
    const isa = ISA_DEVICES[s.idstr];
    if (isa) return this.addIsa(s, isa);
    const rule = deviceRule(s.name);
    if (!rule) {
      this.findings.push({
        level: 'error',
        section: s.idstr,
        offset: s.element.offset,
        message: `no rule knows which device saves section ${s.idstr}; QEMU will reject the stream ("Unknown savevm section or instance '${s.idstr}' ${s.instance}") unless you add that device by hand`,
      });
      return;
    }
    if (rule.section !== s.name) return this.addCompanion(s, rule);
    if (rule.bus === 'pci') this.addPci(s, rule);
    else if (rule.bus === 'usb') this.addChild(s, rule, 'usb');
    else this.addChild(s, rule, 'scsi');
  }

  private addIsa(s: SectionFacts, isa: (typeof ISA_DEVICES)[string]): void {
    const id = this.nextId(isa.prefix);
    this.list.push({
      id,
      driver: isa.driver,
      kind: isa.kind,
      sections: [s.idstr],
      address: { type: 'isa', index: s.instance },
      properties: [property('index', s.instance, s.here(`instance ${s.instance}: the ${ordinal(s.instance)} ${isa.kind} port`)), property('chardev', `${id}-host`, { says: 'the stand-in backend below' })],
      backend: { kind: 'chardev', id: `${id}-host`, standIn: `null,id=${id}-host`, replaceWith: `where ${isa.kind} port ${s.instance}'s output should go (file,path=…, stdio, a socket); the stand-in discards it` },
    });
  }

  private addCompanion(s: SectionFacts, rule: DeviceRule): void {
    const owner = this.byPath.get(s.pciPath ?? s.path);
    if (owner && owner.driver === rule.driver(s)) {
      owner.sections.push(s.idstr);
      this.companions.set(owner, [...(this.companions.get(owner) ?? []), s]);
    } else {
      this.pending.push(s);
    }
  }

  private readonly companions = new Map<DeviceSpec, SectionFacts[]>();

  /** Companion sections saved before their device (early_setup sections come first in the stream). */
  private readonly pending: SectionFacts[] = [];

  private addPci(s: SectionFacts, rule: DeviceRule): void {
    const path = s.pciPath;
    if (!path) {
      this.findings.push({ level: 'error', section: s.idstr, offset: s.element.offset, message: `section ${s.idstr} is a PCI device's, but its idstr has no PCI address` });
      return;
    }
    const id = this.nextId(rule.idPrefix);
    const [slot, fn] = path.slice(path.lastIndexOf(':') + 1).split('.').map((x) => parseInt(x, 16));
    const parentPath = path.split(':').length > 3 ? path.slice(0, path.lastIndexOf(':')) : undefined;
    const parent = parentPath ? this.byPath.get(parentPath) : undefined;
    if (parentPath && !parent?.providesBus) {
      this.findings.push({ level: 'error', section: s.idstr, offset: s.element.offset, message: `${s.idstr} sits behind the bridge at ${parentPath}, which the stream does not describe` });
    }
    const spec: DeviceSpec = {
      id,
      driver: rule.driver(s),
      kind: rule.kind,
      sections: [s.idstr],
      address: { type: 'pci', bus: parent?.providesBus ?? this.rootBus(), slot, function: fn, path },
      properties: [],
      providesBus: rule.providesBus?.(id),
    };
    const pci = s.pci;
    if (pci?.multifunction) spec.properties.push(property('multifunction', true, s.here('header type has the multi-function bit')));
    if (pci?.msixVectors !== undefined) {
      // Devices whose MSI-X table size is a property (virtio-pci) need it; others (e1000e, xhci) have a fixed table.
      const vectors = property('vectors', pci.msixVectors, s.here(`MSI-X table size ${pci.msixVectors} in the PCI config (a capability byte the loader compares)`));
      spec.properties.push(rule.vectorsProperty ? vectors : { ...vectors, onlyWhereSupported: true });
    } else if (pci) {
      // Newer machine types give some devices MSI-X (virtio-balloon-pci: hw_compat_9_2 vectors=0); the stream's has none.
      spec.properties.push({ ...property('vectors', 0, s.here('no MSI-X capability in the PCI config (the loader compares capability bytes)')), onlyWhereSupported: true });
    }
    spec.properties.push(...pcieCompatProperties(s), ...(rule.properties?.(s) ?? []));
    this.romProperties(s, rule, spec);
    for (const block of s.ownBlocks(rule.globalBlocks).values()) this.claimedBlocks.add(block.id);
    if (rule.section === 'pcie-root-port') spec.properties.push(property('chassis', this.list.filter((d) => d.driver === 'pcie-root-port').length + 1, { says: 'not in the stream; any chassis number unique per root port will do' }));
    this.attachBackend(s, rule, spec);
    this.list.push(spec);
    this.byPath.set(path, spec);
    if (rule.section === 'virtio-console') this.addSerialPorts(s, spec);
    if (rule.kind === 'memory') this.memoryDevices.push({ facts: s, spec });
    for (const p of this.pending.splice(0)) this.addCompanion(p, deviceRule(p.name)!);
  }

  private rootBus(): string {
    return this.rule.family === 'pc' ? 'pci.0' : 'pcie.0';
  }

  /**
   * Option ROMs are RAM blocks "<path>/<name>.rom" whose size must match exactly ("Length
   * mismatch" otherwise; ROMs are not resizable), so the size is pinned with romsize; a
   * device that normally has a ROM but none in the stream was started with romfile="".
   */
  private romProperties(s: SectionFacts, rule: DeviceRule, spec: DeviceSpec): void {
    const rom = [...s.ownBlocks()].find(([name]) => name.endsWith('.rom'));
    if (rom) {
      const [name, block] = rom;
      spec.properties.push(property('romsize', block.usedLength, { section: 'ram', offset: block.recordOffset, says: `RAM block ${s.pciPath}/${name} is ${block.usedLength} bytes (ROM blocks are not resizable)` }));
    } else if (typeof rule.defaultRom === 'function' ? rule.defaultRom(spec.driver) : rule.defaultRom) {
      spec.properties.push(property('romfile', '', { section: 'ram', says: `no ${s.pciPath}/*.rom RAM block: the device ran without an option ROM` }));
    }
  }

  private addChild(s: SectionFacts, rule: DeviceRule, bus: 'usb' | 'scsi'): void {
    // USB: "<controller path>/<port>"; SCSI: "<controller path>/<channel>:<target>:<lun>".
    const slash = s.path.lastIndexOf('/');
    const controller = this.byPath.get(s.path.slice(0, slash));
    const where = s.path.slice(slash + 1);
    if (!controller?.providesBus || slash < 0) {
      this.findings.push({ level: 'error', section: s.idstr, offset: s.element.offset, message: `${s.idstr}: its ${bus.toUpperCase()} controller ${s.path.slice(0, slash)} is not in the stream` });
      return;
    }
    const id = this.nextId(rule.idPrefix);
    const spec: DeviceSpec = { id, driver: rule.driver(s), kind: rule.kind, sections: [s.idstr], properties: [] };
    if (bus === 'usb') {
      spec.address = { type: 'usb', bus: controller.providesBus, port: where };
    } else {
      const [channel, target, lun] = where.split(':').map(Number);
      spec.address = { type: 'scsi', bus: controller.providesBus, channel, target, lun };
    }
    spec.properties.push(...(rule.properties?.(s) ?? []));
    this.attachBackend(s, rule, spec);
    this.list.push(spec);
  }

  /** virtio-serial ports: the loader fails on a saved port id it does not have ("Can't find port id"). */
  private addSerialPorts(s: SectionFacts, controller: DeviceSpec): void {
    const ports = virtioSerialPorts(s);
    if (!ports) {
      this.findings.push({ level: 'warning', section: s.idstr, offset: s.element.offset, message: `the ports of ${s.idstr} could not be read; add its virtserialport devices by hand` });
      return;
    }
    for (const nr of ports.ports) {
      const id = this.nextId('channel');
      this.list.push({
        id,
        driver: nr === 0 ? 'virtconsole' : 'virtserialport',
        kind: 'virtio-serial',
        sections: [s.idstr],
        address: { type: 'virtio-serial', bus: controller.providesBus!, nr },
        properties: [property('nr', nr, s.here(`port ${nr} is active in the saved port list`)), property('chardev', `${id}-host`, { says: 'the stand-in backend below' })],
        backend: { kind: 'chardev', id: `${id}-host`, standIn: `null,id=${id}-host`, replaceWith: `the host end of port ${nr} (its name is not in the stream: a libvirt domain XML has it, e.g. com.redhat.spice.0 with a spicevmc chardev)` },
      });
    }
  }

  /** RAM blocks devices own (not memory backends). */
  readonly claimedBlocks = new Set<string>();

  /** User-mode networks (net/slirp.c registers a "slirp" section per -netdev user). */
  private readonly slirp: SectionFacts[] = [];

  /** Device memory the machine needs above RAM (-m maxmem), and the memory devices' backends. */
  deviceMemory = 0;
  readonly memoryBackends: MemoryBackendSpec[] = [];

  finish(): void {
    for (const p of this.pending) {
      this.findings.push({ level: 'error', section: p.idstr, offset: p.element.offset, message: `section ${p.idstr} belongs to a device the stream does not save` });
    }
    for (const { facts, spec } of this.memoryDevices) this.describeMemoryDevice(facts, spec);
    this.wireUserNetworks();
  }

  /**
   * The stream does not say which NIC a slirp instance served; with as many NICs as
   * slirp sections (the usual one and one) they are paired in order.
   */
  private wireUserNetworks(): void {
    const nics = this.list.filter((d) => d.kind === 'nic' && d.backend);
    if (this.slirp.length && nics.length !== this.slirp.length) {
      this.findings.push({ level: 'warning', section: 'slirp', message: `${this.slirp.length} user-mode networks (slirp sections) for ${nics.length} NICs: they are paired in order; check which NIC had which -netdev user` });
    }
    this.slirp.forEach((s, i) => {
      const nic = nics[i];
      if (!nic?.backend) {
        this.findings.push({ level: 'error', section: s.idstr, offset: s.element.offset, message: `slirp instance ${s.instance} has no NIC to belong to; QEMU will reject the stream without a -netdev user` });
        return;
      }
      nic.backend = {
        ...nic.backend,
        standIn: `user,id=${nic.backend.id}`,
        replaceWith: `user-mode networking, as the stream's slirp state (instance ${s.instance}) shows; its options (hostfwd=, net=, …) are not recorded`,
      };
    });
  }

  /**
   * virtio-mem: its memory backend is the RAM block "<path>/<memdev id>"; its address,
   * block size and node are checked on load (virtio_mem_mig_sanity_checks_post_load).
   */
  private describeMemoryDevice(s: SectionFacts, spec: DeviceSpec): void {
    const blocks = [...s.ownBlocks()].filter(([name]) => !name.endsWith('.rom'));
    const state = virtioMemState(s, this.companions.get(spec)?.find((c) => c.name === 'virtio-mem-device-early'));
    if (blocks.length !== 1 || !state) {
      this.findings.push({ level: 'error', section: s.idstr, offset: s.element.offset, message: `${s.idstr}: its memory backend block or its state (address, block size) could not be read` });
      return;
    }
    const [memdev, block] = blocks[0];
    this.memoryBackends.push({ id: memdev, size: block.usedLength, kind: 'ram', role: 'device', evidence: { section: 'ram', offset: block.recordOffset, says: `RAM block ${block.id} is ${block.usedLength} bytes: the memdev of ${s.idstr}` } });
    spec.properties.push(
      property('memdev', memdev, { section: 'ram', offset: block.recordOffset, says: `RAM block ${block.id}` }),
      property('memaddr', `0x${state.addr.toString(16)}`, state.evidence('addr')),
      property('block-size', state.blockSize, state.evidence('block_size')),
      property('requested-size', state.requestedSize, state.evidence('requested_size')),
    );
    if (state.node) spec.properties.push(property('node', state.node, state.evidence('node')));
    this.deviceMemory += state.regionSize;
  }
}

/**
 * PCIe capability bits newer machine types change (hw/core/machine.c hw_compat_*), as the
 * stream has them: QEMUs with the property then build the device to match; older ones
 * have neither the property nor the newer default.
 */
function pcieCompatProperties(s: SectionFacts): DeviceProperty[] {
  const pci = s.pci;
  const out: DeviceProperty[] = [];
  if (pci?.pcieExtTag !== undefined) {
    out.push({ ...property('x-pcie-ext-tag', pci.pcieExtTag, s.here('PCIe Device Capabilities Extended Tag bit (hw_compat_9_1: x-pcie-ext-tag=false)')), onlyWhereSupported: true });
  }
  if (pci?.aerMasksInternalErrors !== undefined) {
    out.push({ ...property('x-pcie-err-unc-mask', pci.aerMasksInternalErrors, s.here('AER Uncorrectable Error Mask, Internal Error bit (hw_compat_7_2: x-pcie-err-unc-mask=off)')), onlyWhereSupported: true });
  }
  return out;
}

function ordinal(n: number): string {
  return ['first', 'second', 'third', 'fourth'][n] ?? `#${n + 1}`;
}
