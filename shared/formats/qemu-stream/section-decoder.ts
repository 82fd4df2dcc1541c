import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';
import type { QemuStreamModel, StreamElement } from './model';
import type { VmdescLayout, VmdescStruct } from './vmdesc';
import { decodeVirtioState, type VirtioContext } from './virtio/virtio-state';
import { bytesValue, decodeVmstate, DecodeOverrun, type FieldNode, type NodeLimit } from './vmstate-decode';

/** Sections larger than this are shown as raw bytes rather than decoded in memory. */
const MAX_DECODED_SECTION = 64 * 1024 * 1024;

export interface DecodedSection {
  element: number;
  /** Where the field layout came from. */
  describedBy: 'vmdesc' | 'borrowed-vmdesc' | 'configuration' | 'raw';
  nodes: FieldNode[];
  /** The payload bytes, for callers that re-read field values (analyze-compat). */
  bytes: Uint8Array;
  payloadOffset: number;
  problem?: string;
}

/** Payload range of a FULL section or the configuration: after the header, before the footer. */
export function payloadRange(e: StreamElement): { start: number; end: number } {
  const start = e.type === 'CONFIGURATION' ? e.offset + 1 : e.payloadOffset ?? e.offset;
  const end = e.footerOffset ?? e.offset + e.length;
  return { start, end: Math.max(start, end) };
}

export interface SectionDecodeOptions {
  /** Decode virtio devices' state blobs (default true). */
  virtio?: boolean;
  /** Guest memory, for what QEMU reads from it when it loads a device (virtio ring indexes). */
  guest?: VirtioContext['guest'];
}

/** Decodes a FULL section (or the configuration) field by field from the image's vmdesc. */
export interface SectionDecodeOptions {
  /** Decode virtio devices' state blobs (default true). */
  virtio?: boolean;
  /** Guest memory, for what QEMU reads from it when it loads a device (virtio ring indexes). */
  guest?: VirtioContext['guest'];
  /** A tighter bound on the nodes made than the payload's own (a worker's budget). */
  limit?: NodeLimit;
}

export function decodeSection(source: ByteSource, model: QemuStreamModel, e: StreamElement, options: SectionDecodeOptions = {}): DecodedSection {
  return expandDecoded(decodePayload(payloadOf(source, model, e), options.limit), model, e, options);
}

/**
 * The virtio parts of a decoded section (virtio_save's opaque blob into its fields). Done
 * where the image is (the main thread, after a worker decoded the vmstate), because it reads
 * guest memory the way QEMU does when it loads the device.
 */
export function expandDecoded(d: DecodedSection, model: QemuStreamModel, e: StreamElement, options: SectionDecodeOptions = {}): DecodedSection {
  if (d.describedBy !== 'raw' && options.virtio !== false) expandVirtio(d.nodes, d.bytes, d.payloadOffset, model, e, options.guest);
  return d;
}

/** Everything decoding a section needs, apart from the image: what a worker thread is given. */
export interface SectionPayload {
  element: number;
  type: StreamElement['type'];
  /** The payload (at most MAX_DECODED_SECTION bytes of it). */
  bytes: Uint8Array;
  payloadOffset: number;
  /** The whole payload's length, which may exceed `bytes`. */
  payloadLength: number;
  description?: { struct: VmdescLayout; by: DecodedSection['describedBy'] };
}

export function payloadOf(source: ByteSource, model: QemuStreamModel, e: StreamElement): SectionPayload {
  const { start, end } = payloadRange(e);
  const bytes = readBytes(source, start, Math.min(end - start, MAX_DECODED_SECTION));
  return { element: e.index, type: e.type, bytes, payloadOffset: start, payloadLength: end - start, description: describe(model, e) };
}

/** Decodes a payload as its description says, or shows it raw with the reason why. */
export function decodePayload(p: SectionPayload, limit?: NodeLimit): DecodedSection {
  const { bytes, payloadOffset: start, description: desc } = p;
  if (desc && p.payloadLength <= MAX_DECODED_SECTION) {
    try {
      const { nodes, consumed } = decodeVmstate(bytes, start, desc.struct, limit);
      if (consumed === bytes.length) return { element: p.element, describedBy: desc.by, nodes, bytes, payloadOffset: start };
      return rawSection(p, `the description covers ${consumed} of the section's ${bytes.length} bytes`);
    } catch (err) {
      if (!(err instanceof DecodeOverrun)) throw err;
      return rawSection(p, err.needed > 0 ? `the description needs more bytes than the section holds (${err.message})` : `the description does not fit the section: ${err.message}`);
    }
  }
  if (!desc) return rawSection(p, p.type === 'FULL' ? 'no vmdesc describes this section' : undefined);
  return rawSection(p, `the section is larger than ${MAX_DECODED_SECTION} bytes and is shown raw`);
}

/** The payload as one raw "data" node, with the reason it is not decoded. */
export function rawSection(p: SectionPayload, problem: string | undefined): DecodedSection {
  const node: FieldNode = { name: 'data', type: 'buffer', offset: p.payloadOffset, size: p.bytes.length, value: bytesValue(p.bytes) };
  return { element: p.element, describedBy: 'raw', nodes: [node], bytes: p.bytes, payloadOffset: p.payloadOffset, ...(problem !== undefined ? { problem } : {}) };
}

/** The "virtio" fields (virtio_save's opaque blob) decoded into their parts. */
function expandVirtio(nodes: FieldNode[], bytes: Uint8Array, start: number, model: QemuStreamModel, e: StreamElement, guest: SectionDecodeOptions['guest']): void {
  const device = e.deviceIndex !== undefined ? model.vmdesc?.devices[e.deviceIndex]?.vmsd_name : undefined;
  for (const n of nodes) {
    if (n.type !== 'virtio' || n.children || !device) continue;
    const decoded = decodeVirtioState(bytes, n.offset - start, n.size, start, { device, idstr: e.idstr ?? '', guest });
    if (decoded.children) n.children = decoded.children;
    else n.note = decoded.problem;
  }
}

function describe(model: QemuStreamModel, e: StreamElement): { struct: VmdescLayout; by: DecodedSection['describedBy'] } | undefined {
  if (e.type === 'FULL' && e.deviceIndex !== undefined && model.vmdesc) {
    return { struct: model.vmdesc.devices[e.deviceIndex], by: model.borrowedVmdesc ? 'borrowed-vmdesc' : 'vmdesc' };
  }
  if (e.type === 'CONFIGURATION') return { struct: model.vmdesc?.configuration ?? configurationDescription(e), by: 'configuration' };
  return undefined;
}

/** The configuration section's layout as QEMU 10's vmdesc states it, rebuilt for 7.x streams. */
export function configurationDescription(e: Pick<StreamElement, 'machine' | 'subsections'>): VmdescStruct {
  return {
    vmsd_name: 'configuration',
    version: 1,
    fields: [
      { name: 'len', type: 'uint32', size: 4 },
      { name: 'name', type: 'buffer', size: (e.machine ?? '').length },
    ],
    // vmstate_subsection_save opens "subsections" with the first subsection it writes: none, no key.
    ...(e.subsections?.length ? { subsections: e.subsections.map((s) => ({
      vmsd_name: s.name,
      version: s.version,
      fields:
        s.targetPageBits !== undefined
          ? [{ name: 'target_page_bits', type: 'uint32', size: 4 }]
          : s.capabilities
            ? [{ name: 'caps_count', type: 'uint32', size: 4 }, ...s.capabilities.map((c) => ({ name: 'capabilities', type: 'capability', size: 1 + c.length }))]
            : [{ name: 'uuid', type: 'buffer', size: 16 }],
    })) } : {}),
  };
}
