import { XMLParser } from 'fast-xml-parser';
import type { DeviceSpec, Finding, VmHardware } from './hardware';

/**
 * The hardware of an image as a libvirt domain XML (formatdomain.html), and the reverse
 * check for a libvirt save: its embedded XML against what the stream holds. Stand-ins
 * for what the stream cannot describe are marked with comments, as in the command line.
 */
export interface DomainOptions {
  name: string;
  /** The emulator binary, when a target QEMU was chosen. */
  emulator?: string;
}

const KiB = 1024;

export function domainXml(hw: VmHardware, options: DomainOptions): string {
  const x = new XmlWriter();
  x.open('domain', { type: 'qemu' });
  x.leaf('name', {}, options.name);
  x.comment(`rebuilt by migwb qemu-args from the migration stream: ${hw.machine.type}, ${hw.cpus.count} vCPU, ${hw.memory.size / KiB} KiB`);
  if (hw.memory.maxmem) x.leaf('maxMemory', { slots: '1', unit: 'KiB' }, String(hw.memory.maxmem / KiB));
  x.leaf('memory', { unit: 'KiB' }, String(hw.memory.size / KiB));
  x.leaf('currentMemory', { unit: 'KiB' }, String(hw.memory.size / KiB));
  x.leaf('vcpu', { placement: 'static' }, String(hw.cpus.count));
  x.open('os');
  x.leaf('type', { arch: hw.machine.arch === 'arm' ? 'armv7l' : hw.machine.arch, machine: hw.machine.type }, 'hvm');
  x.close('os');
  const option = (name: string) => hw.machine.options.find((o) => o.name === name)?.value;
  const x86 = hw.machine.family === 'pc' || hw.machine.family === 'q35';
  x.open('features');
  if (option('acpi') !== 'off' && hw.machine.family !== 'riscv-virt') x.leaf('acpi');
  if (option('gic-version')) x.leaf('gic', { version: option('gic-version')! });
  if (x86 && option('vmport') === 'off') x.leaf('vmport', { state: 'off' });
  x.close('features');
  const numa = hw.memory.backends.filter((b) => b.role === 'numa-node');
  if (hw.cpus.model || numa.length || hw.memory.maxmem) {
    x.open('cpu', hw.cpus.model ? { mode: 'custom', match: 'exact', check: 'none' } : {});
    if (hw.cpus.model) x.leaf('model', { fallback: 'forbid' }, hw.cpus.model);
    // virtio-mem needs a NUMA node; without NUMA backends the whole RAM is node 0.
    const cells = numa.length ? numa.map((b) => b.size) : [hw.memory.size];
    if (numa.length || hw.memory.maxmem) {
      x.open('numa');
      cells.forEach((size, id) => x.leaf('cell', { id: String(id), cpus: cellCpus(id, cells.length, hw.cpus.count), memory: String(size / KiB), unit: 'KiB' }));
      x.close('numa');
    }
    x.close('cpu');
  }
  x.open('clock', { offset: 'utc' });
  if (x86 && option('hpet') === 'off') x.leaf('timer', { name: 'hpet', present: 'no' });
  x.close('clock');
  x.open('devices');
  if (options.emulator) x.leaf('emulator', {}, options.emulator);
  for (const d of hw.devices) writeDevice(x, d, hw);
  if (x86 && !hw.devices.some((d) => d.kind === 'usb-controller')) x.leaf('controller', { type: 'usb', index: '0', model: 'none' });
  if (!hw.devices.some((d) => d.kind === 'display') && x86) {
    x.open('video');
    x.leaf('model', { type: 'none' });
    x.close('video');
  }
  if (!hw.devices.some((d) => d.kind === 'balloon')) x.leaf('memballoon', { model: 'none' });
  x.close('devices');
  x.close('domain');
  const caps = hw.capabilities.map((c) => c.name);
  if (caps.length) x.comment(`the stream needs migration capabilities ${caps.join(', ')} on the destination (libvirt sets them itself when it restores its own saves)`);
  return x.text();
}

function cellCpus(cell: number, cells: number, vcpus: number): string {
  const per = Math.max(1, Math.floor(vcpus / cells));
  const first = Math.min(cell * per, vcpus - 1);
  const last = cell === cells - 1 ? vcpus - 1 : Math.min(first + per - 1, vcpus - 1);
  return first === last ? String(first) : `${first}-${last}`;
}

const NIC_MODELS: Readonly<Record<string, string>> = { 'virtio-net-pci': 'virtio', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139', 'e1000-82545em': 'e1000-82545em' };
const VIDEO_MODELS: Readonly<Record<string, string>> = { VGA: 'vga', 'secondary-vga': 'vga', 'qxl-vga': 'qxl', qxl: 'qxl', 'bochs-display': 'bochs', 'cirrus-vga': 'cirrus' };

function writeDevice(x: XmlWriter, d: DeviceSpec, hw: VmHardware): void {
  const prop = (name: string) => d.properties.find((p) => p.name === name)?.value;
  const address = () => writeAddress(x, d, hw);
  const standIn = () => d.backend && x.comment(`migwb stand-in: ${d.backend.replaceWith}`);
  const index = (kind: DeviceSpec['kind'], driver?: string) => String(hw.devices.filter((o) => o.kind === kind && (!driver || o.driver === driver)).indexOf(d));
  switch (d.kind) {
    case 'nic':
      standIn();
      x.open('interface', { type: 'network' });
      x.leaf('source', { network: 'default' });
      if (prop('mac')) x.leaf('mac', { address: prop('mac')! });
      x.leaf('model', { type: NIC_MODELS[d.driver] ?? d.driver });
      address();
      x.close('interface');
      return;
    case 'disk': {
      standIn();
      const scsi = d.address?.type === 'scsi';
      x.open('disk', { type: 'file', device: 'disk' });
      x.leaf('driver', { name: 'qemu', type: 'raw' });
      x.leaf('source', { file: `/var/lib/libvirt/images/${d.id}.img` });
      x.leaf('target', { dev: `${scsi ? 'sd' : 'vd'}${String.fromCharCode(97 + Number(index('disk')))}`, bus: scsi ? 'scsi' : 'virtio' });
      address();
      x.close('disk');
      return;
    }
    case 'display': {
      x.open('video');
      const model: Record<string, string> = { type: VIDEO_MODELS[d.driver] ?? d.driver };
      if (d.driver.startsWith('qxl')) {
        if (prop('ram_size')) model.ram = String(Number(prop('ram_size')) / KiB);
        if (prop('vram_size')) model.vram = String(Number(prop('vram_size')) / KiB);
        if (prop('vgamem_mb')) model.vgamem = String(Number(prop('vgamem_mb')) * KiB);
      } else if (prop('vgamem_mb')) {
        model.vram = String(Number(prop('vgamem_mb')) * KiB);
      }
      model.heads = '1';
      if (d.driver === 'VGA' || d.driver === 'qxl-vga' || d.driver === 'cirrus-vga') model.primary = 'yes';
      x.leaf('model', model);
      address();
      x.close('video');
      return;
    }
    case 'usb-controller':
      x.open('controller', { type: 'usb', index: index('usb-controller'), model: d.driver === 'nec-usb-xhci' ? 'nec-xhci' : 'qemu-xhci' });
      address();
      x.close('controller');
      return;
    case 'storage-controller':
      x.open('controller', d.driver === 'virtio-scsi-pci' ? { type: 'scsi', index: index('storage-controller', d.driver), model: 'virtio-scsi' } : { type: 'sata', index: String(Number(index('storage-controller', d.driver)) + (hw.machine.family === 'q35' ? 1 : 0)) });
      address();
      x.close('controller');
      return;
    case 'virtio-serial':
      if (d.address?.type === 'virtio-serial') {
        standIn();
        const port = d.address.nr;
        if (d.driver === 'virtconsole') {
          x.open('console', { type: 'pty' });
          x.leaf('target', { type: 'virtio', port: '0' });
          x.close('console');
        } else {
          x.open('channel', { type: 'pty' });
          x.leaf('target', { type: 'virtio', name: `org.migwb.port.${port}` });
          x.leaf('address', { type: 'virtio-serial', controller: '0', bus: '0', port: String(port) });
          x.close('channel');
        }
        return;
      }
      x.open('controller', { type: 'virtio-serial', index: index('virtio-serial', d.driver) });
      address();
      x.close('controller');
      return;
    case 'pci-bridge':
      x.open('controller', { type: 'pci', index: String(Number(index('pci-bridge')) + 1), model: 'pcie-root-port' });
      x.leaf('target', { chassis: prop('chassis') ?? '1', port: prop('port') ?? '0x0' });
      address();
      x.close('controller');
      return;
    case 'balloon':
      x.open('memballoon', { model: 'virtio' });
      address();
      x.close('memballoon');
      return;
    case 'rng':
      x.open('rng', { model: 'virtio' });
      x.leaf('backend', { model: 'random' }, '/dev/urandom');
      address();
      x.close('rng');
      return;
    case 'input':
      x.open('input', { type: d.driver === 'usb-kbd' ? 'keyboard' : 'tablet', bus: 'usb' });
      address();
      x.close('input');
      return;
    case 'serial':
      standIn();
      x.open('serial', { type: 'null' });
      x.open('target', { type: 'isa-serial', port: prop('index') ?? '0' });
      x.leaf('model', { name: 'isa-serial' });
      x.close('target');
      x.close('serial');
      return;
    case 'parallel':
      standIn();
      x.open('parallel', { type: 'null' });
      x.leaf('target', { port: prop('index') ?? '0' });
      x.close('parallel');
      return;
    case 'memory': {
      const backend = hw.memory.backends.find((b) => b.id === prop('memdev'));
      x.open('memory', { model: 'virtio-mem' });
      x.open('target');
      x.leaf('size', { unit: 'KiB' }, String((backend?.size ?? 0) / KiB));
      x.leaf('node', {}, prop('node') ?? '0');
      x.leaf('block', { unit: 'KiB' }, String(Number(prop('block-size') ?? 0) / KiB));
      x.leaf('requested', { unit: 'KiB' }, String(Number(prop('requested-size') ?? 0) / KiB));
      x.close('target');
      address();
      x.close('memory');
      return;
    }
    default:
      x.comment(`no libvirt element is known for ${d.driver} (${d.sections.join(', ')}); add it by hand`);
  }
}

function writeAddress(x: XmlWriter, d: DeviceSpec, hw: VmHardware): void {
  const a = d.address;
  if (a?.type === 'pci') {
    // libvirt numbers buses by controller index: 0 the root, then root ports in order.
    const bridge = hw.devices.filter((o) => o.kind === 'pci-bridge').findIndex((o) => o.providesBus === a.bus);
    x.leaf('address', { type: 'pci', domain: '0x0000', bus: `0x${(bridge + 1).toString(16).padStart(2, '0')}`, slot: `0x${a.slot.toString(16).padStart(2, '0')}`, function: `0x${a.function}` });
  } else if (a?.type === 'usb') {
    x.leaf('address', { type: 'usb', bus: '0', port: a.port });
  } else if (a?.type === 'scsi') {
    x.leaf('address', { type: 'drive', controller: '0', bus: String(a.channel), target: String(a.target), unit: String(a.lun) });
  }
}

class XmlWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  open(name: string, attrs: Record<string, string> = {}): void {
    this.lines.push(`${this.pad()}<${name}${attributes(attrs)}>`);
    this.depth++;
  }

  close(name: string): void {
    this.depth--;
    this.lines.push(`${this.pad()}</${name}>`);
  }

  leaf(name: string, attrs: Record<string, string> = {}, text?: string): void {
    this.lines.push(text === undefined ? `${this.pad()}<${name}${attributes(attrs)}/>` : `${this.pad()}<${name}${attributes(attrs)}>${escapeXml(text)}</${name}>`);
  }

  comment(text: string): void {
    this.lines.push(`${this.pad()}<!-- ${text.replace(/--/g, '- -')} -->`);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }

  private pad(): string {
    return '  '.repeat(this.depth);
  }
}

function attributes(attrs: Record<string, string>): string {
  return Object.entries(attrs)
    .map(([k, v]) => ` ${k}='${escapeXml(v)}'`)
    .join('');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/**
 * A libvirt save's own domain XML against its stream: machine type, memory, vCPUs, ACPI,
 * and every PCI device (the XML's <address type='pci'> elements and the stream's PCI
 * sections must name the same slots, the same kind of device, the same MAC and QXL sizes).
 * Returns what disagrees and how many facts were compared.
 */
export function checkDomainXml(xml: string, hw: VmHardware): { agree: number; findings: Finding[] } {
  const findings: Finding[] = [];
  let agree = 0;
  const check = (what: string, inXml: string | undefined, inStream: string | undefined) => {
    if (inXml === undefined || inStream === undefined) return;
    if (inXml === inStream) agree++;
    else findings.push({ level: 'warning', message: `${what}: the domain XML says ${inXml}, the stream says ${inStream}` });
  };
  let doc: unknown;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name, jpath) => DEVICE_ELEMENTS.has(name) && String(jpath) === `domain.devices.${name}` }).parse(xml);
  } catch (e) {
    return { agree, findings: [{ level: 'error', message: `the domain XML does not parse: ${(e as Error).message}` }] };
  }
  const domain = child(doc, 'domain');
  if (!domain) return { agree, findings: [{ level: 'error', message: 'the embedded XML has no <domain> element' }] };
  check('machine type', attr(child(child(domain, 'os'), 'type'), 'machine'), hw.machine.type);
  check('memory', kib(child(domain, 'memory')), String(hw.memory.size / KiB) + ' KiB');
  check('vCPUs', text(child(domain, 'vcpu')), String(hw.cpus.count));
  check('ACPI', child(domain, 'features') && child(child(domain, 'features'), 'acpi') !== undefined ? 'on' : 'off', hw.machine.options.some((o) => o.name === 'acpi' && o.value === 'off') ? 'off' : 'on');
  const xmlPci = new Map<string, { element: string; node: XmlNode }>();
  for (const [element, nodes] of Object.entries(child(domain, 'devices') ?? {})) {
    if (!Array.isArray(nodes)) continue;
    for (const node of nodes as XmlNode[]) {
      const a = child(node, 'address');
      if (attr(a, 'type') === 'pci' && Number(attr(a, 'bus')) === 0) xmlPci.set(`${Number(attr(a, 'slot')).toString(16).padStart(2, '0')}.${Number(attr(a, 'function'))}`, { element, node });
    }
  }
  const streamPci = new Map<string, DeviceSpec>();
  for (const d of hw.devices) {
    const a = d.address;
    if (a?.type === 'pci' && a.bus.endsWith('.0')) streamPci.set(`${a.slot.toString(16).padStart(2, '0')}.${a.function}`, d);
  }
  for (const [slot, d] of streamPci) {
    const x = xmlPci.get(slot);
    if (!x) {
      findings.push({ level: 'warning', section: d.sections[0], message: `the stream has ${d.driver} at slot ${slot}, which the domain XML does not list` });
      continue;
    }
    check(`the device at slot ${slot}`, x.element, XML_ELEMENT_OF_KIND[d.kind] ?? x.element);
    const mac = d.properties.find((p) => p.name === 'mac')?.value;
    check(`the MAC of the NIC at slot ${slot}`, attr(child(x.node, 'mac'), 'address'), mac);
    if (d.driver.startsWith('qxl')) {
      const model = (child(x.node, 'model') ?? {}) as Record<string, string | undefined>;
      const prop = (n: string) => d.properties.find((p) => p.name === n)?.value;
      check(`QXL ram at slot ${slot}`, model.ram, prop('ram_size') && String(Number(prop('ram_size')) / KiB));
      check(`QXL vram at slot ${slot}`, model.vram, prop('vram_size') && String(Number(prop('vram_size')) / KiB));
      check(`QXL vgamem at slot ${slot}`, model.vgamem, prop('vgamem_mb') && String(Number(prop('vgamem_mb')) * KiB));
    }
  }
  for (const [slot, x] of xmlPci) {
    if (!streamPci.has(slot)) findings.push({ level: 'warning', message: `the domain XML puts a <${x.element}> at slot ${slot}, which has no section in the stream` });
  }
  return { agree, findings };
}

const DEVICE_ELEMENTS = new Set(['disk', 'controller', 'interface', 'video', 'input', 'channel', 'console', 'serial', 'parallel', 'memballoon', 'rng', 'memory', 'graphics', 'audio', 'sound', 'hostdev', 'redirdev', 'watchdog', 'filesystem']);

const XML_ELEMENT_OF_KIND: Partial<Record<DeviceSpec['kind'], string>> = {
  nic: 'interface',
  disk: 'disk',
  display: 'video',
  'usb-controller': 'controller',
  'storage-controller': 'controller',
  'virtio-serial': 'controller',
  'pci-bridge': 'controller',
  balloon: 'memballoon',
  rng: 'rng',
  memory: 'memory',
};

/** What fast-xml-parser makes of an element: attributes and children by name, text as "#text". */
type XmlNode = Record<string, unknown>;

function child(node: unknown, name: string): XmlNode | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const v = (node as XmlNode)[name];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? (v as XmlNode) : { '#text': v };
}

function attr(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.[name];
  return v === undefined || v === null || typeof v === 'object' ? undefined : String(v);
}

function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return String((v as Record<string, unknown>)['#text'] ?? '');
  return String(v);
}

function kib(v: XmlNode | undefined): string | undefined {
  const n = Number(text(v));
  if (!Number.isFinite(n)) return undefined;
  const unit = attr(v, 'unit') ?? 'KiB';
  const factor: Record<string, number> = { b: 1 / KiB, bytes: 1 / KiB, KiB: 1, k: 1, KB: 1000 / KiB, MiB: KiB, M: KiB, GiB: KiB * KiB, G: KiB * KiB };
  return `${n * (factor[unit] ?? 1)} KiB`;
}
