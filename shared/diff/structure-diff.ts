import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { decodeSection, type DecodedSection } from '../formats/qemu-stream/section-decoder';
import type { VmdescDescribed, VmdescField } from '../formats/qemu-stream/vmdesc';
import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';
import { childFieldPath } from '../edit/field-path';
import { formatFieldValue } from '../edit/field-value';
import { sectionLabel } from '../edit/sections';
import { toHex } from '../io/bytes';
import { placeOffset, type DiffSide } from './diff-side';
import { type FieldDifference, type SectionDifference, type SectionRef, type ValueDifference, type VmdescDifference } from '../api/image-diff';
import { groupDigits } from '../util/size';

/** Sections that carry device or iterable state: what is matched by idstr and instance. */
function matchable(e: StreamElement): boolean {
  return (e.type === 'FULL' || e.type === 'START') && e.idstr !== undefined;
}

export function sectionRefs(side: DiffSide): SectionRef[] {
  return side.model.elements.filter(matchable).map((e, position) => ({
    name: sectionLabel(e),
    idstr: e.idstr!,
    instance: e.instanceId ?? 0,
    type: e.type,
    version: e.versionId,
    sectionId: e.sectionId,
    offset: placeOffset(side, e.offset),
    length: e.length,
    position,
  }));
}

/** The element a SectionRef names. */
function elementOf(side: DiffSide, ref: SectionRef): StreamElement {
  return side.model.elements.filter(matchable)[ref.position];
}

export interface SectionMatch {
  pairs: { a: SectionRef; b: SectionRef }[];
  added: SectionRef[];
  removed: SectionRef[];
  moved: { name: string; positionA: number; positionB: number }[];
}

/**
 * Matches sections by idstr and instance, never by position (a section QEMU saves in
 * another order, or with another section id, is the same device). A name that occurs more
 * than once (damage, or RAM's START and its continuation) is matched occurrence by occurrence.
 */
export function matchSections(a: SectionRef[], b: SectionRef[]): SectionMatch {
  const key = (r: SectionRef, n: number) => `${r.type}\u0000${r.name}\u0000${n}`;
  const keyed = (refs: SectionRef[]) => {
    const seen = new Map<string, number>();
    return refs.map((r) => {
      const n = seen.get(r.type + r.name) ?? 0;
      seen.set(r.type + r.name, n + 1);
      return { k: key(r, n), r };
    });
  };
  const bByKey = new Map(keyed(b).map(({ k, r }) => [k, r]));
  const pairs: { a: SectionRef; b: SectionRef }[] = [];
  const removed: SectionRef[] = [];
  const matchedB = new Set<SectionRef>();
  for (const { k, r } of keyed(a)) {
    const other = bByKey.get(k);
    if (other) {
      pairs.push({ a: r, b: other });
      matchedB.add(other);
    } else removed.push(r);
  }
  const added = b.filter((r) => !matchedB.has(r));
  const staying = longestIncreasing(pairs.map((p) => p.b.position));
  const moved = pairs.filter((_, i) => !staying.has(i)).map((p) => ({ name: p.a.name, positionA: p.a.position, positionB: p.b.position }));
  return { pairs, added, removed, moved };
}

/** Indexes of one longest strictly increasing subsequence of `xs` (patience sorting, O(n log n)). */
function longestIncreasing(xs: number[]): Set<number> {
  const tails: number[] = [];
  const prev = new Array<number>(xs.length).fill(-1);
  for (let i = 0; i < xs.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[tails[mid]] < xs[i]) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1];
    tails[lo] = i;
  }
  const keep = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) keep.add(i);
  return keep;
}

/** Header and CONFIGURATION facts that differ. */
export function headerDifferences(a: DiffSide, b: DiffSide): ValueDifference[] {
  const out: ValueDifference[] = [];
  const fact = (what: string, va: unknown, vb: unknown, offsetA?: number, offsetB?: number) => {
    const sa = va === undefined ? '(none)' : String(va);
    const sb = vb === undefined ? '(none)' : String(vb);
    if (sa === sb) return;
    out.push({
      what,
      a: sa,
      b: sb,
      ...(offsetA === undefined ? {} : { offsetA: placeOffset(a, offsetA) }),
      ...(offsetB === undefined ? {} : { offsetB: placeOffset(b, offsetB) }),
    });
  };
  const ma = a.model;
  const mb = b.model;
  fact('file version', ma.fileVersion, mb.fileVersion, 4, 4);
  fact('machine type', ma.machineType, mb.machineType, ma.configuration?.offset, mb.configuration?.offset);
  fact('page size', ma.pageSize, mb.pageSize);
  fact('section footers', ma.sectionFooters, mb.sectionFooters);
  const subsection = (m: QemuStreamModel, name: string) => m.configuration?.subsections?.find((s) => s.name === name);
  const ta = subsection(ma, 'configuration/target-page-bits');
  const tb = subsection(mb, 'configuration/target-page-bits');
  fact('configuration target-page-bits', ta?.targetPageBits, tb?.targetPageBits, ta?.offset, tb?.offset);
  const ua = subsection(ma, 'configuration/uuid');
  const ub = subsection(mb, 'configuration/uuid');
  fact('configuration uuid', ua?.uuid, ub?.uuid, ua?.offset, ub?.offset);
  const blocksA = new Map(ma.ramBlocks.map((r) => [r.id, r]));
  const blocksB = new Map(mb.ramBlocks.map((r) => [r.id, r]));
  for (const id of new Set([...blocksA.keys(), ...blocksB.keys()])) {
    const ra = blocksA.get(id);
    const rb = blocksB.get(id);
    fact(`RAM block ${id} size`, ra?.usedLength, rb?.usedLength, ra?.recordOffset, rb?.recordOffset);
  }
  fact('ended with EOF', ma.sawEof, mb.sawEof);
  return out;
}

/** Capabilities, vmdesc placement, section ids and commands: how the state is framed, not what it is. */
export function streamFramingDifferences(a: DiffSide, b: DiffSide, pairs: SectionMatch['pairs']): { what: string; a: string; b: string }[] {
  const out: { what: string; a: string; b: string }[] = [];
  const fact = (what: string, va: string, vb: string) => {
    if (va !== vb) out.push({ what, a: va, b: vb });
  };
  fact('container', a.kind, b.kind);
  fact('wrappers', a.layers.join(' > ') || '(none)', b.layers.join(' > ') || '(none)');
  fact('offset space', a.offsetSpace, b.offsetSpace);
  if (a.fileSize !== undefined && b.fileSize !== undefined) fact('file size', `${groupDigits(a.fileSize)} bytes`, `${groupDigits(b.fileSize)} bytes`);
  fact('capabilities', [...a.model.capabilities].sort().join(', ') || '(none)', [...b.model.capabilities].sort().join(', ') || '(none)');
  fact('vmdesc', a.model.vmdesc ? (a.model.borrowedVmdesc ? 'borrowed' : 'present') : 'absent', b.model.vmdesc ? (b.model.borrowedVmdesc ? 'borrowed' : 'present') : 'absent');
  const commands = (m: QemuStreamModel) => m.elements.filter((e) => e.type === 'COMMAND').map((e) => e.cmdName ?? `command ${e.cmd}`).join(', ') || '(none)';
  fact('commands', commands(a.model), commands(b.model));
  const renumbered = pairs.filter((p) => p.a.sectionId !== p.b.sectionId);
  if (renumbered.length) {
    out.push({
      what: `section ids of ${renumbered.length} sections`,
      a: renumbered.slice(0, 8).map((p) => `${p.a.name}=${p.a.sectionId}`).join(', ') + (renumbered.length > 8 ? ', …' : ''),
      b: renumbered.slice(0, 8).map((p) => `${p.b.name}=${p.b.sectionId}`).join(', ') + (renumbered.length > 8 ? ', …' : ''),
    });
  }
  return out;
}

/** Compares two matched sections: version, then (for device sections) field by field. */
export function sectionDifference(a: DiffSide, b: DiffSide, ra: SectionRef, rb: SectionRef, withFields: boolean): SectionDifference | undefined {
  const ea = elementOf(a, ra);
  const eb = elementOf(b, rb);
  const versionChanged = ea.versionId !== eb.versionId ? { a: ea.versionId, b: eb.versionId } : undefined;
  if (ea.type !== 'FULL' || eb.type !== 'FULL') {
    return versionChanged ? { name: ra.name, a: ra, b: rb, versionChanged, describedBy: { a: '-', b: '-' }, fields: [] } : undefined;
  }
  const da = decodeSection(a.source, a.model, ea);
  const db = decodeSection(b.source, b.model, eb);
  if (!versionChanged && sameBytes(da.bytes, db.bytes)) return undefined;
  const fields = withFields ? fieldDifferences(a, b, da, db) : [];
  if (!versionChanged && withFields && fields.length === 0) return undefined;
  const notes = [da.problem && `A: ${da.problem}`, db.problem && `B: ${db.problem}`].filter(Boolean);
  return {
    name: ra.name,
    a: ra,
    b: rb,
    ...(versionChanged ? { versionChanged } : {}),
    describedBy: { a: da.describedBy, b: db.describedBy },
    fields,
    ...(notes.length ? { note: notes.join('; ') } : !withFields ? { note: 'the payload bytes differ (fields not compared)' } : {}),
  };
}

interface Leaf {
  path: string;
  node: FieldNode;
}

/** The fields that hold bytes (no children), each once, by path. */
function leaves(nodes: readonly FieldNode[]): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  const walk = (list: readonly FieldNode[], parent: string, parentIsArray: boolean) => {
    for (const n of list) {
      const path = childFieldPath(parent, parentIsArray, n);
      if (n.children && n.children.length) walk(n.children, path, n.type === 'array');
      else if (!out.has(path)) out.set(path, { path, node: n });
    }
  };
  walk(nodes, '', false);
  return out;
}

function fieldDifferences(a: DiffSide, b: DiffSide, da: DecodedSection, db: DecodedSection): FieldDifference[] {
  const la = leaves(da.nodes);
  const lb = leaves(db.nodes);
  const out: FieldDifference[] = [];
  const bytesOf = (d: DecodedSection, n: FieldNode) => d.bytes.subarray(n.offset - d.payloadOffset, n.offset - d.payloadOffset + n.size);
  for (const [path, { node: na }] of la) {
    const other = lb.get(path);
    if (!other) {
      out.push({ path, change: 'removed', typeA: na.type, sizeA: na.size, valueA: formatFieldValue(na.value), offsetA: placeOffset(a, na.offset) });
      continue;
    }
    const nb = other.node;
    const both = { typeA: na.type, typeB: nb.type, sizeA: na.size, sizeB: nb.size, offsetA: placeOffset(a, na.offset), offsetB: placeOffset(b, nb.offset) };
    const ba = bytesOf(da, na);
    const bb = bytesOf(db, nb);
    if (na.type !== nb.type || na.size !== nb.size) {
      if (na.type === nb.type || !sameBytes(ba, bb)) out.push({ path, change: 'layout', ...both, valueA: formatFieldValue(na.value), valueB: formatFieldValue(nb.value) });
      continue;
    }
    if (sameBytes(ba, bb)) continue;
    const diff: FieldDifference = { path, change: 'changed', ...both, valueA: formatFieldValue(na.value), valueB: formatFieldValue(nb.value) };
    if (na.value?.kind === 'bytes' || na.value === undefined) {
      const { first, count } = byteDifferences(ba, bb);
      diff.firstDifferingByte = first;
      diff.differingBytes = count;
      // The start of a long buffer is usually equal: show the bytes from the first difference.
      diff.valueA = `+${first}: ${shortHex(ba.subarray(first), 16)}`;
      diff.valueB = `+${first}: ${shortHex(bb.subarray(first), 16)}`;
      diff.offsetA = placeOffset(a, na.offset + first);
      diff.offsetB = placeOffset(b, nb.offset + first);
    }
    out.push(diff);
  }
  for (const [path, { node: nb }] of lb) {
    if (!la.has(path)) out.push({ path, change: 'added', typeB: nb.type, sizeB: nb.size, valueB: formatFieldValue(nb.value), offsetB: placeOffset(b, nb.offset) });
  }
  return out;
}

export function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function byteDifferences(x: Uint8Array, y: Uint8Array): { first: number; count: number } {
  let first = -1;
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  return { first: Math.max(first, 0), count };
}

/** What each vmdesc says about every field of a matched device, where the two say different things. */
export function vmdescDifferences(a: DiffSide, b: DiffSide, pairs: SectionMatch['pairs']): VmdescDifference[] {
  const out: VmdescDifference[] = [];
  const va = a.model.vmdesc;
  const vb = b.model.vmdesc;
  if (!va || !vb) return out;
  const ca = va.configuration ? describeStruct(va.configuration) : undefined;
  const cb = vb.configuration ? describeStruct(vb.configuration) : undefined;
  if (!!ca !== !!cb) out.push({ section: 'configuration', path: '', a: ca ? 'described' : undefined, b: cb ? 'described' : undefined });
  for (const { a: ra, b: rb } of pairs) {
    const ea = elementOf(a, ra);
    const eb = elementOf(b, rb);
    if (ea.type !== 'FULL') continue;
    const sa = ea.deviceIndex === undefined ? undefined : va.devices[ea.deviceIndex];
    const sb = eb.deviceIndex === undefined ? undefined : vb.devices[eb.deviceIndex];
    if (!sa || !sb) continue;
    const ma = describeStruct(sa);
    const mb = describeStruct(sb);
    for (const path of new Set([...ma.keys(), ...mb.keys()])) {
      const x = ma.get(path);
      const y = mb.get(path);
      if (x !== y) out.push({ section: ra.name, path, ...(x === undefined ? {} : { a: x }), ...(y === undefined ? {} : { b: y }) });
    }
  }
  return out;
}

/** Every field and subsection of a vmdesc struct as path → "type, size" (with vmsd versions). */
function describeStruct(s: VmdescDescribed): Map<string, string> {
  const out = new Map<string, string>();
  const walkStruct = (st: VmdescDescribed, prefix: string) => {
    // A legacy handler's section (register_savevm_live) has neither a vmsd nor a version.
    out.set(prefix || '(section)', st.vmsd_name === undefined ? 'legacy section, no vmsd' : `vmsd ${st.vmsd_name} version ${st.version}`);
    walkFields(st.fields ?? [], prefix);
    for (const sub of st.subsections ?? []) walkStruct(sub, `${prefix ? prefix + '.' : ''}${sub.vmsd_name}`);
  };
  const walkFields = (fields: readonly VmdescField[], prefix: string) => {
    for (const f of fields) {
      const path = `${prefix ? prefix + '.' : ''}${f.name}${f.index !== undefined ? `[${f.index}]` : ''}`;
      out.set(path, `${f.type}, ${f.size} bytes${f.array_len !== undefined ? ` × ${f.array_len}` : ''}`);
      if (f.struct) walkStruct(f.struct, path);
      if (f.fields) walkFields(f.fields, path);
    }
  };
  walkStruct(s, '');
  return out;
}

/** Hex of at most `max` bytes. */
export function shortHex(bytes: Uint8Array, max = 32): string {
  return toHex(bytes.subarray(0, max)) + (bytes.length > max ? '…' : '');
}
