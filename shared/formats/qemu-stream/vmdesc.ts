import { utf8Decode } from '../../util/text-bytes';
import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';

/**
 * The vmdesc: JSON that QEMU appends after QEMU_VM_EOF describing every FULL section field
 * by field with the number of bytes actually written (migration/savevm.c, vmstate.c).
 */
export interface VmdescField {
  name: string;
  type: string;
  size: number;
  /** Compressed array: only element 0 is described; `size` is per element. */
  array_len?: number;
  index?: number;
  struct?: VmdescStruct;
  /** VMSTATE_WITH_TMP fields carry their own field list. */
  fields?: VmdescField[];
  vmsd_name?: string;
  version?: number;
}

export interface VmdescStruct {
  vmsd_name: string;
  version: number;
  fields?: VmdescField[];
  subsections?: VmdescStruct[];
}

/** What every description has: the fields, then the subsections QEMU wrote. */
export type VmdescLayout = Pick<VmdescStruct, 'fields' | 'subsections'>;

/** A struct or a device entry: named by its vmsd and versioned, except a legacy section's entry (see VmdescDevice). */
export type VmdescDescribed = VmdescLayout & { vmsd_name?: string; version?: number };

/**
 * One FULL section as the vmdesc lists it. A section saved through a VMStateDescription
 * names it (vmsd_name) and its version; a section saved by a legacy `save_state` handler
 * (register_savevm_live: slirp, s390-skeys, todclock, …) has neither: QEMU describes it by
 * its size only, as one "data" buffer (savevm.c vmstate_save_old_style).
 */
export interface VmdescDevice extends VmdescLayout {
  name: string;
  instance_id: number;
  vmsd_name?: string;
  version?: number;
  /** Legacy sections: the bytes the handler wrote. */
  size?: number;
}

/** Saved by a legacy save_state handler: the vmdesc gives its size, not its layout or version. */
export function isLegacyEntry(d: VmdescDevice): boolean {
  return d.vmsd_name === undefined && d.version === undefined;
}

export interface Vmdesc {
  page_size?: number;
  devices: VmdescDevice[];
  /** QEMU 10.x describes the configuration section too. */
  configuration?: VmdescStruct;
}

export interface VmdescLocation {
  /** Offset of the QEMU_VM_VMDESCRIPTION (0x06) byte. */
  offset: number;
  jsonOffset: number;
  /** Declared JSON length. */
  jsonLength: number;
  /** The declared JSON length fits in the file. */
  complete: boolean;
}

/** The vmdesc never comes near this size in practice; larger lengths are damage. */
export const MAX_VMDESC_LENGTH = 64 * 1024 * 1024;
const TAIL_STEPS = [256 * 1024, 16 * 1024 * 1024];
const SIGNATURES = ['{"page_size"', '{"configuration"'].map((s) => Array.from(s, (c) => c.charCodeAt(0)));

/**
 * Finds the vmdesc from the end of the file without walking the stream: the last
 * `06 <be32 length> {"page_size"…` or `…{"configuration"…` record in the tail.
 * QEMU puts it right after QEMU_VM_EOF, so usually it ends exactly at the end of the
 * file; trailing data (a section directory, junk) and truncation are both tolerated.
 */
export function locateVmdesc(source: ByteSource): VmdescLocation | undefined {
  for (const step of TAIL_STEPS) {
    const start = Math.max(0, source.size - step);
    const tail = readBytes(source, start, source.size - start);
    const found = scanTail(tail, start, source.size);
    if (found || start === 0) return found;
  }
  return undefined;
}

function scanTail(tail: Uint8Array, base: number, fileSize: number): VmdescLocation | undefined {
  const sigLen = SIGNATURES[1].length;
  for (let i = tail.length - 6; i >= 0; i--) {
    if (tail[i] !== 0x06 || tail[i + 5] !== 0x7b) continue;
    if (!SIGNATURES.some((sig) => matchesAt(tail, i + 5, sig))) {
      // A signature cut by the end of the file still counts when it is a prefix.
      if (!(i + 5 + sigLen > tail.length && SIGNATURES.some((sig) => prefixMatch(tail, i + 5, sig)))) continue;
    }
    const jsonLength = ((tail[i + 1] << 24) | (tail[i + 2] << 16) | (tail[i + 3] << 8) | tail[i + 4]) >>> 0;
    if (jsonLength === 0 || jsonLength > MAX_VMDESC_LENGTH) continue;
    const offset = base + i;
    const jsonOffset = offset + 5;
    return { offset, jsonOffset, jsonLength, complete: jsonOffset + jsonLength <= fileSize };
  }
  return undefined;
}

function matchesAt(buf: Uint8Array, at: number, sig: number[]): boolean {
  if (at + sig.length > buf.length) return false;
  for (let k = 0; k < sig.length; k++) if (buf[at + k] !== sig[k]) return false;
  return true;
}

function prefixMatch(buf: Uint8Array, at: number, sig: number[]): boolean {
  for (let k = 0; k < sig.length && at + k < buf.length; k++) if (buf[at + k] !== sig[k]) return false;
  return true;
}

export interface VmdescParseResult {
  vmdesc?: Vmdesc;
  /** The JSON was incomplete and only the devices before the cut were recovered. */
  partial: boolean;
  /** Why the JSON could not be used (or why only part of it). */
  problem?: string;
  /** Offset inside the JSON where the problem is, when known. */
  problemAt?: number;
}

/** Reads and parses the vmdesc at `loc`, recovering the complete devices of a cut JSON. */
export function readVmdesc(source: ByteSource, loc: VmdescLocation): VmdescParseResult {
  const available = Math.min(loc.jsonLength, source.size - loc.jsonOffset);
  const text = utf8Decode(readBytes(source, loc.jsonOffset, available));
  if (loc.complete) {
    try {
      return checkShape(JSON.parse(text), false);
    } catch (e) {
      const recovered = recoverDevices(text);
      return {
        ...(recovered ? checkShape(recovered, true) : { partial: false }),
        problem: `the vmdesc JSON does not parse: ${(e as Error).message}`,
      };
    }
  }
  const recovered = recoverDevices(text);
  return {
    ...(recovered ? checkShape(recovered, true) : { partial: false }),
    problem: `the vmdesc JSON is cut after ${available} of ${loc.jsonLength} bytes`,
    problemAt: available,
  };
}

/**
 * Cuts a damaged vmdesc JSON after the last complete device object and closes it, by
 * tracking bracket depth outside strings. Returns undefined if no device is complete.
 */
export function recoverDevices(text: string): unknown {
  const stack: string[] = [];
  let inString = false;
  let lastDeviceEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') stack.push(c);
    else if (c === '}' || c === ']') {
      stack.pop();
      // A device object closes back into the root object's "devices" array.
      if (c === '}' && stack.length === 2 && stack[0] === '{' && stack[1] === '[') lastDeviceEnd = i;
    }
  }
  if (lastDeviceEnd < 0) return undefined;
  try {
    return JSON.parse(text.slice(0, lastDeviceEnd + 1) + ']}');
  } catch {
    return undefined;
  }
}

function checkShape(json: unknown, partial: boolean): VmdescParseResult {
  const problem = shapeProblem(json);
  if (problem) return { partial, problem };
  return { vmdesc: json as Vmdesc, partial };
}

/** Validates the structure we rely on before trusting it; returns a description of the first problem. */
export function shapeProblem(json: unknown): string | undefined {
  if (!isObject(json)) return 'the vmdesc is not a JSON object';
  // Checked without recursion first: every later walk (checks, printing, copying to a
  // worker) recurses, and a hostile vmdesc can nest 10,000 levels anywhere.
  if (nestedDeeperThan(json, MAX_JSON_DEPTH)) return `the vmdesc JSON is nested more than ${MAX_JSON_DEPTH} levels deep`;
  if (json.page_size !== undefined && !isCount(json.page_size)) return '"page_size" is not a number';
  if (!Array.isArray(json.devices)) return 'the vmdesc has no "devices" array';
  for (let i = 0; i < json.devices.length; i++) {
    const d = json.devices[i] as unknown;
    if (!isObject(d) || typeof d.name !== 'string' || !isCount(d.instance_id)) return `device #${i} has no name or instance_id`;
    if (d.version !== undefined && !isCount(d.version)) return `device ${d.name}: "version" is not a number`;
    if (d.vmsd_name !== undefined && typeof d.vmsd_name !== 'string') return `device ${d.name}: "vmsd_name" is not a string`;
    const p = structProblem(d, `device ${d.name}`, 0);
    if (p) return p;
  }
  if (json.configuration !== undefined) {
    const p = structProblem(json.configuration, 'configuration', 0);
    if (p) return p;
  }
  return undefined;
}

const MAX_DEPTH = 64;
/** JSON levels of MAX_DEPTH nested structs (struct → fields → field → struct …), with room to spare. */
const MAX_JSON_DEPTH = 3 * MAX_DEPTH + 16;

/** Whether arrays and objects nest more than `limit` levels inside `value`; iterative, so any depth is safe. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  // Two stacks rather than one of [value, depth] pairs: this walks every node of a 100 KB
  // vmdesc at every open, where an array per node is most of its cost.
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return true;
    const push = (child: unknown): void => {
      if (typeof child !== 'object' || child === null) return;
      values.push(child);
      depths.push(depth + 1);
    };
    if (Array.isArray(v)) for (const child of v) push(child);
    else for (const key in v) push((v as Record<string, unknown>)[key]);
  }
  return false;
}

function structProblem(s: unknown, where: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${where} is nested too deeply`;
  if (!isObject(s)) return `${where} is not an object`;
  if (s.fields !== undefined) {
    if (!Array.isArray(s.fields)) return `${where}: "fields" is not an array`;
    for (const f of s.fields as unknown[]) {
      const p = fieldProblem(f, where, depth + 1);
      if (p) return p;
    }
  }
  if (s.subsections !== undefined) {
    if (!Array.isArray(s.subsections)) return `${where}: "subsections" is not an array`;
    for (const sub of s.subsections as unknown[]) {
      const p = structProblem(sub, `${where} subsection`, depth + 1);
      if (p) return p;
    }
  }
  return undefined;
}

function fieldProblem(f: unknown, where: string, depth: number): string | undefined {
  if (!isObject(f) || typeof f.name !== 'string' || typeof f.type !== 'string' || !isCount(f.size)) {
    return `${where}: a field lacks name, type or size`;
  }
  if (f.array_len !== undefined && !isCount(f.array_len)) return `${where}.${f.name}: bad array_len`;
  if (f.struct !== undefined) return structProblem(f.struct, `${where}.${f.name}`, depth + 1);
  if (f.fields !== undefined) return structProblem({ fields: f.fields }, `${where}.${f.name}`, depth + 1);
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
