import { SectionType } from '../formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import type { VmdescDevice } from '../formats/qemu-stream/vmdesc';
import { pyString } from '../util/py-json';
import { ascii, be32, concatBytes } from '../io/bytes';
import type { ByteChange } from './journal';
import { bytesPiece } from './pieces';

/**
 * Serialises like QEMU's JSON writer does for the vmdesc: compact, with ", " and ": "
 * separators and ASCII-only strings, so an unchanged vmdesc re-serialises byte for byte.
 */
export function qemuJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return '[' + value.map(qemuJson).join(', ') + ']';
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return '{' + entries.map(([k, v]) => `${pyString(k)}: ${qemuJson(v)}`).join(', ') + '}';
}

/** The QEMU_VM_VMDESCRIPTION record: 0x06, be32 length, JSON. */
export function encodeVmdescRecord(json: unknown): Uint8Array {
  const text = ascii(qemuJson(json));
  return concatBytes(Uint8Array.of(SectionType.VMDESCRIPTION), be32(text.length), text);
}

/** A valid description of a section nobody describes better: its whole payload as one buffer. */
export function bufferEntry(e: Pick<StreamElement, 'idstr' | 'instanceId' | 'versionId'>, payloadSize: number): VmdescDevice {
  return {
    name: e.idstr ?? '',
    instance_id: e.instanceId ?? 0,
    vmsd_name: e.idstr ?? '',
    version: e.versionId ?? 0,
    fields: [{ name: 'data', type: 'buffer', size: payloadSize }],
  };
}

/** The image's own description of FULL section `e`, when its vmdesc has one. */
export function ownEntry(model: QemuStreamModel, e: StreamElement): VmdescDevice | undefined {
  return e.deviceIndex !== undefined ? model.vmdesc?.devices[e.deviceIndex] : undefined;
}

/** Where the vmdesc record sits in the stream (complete or cut), if there is one. */
export function vmdescElementRange(model: QemuStreamModel): { offset: number; length: number } | undefined {
  const el = model.elements.find((e) => e.type === 'VMDESCRIPTION');
  if (el) return { offset: el.offset, length: el.length };
  const loc = model.vmdescLocation;
  return loc ? { offset: loc.offset, length: Math.min(5 + loc.jsonLength, model.size - loc.offset) } : undefined;
}

/**
 * A change that replaces the vmdesc with one listing `devices` (in stream order), keeping
 * everything else the image's vmdesc said (page size, QEMU 10's configuration).
 * Returns undefined when the stream has no vmdesc to keep in step.
 */
export function vmdescChange(model: QemuStreamModel, devices: VmdescDevice[]): ByteChange | undefined {
  const range = vmdescElementRange(model);
  if (!range) return undefined;
  const root: Record<string, unknown> = model.vmdesc ? JSON.parse(JSON.stringify(model.vmdesc)) : { page_size: model.pageSize, devices: [] };
  root.devices = devices;
  return { offset: range.offset, deleteLength: range.length, insert: [bytesPiece(encodeVmdescRecord(root))] };
}

