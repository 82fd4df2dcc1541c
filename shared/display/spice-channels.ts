import type { ByteSource } from '../io/byte-source';
import { readBe32 } from '../io/bytes';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import type { GuestMemoryReader } from '../memory/guest-reader';
import { group, hex, type DecodedDevice, type DecodedItem } from './decoded';
import { Fields, MissingField } from './fields';

/**
 * The SPICE vmchannel state a QEMU image holds (what the SPICE developers' "session state
 * to save" calls the agent, smartcard and usb channels), by meaning:
 *
 * - virtio-serial ports (virtio_serial_save_device): each port's id, whether the guest had
 *   it open (guest_connected: the guest driver's PORT_OPEN) and whether the host end was
 *   (host_connected: the chardev, e.g. a spicevmc with its client), an element QEMU had
 *   popped but not finished writing (a throttled port), and what waits in the port's
 *   virtqueues in guest memory: guest-to-host data QEMU has not taken yet (transmit queue)
 *   and the buffers the guest offered for host-to-guest data (receive queue).
 * - usb-redir devices (SPICE usbredir runs over USB, not virtio-serial): the usbredir parser
 *   state (its buffered protocol data) and each endpoint's queue of buffered packets.
 *
 * A port's name is not in the stream (the command line gives it, -device virtserialport,
 * name=…); a libvirt save's domain XML has it (<channel><target name=…/><address port=…/>).
 */
export interface SpiceChannels {
  controllers: VirtioSerialController[];
  usbRedirs: UsbRedirState[];
}

export interface VirtioSerialController {
  /** "0000:00:03.0/virtio-console" */
  section: string;
  /** Stream offset of the section. */
  offset: number;
  maxPorts?: number;
  ports: VirtioSerialPort[];
  problem?: string;
}

export interface VirtioSerialPort {
  /** The port number (virtserialport nr=; port 0 is the virtconsole). */
  id: number;
  /** From the domain XML when the image has one; undefined otherwise. */
  name?: string;
  /** What the name is known to be: "SPICE agent (vdagent)", "SPICE webdav (folder sharing)", … */
  role?: string;
  /** The host end in the domain XML: "spicevmc", "spiceport", "unix", "pty", … */
  hostEnd?: string;
  guestConnected: boolean;
  hostConnected: boolean;
  /** A popped element QEMU had only partly written to the host end (the port was throttled). */
  throttled?: { iovIndex: number; iovOffset: bigint; elementBytes: number };
  /** Stream offsets: the port's entry, guest_connected, host_connected. */
  offsets: { port: number; guestConnected: number; hostConnected: number };
  /** Guest-to-host: buffers in the transmit queue the device has not taken (avail.idx - last_avail_idx). */
  toHost: QueuedBuffers;
  /** Host-to-guest: empty buffers the guest offered in the receive queue. */
  toGuest: QueuedBuffers;
}

export interface QueuedBuffers {
  /** The virtqueue number (port 0: 0/1; port n ≥ 1: 2n+2 receive, 2n+3 transmit). */
  queue: number;
  /** Entries the guest made available that the device has not taken. */
  pending: number;
  /** Their total length in bytes. */
  bytes: number;
  buffers: QueuedBuffer[];
  /** The queue is not set up, or its rings could not be read. */
  problem?: string;
}

export interface QueuedBuffer {
  /** Position in the avail ring (the free-running index). */
  index: number;
  gpa: number;
  length: number;
  /** Device-writable (an offered receive buffer). */
  writable: boolean;
  /** Up to 256 bytes of the data (guest-to-host buffers), from guest memory. */
  data?: Uint8Array;
}

export interface UsbRedirState {
  /** "0000:00:04.0/1/usb-redir" */
  section: string;
  offset: number;
  /** Bytes of the serialized usbredir parser (its buffered protocol data); 0: no parser state (no client was connected). */
  parserBytes: number;
  parserOffset?: number;
  /** Endpoints holding buffered packets (bufpq), by endpoint number. */
  endpoints: { endpoint: number; packets: number; offset: number }[];
  problem?: string;
}

/** Names of well-known ports (the names SPICE and QEMU agents open). */
const PORT_ROLES: Record<string, string> = {
  'com.redhat.spice.0': 'SPICE agent (vdagent: clipboard, mouse, resolution)',
  'org.spice-space.webdav.0': 'SPICE webdav (folder sharing)',
  'org.spice-space.stream.0': 'SPICE streaming agent',
  'org.qemu.guest_agent.0': 'QEMU guest agent',
  'org.libguestfs.channel.0': 'libguestfs channel',
};

/** Ports of a domain XML's virtio channels and consoles: port number -> target name and host end. */
export function domainXmlPorts(xml: string): Map<number, { name?: string; hostEnd: string }> {
  const out = new Map<number, { name?: string; hostEnd: string }>();
  for (const m of xml.matchAll(/<(channel|console)\s+type=['"]([^'"]+)['"][^>]*>([\s\S]*?)<\/\1>/g)) {
    const body = m[3];
    if (!/<target\s[^>]*type=['"]virtio['"]/.test(body)) continue;
    const name = /<target\s[^>]*name=['"]([^'"]+)['"]/.exec(body)?.[1];
    const port = /<address\s[^>]*type=['"]virtio-serial['"][^>]*port=['"](\d+)['"]/.exec(body)?.[1];
    // A virtio console without an address is port 0 of the first controller.
    const nr = port !== undefined ? Number(port) : m[1] === 'console' ? 0 : undefined;
    if (nr !== undefined) out.set(nr, { name, hostEnd: m[2] });
  }
  return out;
}

const VRING_DESC_F_NEXT = 1;
const VRING_DESC_F_WRITE = 2;
const PREVIEW = 256;

export interface SpiceChannelOptions {
  /** Guest-physical memory, for the virtqueues. */
  guest?: GuestMemoryReader;
  /** A libvirt save's domain XML, for the port names. */
  domainXml?: string;
}

/** The vmchannel state of every virtio-serial controller and usb-redir device of an image. */
export function spiceChannels(source: ByteSource, model: QemuStreamModel, options: SpiceChannelOptions = {}): SpiceChannels {
  const out: SpiceChannels = { controllers: [], usbRedirs: [] };
  for (const e of model.elements) {
    const c = spiceChannelSection(source, model, e, options);
    if (c && 'ports' in c) out.controllers.push(c);
    else if (c) out.usbRedirs.push(c);
  }
  return out;
}

/** The vmchannel state of one section, or undefined when it is neither virtio-serial nor usb-redir. */
export function spiceChannelSection(source: ByteSource, model: QemuStreamModel, e: StreamElement, options: SpiceChannelOptions = {}): VirtioSerialController | UsbRedirState | undefined {
  if (e.type !== 'FULL' || !e.idstr) return undefined;
  const vmsd = (e.deviceIndex !== undefined && model.vmdesc?.devices[e.deviceIndex]?.vmsd_name) || e.idstr.slice(e.idstr.lastIndexOf('/') + 1);
  if (vmsd !== 'virtio-console' && vmsd !== 'usb-redir') return undefined;
  const base = { section: e.idstr, offset: e.offset };
  const decoded = decodeSection(source, model, e);
  if (decoded.describedBy === 'raw') {
    const problem = `the section cannot be decoded (${decoded.problem ?? 'no vmdesc describes it'})`;
    return vmsd === 'usb-redir' ? { ...base, parserBytes: 0, endpoints: [], problem } : { ...base, ports: [], problem };
  }
  const f = new Fields(decoded.nodes, decoded.bytes, decoded.payloadOffset);
  try {
    return vmsd === 'usb-redir' ? usbRedir(base, f) : virtioSerial(base, f, options);
  } catch (err) {
    if (!(err instanceof MissingField)) throw err;
    return vmsd === 'usb-redir' ? { ...base, parserBytes: 0, endpoints: [], problem: err.message } : { ...base, ports: [], problem: err.message };
  }
}

function virtioSerial(base: { section: string; offset: number }, f: Fields, options: SpiceChannelOptions): VirtioSerialController {
  const virtio = f.struct('virtio');
  const device = virtio?.struct('device');
  if (!virtio || !device) return { ...base, ports: [], problem: 'the virtio state of this section could not be decoded field by field, so its ports are unknown' };
  const queues = virtio.arrayStructs('queues');
  const rings = virtio.subsection('virtio/virtqueues')?.arrayStructs('vq');
  const names = options.domainXml ? domainXmlPorts(options.domainXml) : undefined;
  const queueState = (q: number, direction: 'in' | 'out'): QueuedBuffers => {
    const s = queues[q];
    if (!s) return { queue: q, pending: 0, bytes: 0, buffers: [], problem: `queue ${q} is not in the saved state` };
    const num = s.int('num');
    const desc = Number(s.big('desc'));
    if (!desc || !num) return { queue: q, pending: 0, bytes: 0, buffers: [], problem: 'not set up by the guest' };
    const ring = rings?.[q];
    const avail = ring ? Number(ring.big('vring.avail')) : desc + num * 16;
    return pendingBuffers(q, desc, avail, num, s.int('last_avail_idx'), direction, options.guest);
  };
  const ports = device.arrayStructs('ports').map((p): VirtioSerialPort => {
    const id = p.int('id');
    const known = names?.get(id);
    const rx = id === 0 ? 0 : 2 * id + 2;
    const port: VirtioSerialPort = {
      id,
      name: known?.name,
      role: known?.name ? PORT_ROLES[known.name] : undefined,
      hostEnd: known?.hostEnd,
      guestConnected: p.int('guest_connected') !== 0,
      hostConnected: p.int('host_connected') !== 0,
      offsets: { port: p.offsetOf('id'), guestConnected: p.offsetOf('guest_connected'), hostConnected: p.offsetOf('host_connected') },
      toGuest: queueState(rx, 'in'),
      toHost: queueState(rx + 1, 'out'),
    };
    if (p.int('elem_popped')) port.throttled = { iovIndex: p.int('iov_idx'), iovOffset: p.big('iov_offset'), elementBytes: p.has('elem') ? p.bytes('elem').length : 0 };
    return port;
  });
  return { ...base, maxPorts: device.int('max_nr_ports'), ports };
}

/** The entries between last_avail_idx and avail.idx, each descriptor chain as its buffers. */
function pendingBuffers(queue: number, desc: number, avail: number, num: number, lastAvail: number, direction: 'in' | 'out', guest: GuestMemoryReader | undefined): QueuedBuffers {
  const out: QueuedBuffers = { queue, pending: 0, bytes: 0, buffers: [] };
  if (!guest) {
    out.problem = 'guest memory not read';
    return out;
  }
  const u16 = (gpa: number) => {
    const b = guest(gpa, 2);
    return b && b.length === 2 ? b[0] | (b[1] << 8) : undefined;
  };
  const availIdx = u16(avail + 2);
  if (availIdx === undefined) {
    out.problem = `the avail ring at ${hex(avail)} is not in guest memory`;
    return out;
  }
  out.pending = (availIdx - lastAvail) & 0xffff;
  if (out.pending > num) {
    out.problem = `avail.idx ${availIdx} is ${out.pending} entries past last_avail_idx ${lastAvail}, more than the ${num} the queue holds (QEMU refuses to load such a queue)`;
    out.pending = 0;
    return out;
  }
  for (let k = 0; k < out.pending; k++) {
    const index = (lastAvail + k) & 0xffff;
    let head = u16(avail + 4 + 2 * (index % num));
    for (let hops = 0; head !== undefined && head < num && hops < num; hops++) {
      const d = guest(desc + 16 * head, 16);
      if (!d || d.length < 16) break;
      const v = new DataView(d.buffer, d.byteOffset, 16);
      const gpa = Number(v.getBigUint64(0, true));
      const length = v.getUint32(8, true);
      const flags = v.getUint16(12, true);
      const writable = (flags & VRING_DESC_F_WRITE) !== 0;
      const buffer: QueuedBuffer = { index, gpa, length, writable };
      if (!writable && direction === 'out') buffer.data = guest(gpa, Math.min(length, PREVIEW));
      out.buffers.push(buffer);
      out.bytes += length;
      head = flags & VRING_DESC_F_NEXT ? v.getUint16(14, true) : undefined;
    }
  }
  return out;
}

/** The usb-redir parser field is a be32 length and that many bytes; a bufpq is a be32 packet count, then the packets. */
function usbRedir(base: { section: string; offset: number }, f: Fields): UsbRedirState {
  const parser = f.node('parser');
  const parserBytes = parser ? be32(f.bytesOf(parser)) : 0;
  const endpoints: UsbRedirState['endpoints'] = [];
  // vmstate arrays of structs come as one node per element ("endpoint", index i).
  f.nodes.filter((n) => n.name === 'endpoint' && n.children).forEach((n, i) => {
    const q = n.children!.find((c) => c.name === 'bufpq');
    const packets = q ? be32(f.bytesOf(q)) : 0;
    if (packets) endpoints.push({ endpoint: n.index ?? i, packets, offset: q!.offset });
  });
  return { ...base, parserBytes: Math.max(0, parserBytes), parserOffset: parser?.offset, endpoints };
}

/** A u32 count the section stores as a 4-byte field (0 when the field is shorter). */
function be32(b: Uint8Array): number {
  return b.length >= 4 ? readBe32(b, 0) : 0;
}

/** The decoded view of a virtio-serial or usb-redir section (for `migwb dump --decoded` and the Devices panel). */
export function decodedSpiceChannel(source: ByteSource, model: QemuStreamModel, e: StreamElement, options: SpiceChannelOptions = {}): DecodedDevice | undefined {
  const c = spiceChannelSection(source, model, e, options);
  if (!c) return undefined;
  if (!('ports' in c)) {
    return {
      section: c.section,
      title: 'usb-redir (SPICE usbredir channel)',
      items: [
        { label: 'usbredir parser state', value: `${c.parserBytes} bytes`, meaning: c.parserBytes ? 'serialized parser with its buffered protocol data' : 'none: no usbredir client was connected', offset: c.parserOffset, problem: c.problem },
        group('endpoints with buffered packets', c.endpoints.map((ep) => ({ label: `endpoint ${ep.endpoint}`, value: `${ep.packets} packets`, offset: ep.offset }))),
      ],
    };
  }
  return {
    section: c.section,
    title: 'virtio-serial (vmchannel ports)',
    items: [
      ...(c.problem ? [{ label: 'ports', problem: c.problem }] : []),
      ...(c.maxPorts !== undefined ? [{ label: 'max ports', value: `${c.maxPorts}` }] : []),
      ...c.ports.map(portItem),
    ],
  };
}

function portItem(p: VirtioSerialPort): DecodedItem {
  const open = p.guestConnected && p.hostConnected ? 'open at both ends' : p.guestConnected ? 'open in the guest, host end not connected' : p.hostConnected ? 'host end connected, the guest has not opened it' : 'closed';
  return group(
    `port ${p.id}`,
    [
      { label: 'name', value: p.name ?? 'unknown', meaning: p.name ? (p.role ?? undefined) : 'not in the stream (the command line names ports; a libvirt save\'s domain XML does)' },
      ...(p.hostEnd ? [{ label: 'host end', value: p.hostEnd, meaning: 'from the domain XML' }] : []),
      { label: 'guest_connected', value: `${p.guestConnected}`, offset: p.offsets.guestConnected },
      { label: 'host_connected', value: `${p.hostConnected}`, offset: p.offsets.hostConnected },
      ...(p.throttled ? [{ label: 'throttled element', value: `iov ${p.throttled.iovIndex} offset ${p.throttled.iovOffset}`, meaning: 'QEMU had popped this guest buffer and written part of it to the host end; the rest is sent after the load' }] : []),
      queueItem('guest to host (transmit queue)', p.toHost),
      queueItem('host to guest (receive buffers offered)', p.toGuest),
    ],
    { value: p.name, meaning: open, offset: p.offsets.port },
  );
}

function queueItem(label: string, q: QueuedBuffers): DecodedItem {
  return group(
    label,
    q.buffers.map((b) => ({ label: `[${b.index}]`, value: `${b.length} bytes${b.writable ? ', device-writable' : ''}`, meaning: b.data ? preview(b.data, b.length) : undefined, gpa: b.gpa })),
    { value: q.problem ? undefined : `${q.pending} pending, ${q.bytes} bytes`, meaning: `virtqueue ${q.queue}`, problem: q.problem },
  );
}

/** Printable text as a quoted string, else hex bytes. */
function preview(data: Uint8Array, length: number): string {
  const more = length > data.length ? '…' : '';
  const text = Array.from(data, (c) => String.fromCharCode(c)).join('');
  if (/^[\x20-\x7e\t\r\n]*$/.test(text)) return JSON.stringify(text) + more;
  return Array.from(data.subarray(0, 64), (c) => c.toString(16).padStart(2, '0')).join(' ') + (length > 64 ? ' …' : '');
}
