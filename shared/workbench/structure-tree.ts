import type { ByteSpace, TreeNode } from '../api/contract';
import type { ContainerLayer } from '../formats/container-model';
import type { ByteSource } from '../io/byte-source';
import { readBytes } from '../io/byte-source';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { PAGE_KIND_NAMES, PageKind, type PageRun } from '../formats/qemu-stream/page-index';
import { guestAddressesOf, machineLayout, type MachineLayout } from '../memory/layout';
import { pciConfigSpaces } from '../memory/pci-config';
import { firstRecordStart, recordAt, recordRange } from '../formats/qemu-stream/page-records';
import { decodeSection, expandDecoded, payloadOf, payloadRange, type DecodedSection, type SectionPayload } from '../formats/qemu-stream/section-decoder';
import { intValue, type FieldNode } from '../formats/qemu-stream/vmstate-decode';
import { lastAtOrBefore } from '../util/sorted';
import { ContainerTree } from './container-tree';
import { childFieldPath, sectionAddress } from '../edit/field-path';
import { humanSize } from '../util/size';
import { guestMemoryReader, type GuestMemoryReader } from '../memory/guest-reader';

/** Lists longer than this are split into nested groups, so no reply carries thousands of nodes. */
const GROUP = 1000;
const DECODED_CACHE = 64;

/**
 * The structure tree of an image: its wrappers (libvirt, qcow2; see ContainerTree, ids w…),
 * then the QEMU stream: file header → elements (sections) → header fields,
 * decoded device fields (structs, arrays, subsections), RAM block lists, page runs and
 * page records. Children are produced lazily from node ids, which are paths:
 *   e12                element 12
 *   e12/h/2            its third header field
 *   e12/f/3/0          decoded field path (child indexes)
 *   e2/r/5             the sixth page run of element 2 (r/g/… groups when there are many)
 *   e2/r/5/p/77        record 77 of that run (p/g/… groups likewise)
 * nodePathAt() walks the same ids down to the innermost node covering a byte.
 */
export class StructureTree {
  private readonly decoded = new Map<number, DecodedSection>();
  private readonly runsOf = new Map<number, number[]>();
  private readonly firstRecord = new Map<number, number>();

  private readonly container: ContainerTree | undefined;
  /** Guest memory, for what QEMU reads from it when it loads a device (virtio ring indexes). */
  private readonly guest: GuestMemoryReader;
  /** null: the machine type has no known layout. */
  private layout: MachineLayout | null | undefined;

  /**
   * `wrappers` describe the file around the stream (its layers, and the file offset of the
   * stream's first byte when the file holds it); without them the tree is the stream's alone.
   */
  constructor(
    private readonly source: ByteSource,
    private readonly model: QemuStreamModel,
    wrappers?: { file: ByteSource; layers: readonly ContainerLayer[]; streamStart?: number },
  ) {
    if (wrappers?.layers.length) this.container = new ContainerTree(wrappers.file, wrappers.layers, wrappers.streamStart);
    this.guest = guestMemoryReader(source, model);
  }

  /** The wrappers (whose stream node holds the stream's elements), or the stream's elements. */
  roots(): TreeNode[] {
    return this.container ? this.container.roots() : this.streamRoots();
  }

  private streamRoots(): TreeNode[] {
    const nodes: TreeNode[] = [this.fileHeader()];
    for (const e of this.model.elements) nodes.push(this.elementNode(e));
    const t = this.model.trailing;
    if (t && !this.model.elements.some((e) => e.offset === t.offset)) {
      nodes.push({ id: 'trailing', kind: 'unknown', label: 'data after the stream', detail: `${t.length} bytes`, offset: t.offset, length: t.length, hasChildren: false });
    }
    return nodes;
  }

  children(id: string | null): TreeNode[] {
    if (id === null) return this.roots();
    const parts = id.split('/');
    if (this.container && id === this.container.streamNodeId) return this.streamRoots();
    if (id.startsWith('w')) return this.container?.children(id) ?? [];
    if (parts[0] === 'hdr') return parts.length === 1 ? this.fileHeaderFields() : [];
    const e = this.element(parts[0]);
    if (!e) return [];
    if (parts.length === 1) return this.elementChildren(e);
    switch (parts[1]) {
      case 'f':
        return this.fieldNodes(e, parts.slice(2), id);
      case 'b':
        return parts.length === 2 ? this.blockNodes(e) : [];
      case 'r':
        return this.runChildren(e, parts.slice(2), id);
      default:
        return [];
    }
  }

  /**
   * The address of a decoded field node as edits take it ("cpu:0.env.regs[0]"); undefined
   * for every other node (headers, groups, RAM, wrappers).
   */
  fieldAddress(id: string): string | undefined {
    const parts = id.split('/');
    const e = this.element(parts[0]);
    if (!e || parts[1] !== 'f') return undefined;
    let nodes = this.decode(e).nodes;
    let rest = parts.slice(2);
    let path = '';
    let parentIsArray = false;
    for (;;) {
      const sel = resolveGroups(rest, nodes.length);
      if (sel.index === undefined) return undefined;
      const n = nodes[sel.index];
      path = childFieldPath(path, parentIsArray, n);
      if (!sel.rest.length) return `${sectionAddress(e)}.${path}`;
      nodes = n.children ?? [];
      parentIsArray = n.type === 'array';
      rest = sel.rest;
    }
  }

  /** The stream element (section) a node id belongs to: the node itself or the element it is inside. */
  elementOf(id: string): StreamElement | undefined {
    return this.element(id.split('/')[0]);
  }

  /** Ids from a root down to the innermost node containing `offset` of `space`. */
  pathAt(offset: number, space: ByteSpace = 'stream'): string[] {
    // A bare stream is its file; otherwise file offsets lead to the wrapper nodes.
    if (space === 'file' && this.container) return this.container.pathAt(offset);
    const path = this.streamPathAt(offset);
    if (!this.container || !path.length) return path;
    const stream = this.container.streamNodeId;
    return [stream.split('/')[0], stream, ...path];
  }

  private streamPathAt(offset: number): string[] {
    if (offset < 8) return ['hdr', `hdr/${offset < 4 ? 0 : 1}`];
    const elements = this.model.elements;
    const e = elements[lastAtOrBefore(elements, offset, (x) => x.offset)];
    if (!e || offset < e.offset || offset >= e.offset + e.length) {
      const t = this.model.trailing;
      return t && offset >= t.offset ? ['trailing'] : [];
    }
    const path = [`e${e.index}`];
    const header = this.headerFields(e).findIndex((h) => offset >= h.offset && offset < h.offset + h.length);
    if (header >= 0) return [...path, `e${e.index}/h/${header}`];
    if (e.pages) return [...path, ...this.pathInRam(e, offset)];
    if (e.type === 'FULL' || e.type === 'CONFIGURATION') return [...path, ...this.pathInFields(e, offset)];
    return path;
  }

  // ---------------------------------------------------------------- file header

  private fileHeader(): TreeNode {
    return { id: 'hdr', kind: 'file-header', label: 'file header', detail: `QEVM, version ${this.model.fileVersion}`, offset: 0, length: 8, hasChildren: true };
  }

  private fileHeaderFields(): TreeNode[] {
    const b = readBytes(this.source, 0, 8);
    return [
      { id: 'hdr/0', kind: 'header-field', label: 'magic', detail: 'be32', offset: 0, length: 4, hasChildren: false, value: intValue(b.subarray(0, 4), false, false) },
      { id: 'hdr/1', kind: 'header-field', label: 'file version', detail: 'be32', offset: 4, length: 4, hasChildren: false, value: intValue(b.subarray(4, 8), false, false) },
    ];
  }

  // ---------------------------------------------------------------- elements

  private element(id: string): StreamElement | undefined {
    return id.startsWith('e') ? this.model.elements[Number(id.slice(1))] : undefined;
  }

  private elementNode(e: StreamElement): TreeNode {
    const node: TreeNode = { id: `e${e.index}`, kind: 'section', label: e.type, offset: e.offset, length: e.length, hasChildren: true };
    if (e.damaged) node.damaged = true;
    switch (e.type) {
      case 'CONFIGURATION':
        node.label = `CONFIGURATION ${e.machine ?? ''}`.trim();
        break;
      case 'FULL':
        node.label = e.idstr ?? 'FULL';
        node.detail = `FULL · instance ${e.instanceId} · v${e.versionId} · id ${e.sectionId}${e.phase === 'setup' ? ' · early setup' : ''}`;
        break;
      case 'START':
      case 'PART':
      case 'END':
        node.label = `${e.type} ${e.idstr ?? ''}`.trim();
        node.detail = e.pages ? pageSummary(e) : `section id ${e.sectionId}`;
        break;
      case 'COMMAND':
        node.label = `COMMAND ${e.cmdName ?? ''}`.trim();
        break;
      case 'VMDESCRIPTION':
        node.kind = 'vmdesc';
        node.label = 'vmdesc';
        node.detail = `${e.jsonLength ?? 0} bytes of JSON`;
        break;
      case 'EOF':
        node.hasChildren = false;
        break;
      default:
        node.kind = 'unknown';
        node.label = 'unrecognised data';
        node.detail = `${e.length} bytes`;
        node.hasChildren = false;
    }
    return node;
  }

  private elementChildren(e: StreamElement): TreeNode[] {
    const framing = this.headerFields(e).map((h, i) => ({ ...h, id: `e${e.index}/h/${i}` }));
    const content: TreeNode[] = [];
    if (e.type === 'FULL' || e.type === 'CONFIGURATION') content.push(...this.fieldNodes(e, [], `e${e.index}/f`));
    if (e.ramBlocks?.length) content.push(...this.blockListNodes(e));
    if (e.pages) content.push(...this.runChildren(e, [], `e${e.index}/r`));
    // mapped-ram interleaves block records with page regions: show everything in file order.
    content.sort((x, y) => x.offset - y.offset);
    return [...framing.filter((n) => n.kind !== 'footer'), ...content, ...framing.filter((n) => n.kind === 'footer')];
  }

  /** Framing bytes of an element as leaf nodes (ids assigned by position; the footer comes last). */
  private headerFields(e: StreamElement): Omit<TreeNode, 'id'>[] {
    const at = e.offset;
    const b = readBytes(this.source, at, 1 + 4 + 1 + 255 + 8);
    const field = (label: string, offset: number, length: number, detail: string, signed = false): Omit<TreeNode, 'id'> => ({
      kind: 'header-field',
      label,
      detail,
      offset: at + offset,
      length,
      hasChildren: false,
      value: intValue(b.subarray(offset, offset + length), signed, false),
    });
    const fields: Omit<TreeNode, 'id'>[] = [field('section type', 0, 1, 'u8')];
    switch (e.type) {
      case 'START':
      case 'FULL': {
        const n = e.idstr?.length ?? 0;
        fields.push(field('section id', 1, 4, 'be32'), field('idstr length', 5, 1, 'u8'));
        fields.push({ kind: 'header-field', label: 'idstr', detail: JSON.stringify(e.idstr), offset: at + 6, length: n, hasChildren: false, value: { kind: 'text', value: e.idstr ?? '' } });
        fields.push(field('instance id', 6 + n, 4, 'be32'), field('version id', 10 + n, 4, 'be32'));
        break;
      }
      case 'PART':
      case 'END':
        fields.push(field('section id', 1, 4, 'be32'));
        break;
      case 'COMMAND':
        fields.push(field('command', 1, 2, `be16 ${e.cmdName ?? ''}`.trim()), field('data length', 3, 2, 'be16'));
        break;
      case 'VMDESCRIPTION':
        fields.push(field('JSON length', 1, 4, 'be32'));
        fields.push({ kind: 'header-field', label: 'JSON', detail: `${e.jsonLength} bytes`, offset: at + 5, length: Math.max(0, e.length - 5), hasChildren: false });
        break;
    }
    if (e.footerOffset !== undefined) {
      fields.push({ kind: 'footer', label: 'footer', detail: `7e + section id ${e.sectionId}`, offset: e.footerOffset, length: 5, hasChildren: false });
    }
    return fields;
  }

  // ---------------------------------------------------------------- decoded fields

  /** The decoded fields of a FULL section or the configuration (decoded here unless a worker decoded them: see adoptDecoded). */
  decodedSection(e: StreamElement): DecodedSection {
    return this.decode(e);
  }

  /**
   * The payload of the section that node `id` (or, with `offset`, the stream byte) needs
   * decoded, when it is not decoded yet and its payload is over `inlineBytes`: the caller
   * decodes it elsewhere (a worker thread) and hands it back through adoptDecoded, so a
   * large or hostile section never holds up the caller's thread.
   */
  payloadToDecode(at: { id: string } | { offset: number }, inlineBytes: number): SectionPayload | undefined {
    const e = 'id' in at ? this.elementOf(at.id) : this.elementAtStreamOffset(at.offset);
    if (!e || (e.type !== 'FULL' && e.type !== 'CONFIGURATION') || this.decoded.has(e.index)) return undefined;
    const { start, end } = payloadRange(e);
    return end - start > inlineBytes ? payloadOf(this.source, this.model, e) : undefined;
  }

  /** A section decoded elsewhere (see payloadToDecode), kept as if it had been decoded here. */
  adoptDecoded(d: DecodedSection): void {
    const e = this.model.elements[d.element];
    this.remember(e ? expandDecoded(d, this.model, e, { guest: this.guest }) : d);
  }

  private elementAtStreamOffset(offset: number): StreamElement | undefined {
    const elements = this.model.elements;
    const e = elements[lastAtOrBefore(elements, offset, (x) => x.offset)];
    return e && offset >= e.offset && offset < e.offset + e.length ? e : undefined;
  }

  private decode(e: StreamElement): DecodedSection {
    return this.decoded.get(e.index) ?? this.remember(decodeSection(this.source, this.model, e, { guest: this.guest }));
  }

  private remember(d: DecodedSection): DecodedSection {
    if (this.decoded.size >= DECODED_CACHE) this.decoded.delete(this.decoded.keys().next().value!);
    this.decoded.set(d.element, d);
    return d;
  }

  /**
   * Decoded field nodes below `parts` (the id parts after "f": child indexes, with "g", n
   * group parts where a level has more than GROUP children, e.g. a 16384-entry array).
   */
  private fieldNodes(e: StreamElement, parts: string[], id: string): TreeNode[] {
    return fieldLevel(this.decode(e).nodes, parts, id, fieldTreeNode);
  }

  private pathInFields(e: StreamElement, offset: number): string[] {
    const path: string[] = [];
    let nodes = this.decode(e).nodes;
    let id = `e${e.index}/f`;
    for (;;) {
      const i = nodes.findIndex((n) => offset >= n.offset && offset < n.offset + n.size);
      if (i < 0) return path;
      for (const g of groupPath(i, nodes.length)) path.push((id = `${id}/g/${g}`));
      path.push((id = `${id}/${i}`));
      nodes = nodes[i].children ?? [];
    }
  }

  // ---------------------------------------------------------------- RAM

  /**
   * The MEM_SIZE block list: one "RAM blocks" node over the contiguous list, or, with
   * mapped-ram (page regions between the block records), the block nodes themselves.
   */
  private blockListNodes(e: StreamElement): TreeNode[] {
    const blocks = this.blockNodes(e);
    if (e.ramBlocks!.some((b) => b.mappedRam)) return blocks;
    const last = blocks[blocks.length - 1];
    return [{ id: `e${e.index}/b`, kind: 'ram-blocks', label: 'RAM blocks', detail: `${blocks.length} blocks`, offset: blocks[0].offset, length: last.offset + last.length - blocks[0].offset, hasChildren: true }];
  }

  private blockNodes(e: StreamElement): TreeNode[] {
    return (e.ramBlocks ?? []).map((b, i) => {
      const m = b.mappedRam;
      // A mapped-ram block record is followed by its header and its page bitmap.
      const end = m ? m.bitmapOffset + m.bitmapLength : b.recordOffset + 1 + b.id.length + 8 + (b.hostPageSize !== undefined ? 8 : 0) + (b.mrAddr !== undefined ? 8 : 0);
      return {
        id: `e${e.index}/b/${i}`,
        kind: 'ram-block' as const,
        label: b.id,
        detail: `${humanSize(b.usedLength)}${b.mrAddr !== undefined ? ` at 0x${b.mrAddr.toString(16)}` : ''}${m ? ` · mapped-ram, ${m.pagesPresent} pages present` : ''}`,
        offset: b.recordOffset,
        length: end - b.recordOffset,
        hasChildren: false,
      };
    });
  }

  /** Run indexes of an element in stream order. */
  private runs(e: StreamElement): number[] {
    let list = this.runsOf.get(e.index);
    if (!list) {
      list = [];
      const n = this.model.pages.runCount;
      for (let i = 0; i < n; i++) if (this.model.pages.run(i).element === e.index) list.push(i);
      this.runsOf.set(e.index, list);
    }
    return list;
  }

  private first(run: number): number {
    let f = this.firstRecord.get(run);
    if (f === undefined) {
      f = firstRecordStart(this.source, this.model, run);
      this.firstRecord.set(run, f);
    }
    return f;
  }

  /**
   * Children below `e<i>/r…`. `rest` holds the id parts after "r": group parts
   * ("g", first index) select a slice of the element's runs; then a run position selects a
   * run, whose records sit below `…/<pos>/p`, grouped the same way when there are many.
   */
  private runChildren(e: StreamElement, rest: string[], id: string): TreeNode[] {
    const runs = this.runs(e);
    const sel = resolveGroups(rest, runs.length);
    if (sel.index === undefined) {
      return groupedRange(sel.start, sel.end, id, (k, childId) => this.runNode(runs[k], childId), (from, to, childId) => this.runGroupNode(runs, from, to, childId));
    }
    const run = runs[sel.index];
    if (run === undefined) return [];
    const count = this.model.pages.run(run).count;
    const [p, ...groups] = sel.rest;
    if (p === undefined) return groupedRange(0, count, `${id}/p`, (k, childId) => this.recordNode(run, k, childId), (from, to, childId) => this.recordGroupNode(run, from, to, childId));
    if (p !== 'p') return [];
    const records = resolveGroups(groups, count);
    if (records.index !== undefined) return [];
    return groupedRange(records.start, records.end, id, (k, childId) => this.recordNode(run, k, childId), (from, to, childId) => this.recordGroupNode(run, from, to, childId));
  }

  private runNode(run: number, id: string): TreeNode {
    const r = this.model.pages.run(run);
    const first = this.first(run);
    const last = recordRange(r, first, r.count - 1);
    const block = this.model.ramBlocks[r.block]?.id ?? `block ${r.block}`;
    const ps = this.model.pageSize;
    return {
      id,
      kind: 'page-run',
      label: `${block} ${hexAddr(r.firstPage * ps)}–${hexAddr((r.firstPage + r.count) * ps - 1)}`,
      detail: `${r.count} ${PAGE_KIND_NAMES[r.kind]} record${r.count === 1 ? '' : 's'}`,
      offset: first,
      length: last.end - first,
      hasChildren: true,
    };
  }

  private runGroupNode(runs: number[], from: number, to: number, id: string): TreeNode {
    const a = this.runNode(runs[from], id);
    const b = this.runNode(runs[to - 1], id);
    return { id, kind: 'page-run', label: `runs ${from}–${to - 1}`, detail: `${to - from} runs`, offset: a.offset, length: b.offset + b.length - a.offset, hasChildren: true };
  }

  private recordNode(run: number, k: number, id: string): TreeNode {
    const r = this.model.pages.run(run);
    const range = recordRange(r, this.first(run), k);
    const page = r.firstPage + k;
    const ps = this.model.pageSize;
    const block = this.model.ramBlocks[r.block]?.id ?? `block ${r.block}`;
    const layout = this.guestLayout();
    const gpa = layout ? guestAddressesOf(layout, r.block, page * ps)[0] : undefined;
    return {
      id,
      kind: 'page',
      label: `page ${hexAddr(page * ps)}`,
      detail: `${PAGE_KIND_NAMES[r.kind]}${r.kind === 1 && r.fill ? ` fill 0x${r.fill.toString(16)}` : ''} · ${block}${gpa === undefined ? '' : ` · GPA ${hexAddr(gpa)}`}`,
      offset: range.start,
      length: range.end - range.start,
      hasChildren: false,
      guestPage: { block, blockOffset: page * ps, gpa, dataOffset: r.dataOffset + k * r.stride, dataLength: r.dataLength, literal: r.kind === PageKind.PAGE || r.kind === PageKind.MAPPED },
    };
  }

  /** The machine's guest-physical layout (device state decides PAM and BARs), found once. */
  private guestLayout(): MachineLayout | undefined {
    if (this.layout === undefined) this.layout = machineLayout(this.model, { pciConfig: pciConfigSpaces(this.source, this.model) }) ?? null;
    return this.layout ?? undefined;
  }

  private recordGroupNode(run: number, from: number, to: number, id: string): TreeNode {
    const r = this.model.pages.run(run);
    const first = this.first(run);
    const a = recordRange(r, first, from);
    const b = recordRange(r, first, to - 1);
    const ps = this.model.pageSize;
    return { id, kind: 'page-run', label: `pages ${hexAddr((r.firstPage + from) * ps)}–${hexAddr((r.firstPage + to) * ps - 1)}`, detail: `${to - from} records`, offset: a.start, length: b.end - a.start, hasChildren: true };
  }

  private pathInRam(e: StreamElement, offset: number): string[] {
    const runs = this.runs(e);
    const base = `e${e.index}`;
    if (e.ramBlocks?.length) {
      const blocks = this.blockNodes(e);
      const b = blocks.find((n) => offset >= n.offset && offset < n.offset + n.length);
      if (b) return e.ramBlocks.some((x) => x.mappedRam) ? [b.id] : [`${base}/b`, b.id];
    }
    for (let pos = 0; pos < runs.length; pos++) {
      const r: PageRun = this.model.pages.run(runs[pos]);
      const first = this.first(runs[pos]);
      const k = recordAt(r, first, offset);
      if (k < 0) continue;
      const path: string[] = [];
      let id = `${base}/r`;
      for (const g of groupPath(pos, runs.length)) path.push((id = `${id}/g/${g}`));
      path.push((id = `${id}/${pos}`));
      id = `${id}/p`;
      for (const g of groupPath(k, r.count)) path.push((id = `${id}/g/${g}`));
      path.push(`${id}/${k}`);
      return path;
    }
    return [];
  }
}

// -------------------------------------------------------------------- helpers

/**
 * Splits [start, end) into children: leaves when there are at most GROUP, else groups of
 * GROUP^k items. Leaf ids are `${parent}/${index}`, group ids `${parent}/g/${index}`
 * (the group's first item index).
 */
export function groupedRange(start: number, end: number, parent: string, leaf: (k: number, id: string) => TreeNode, group: (from: number, to: number, id: string) => TreeNode): TreeNode[] {
  const size = groupSize(end - start);
  const out: TreeNode[] = [];
  if (size === 1) for (let k = start; k < end; k++) out.push(leaf(k, `${parent}/${k}`));
  else for (let from = start; from < end; from += size) out.push(group(from, Math.min(end, from + size), `${parent}/g/${from}`));
  return out;
}

/**
 * The tree nodes of a level of decoded fields: `parts` are the id parts below the fields'
 * root (child indexes, with g/FROM group parts where a level has more than GROUP children).
 */
export function fieldLevel(nodes: readonly FieldNode[], parts: string[], id: string, leaf: (n: FieldNode, id: string) => TreeNode): TreeNode[] {
  let list = nodes;
  let sel = resolveGroups(parts, list.length);
  while (sel.index !== undefined) {
    list = list[sel.index].children ?? [];
    sel = resolveGroups(sel.rest, list.length);
  }
  if (sel.rest.length) return [];
  const level = list;
  return groupedRange(sel.start, sel.end, id, (k, childId) => leaf(level[k], childId), (from, to, childId) => ({
    id: childId,
    kind: 'array',
    label: `[${from}–${to - 1}]`,
    detail: `${to - from} entries`,
    offset: level[from].offset,
    length: level[to - 1].offset + level[to - 1].size - level[from].offset,
    hasChildren: true,
  }));
}

/** The group ids (first item indexes) on the way from the root of a list of `count` to item `k`. */
export function groupPath(k: number, count: number): number[] {
  const path: number[] = [];
  let start = 0;
  let end = count;
  for (let size = groupSize(end - start); size > 1; size = groupSize(end - start)) {
    const from = start + Math.floor((k - start) / size) * size;
    path.push(from);
    start = from;
    end = Math.min(end, from + size);
  }
  return path;
}

/** Size of the groups a list of `count` items is split into (1 when no grouping is needed). */
function groupSize(count: number): number {
  if (count <= GROUP) return 1;
  let size = GROUP;
  while (size * GROUP < count) size *= GROUP;
  return size;
}

/**
 * Follows id parts like ["g","2000","g","2500","17","p",…] through a list of `count`
 * items: the slice [start, end) the groups select, and the item index if one follows,
 * with the parts after it.
 */
export function resolveGroups(parts: string[], count: number): { start: number; end: number; index?: number; rest: string[] } {
  let start = 0;
  let end = count;
  let i = 0;
  while (parts[i] === 'g') {
    const from = Number(parts[i + 1]);
    const size = groupSize(end - start);
    if (!Number.isInteger(from) || from < start || from >= end || size === 1) return { start: 0, end: 0, rest: [] };
    end = Math.min(end, from + size);
    start = from;
    i += 2;
  }
  if (i < parts.length && /^\d+$/.test(parts[i])) {
    const index = Number(parts[i]);
    return index >= start && index < end ? { start, end, index, rest: parts.slice(i + 1) } : { start: 0, end: 0, rest: [] };
  }
  return { start, end, rest: parts.slice(i) };
}

export function fieldTreeNode(n: FieldNode, id: string): TreeNode {
  const node: TreeNode = {
    id,
    kind: n.type === 'subsection' ? 'subsection' : n.type === 'array' ? 'array' : n.children ? 'struct' : 'field',
    label: n.index !== undefined ? `${n.name}[${n.index}]` : n.name,
    detail: n.type === 'subsection' ? `subsection v${n.version}` : n.note ? `${n.type} · ${n.note}` : n.type,
    offset: n.offset,
    length: n.size,
    hasChildren: !!n.children?.length,
  };
  if (n.value) node.value = n.value;
  if (n.problem) {
    node.damaged = true;
    // A field that could not be decoded says why where it is shown.
    if (!n.children) node.detail = `${node.detail}: ${n.problem}`;
  }
  return node;
}

function pageSummary(e: StreamElement): string {
  const p = e.pages!;
  const parts = [['page', p.page], ['zero', p.zero], ['xbzrle', p.xbzrle], ['compressed', p.compress]].filter(([, n]) => (n as number) > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(', ') : 'no pages';
}

function hexAddr(n: number): string {
  return '0x' + n.toString(16);
}


