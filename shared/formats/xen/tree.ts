import type { TreeNode } from '../../api/contract';
import { readBytes, type ByteSource } from '../../io/byte-source';
import { StructureTree, fieldLevel, fieldTreeNode, groupPath, groupedRange, resolveGroups } from '../../workbench/structure-tree';
import type { FieldNode } from '../qemu-stream/vmstate-decode';
import { DOMAIN_TYPE_NAMES, LEGACY_CHUNK_NAMES, LibxcRecord, LibxlRecord, RECORD_HEADER_BYTES, XEN_PAGE_SIZE, XL_HEADER_BYTES } from './constants';
import { decodeLayout, struct, text, u32, u64, type Layout } from './layout';
import type { LegacyChunk, LegacyModel } from './legacy-model';
import {
  LEGACY_HVM_MAGIC_PFNS,
  LEGACY_PARAM,
  LEGACY_PHYSMAP_ENTRY,
  LEGACY_TSC_INFO,
  LIBXC_DOMAIN_HEADER,
  LIBXC_IMAGE_HEADER,
  LIBXL_HEADER,
  PV_VCPU_XSAVE,
  pvVcpuContext,
  sharedInfo,
  XL_HEADER,
} from './layouts';
import type { XenRecord, XenStreamModel } from './model';
import { openNestedQemu, type NestedQemu } from './nested-qemu';
import { legacyEntry, LEGACY_XTAB_FILLER } from './parse-legacy';
import { decodeHvmContext, decodeRecordBody, describePfnEntry, describeRecord, recordHeaderFields, recordName, recordPadding } from './records';
import { XenBytes } from './wire';

const DECODED_CACHE = 64;
/** Parent id of top-level groups: top/g/1000, top/g/1000/g/1500 … */
const TOP = 'top';

/**
 * The structure tree of a Xen stream, in file space: the xl header and its domain config,
 * the libxl header, libxc image headers, every record (libxl and libxc, in file order, with
 * checkpoints named) with its header fields, decoded body, pages and padding; for a legacy
 * stream its header, extended info, p2m frame list, chunks, tails and qemu records. The QEMU
 * device state in EMULATOR_CONTEXT (or a legacy qemu record) hangs below its record as a
 * nested level, the QEMU engine's own tree with file offsets. Ids are paths:
 *   xl, xl/3, xl/c        xl header, its fourth field, the domain config
 *   lh, lh/1              libxl header
 *   i0, i0/5              libxc image 0 (image and domain header fields)
 *   r12, r12/h/0          record 12, its type field
 *   r12/f/2/g/0/7         a decoded body field (child indexes, groups of 1000)
 *   r12/pg/5              the sixth page of a PAGE_DATA record
 *   r12/q, r12/q/e4/f/1   EMULATOR_CONTEXT's QEMU state, a node of its tree
 *   top/g/1000            a group of top-level items when there are many
 *   lg/h lg/x lg/p        legacy header, extended info, p2m frame list
 *   k7, t0, q0            legacy chunk 7, tail and qemu record of checkpoint 0
 */
type Item = { id: string; offset: number; node: () => TreeNode };

export class XenTree {
  private items?: Item[];
  private readonly decoded = new Map<string, FieldNode[]>();
  private readonly nested = new Map<string, { q: NestedQemu; tree: StructureTree }>();

  constructor(
    private readonly file: ByteSource,
    private readonly model: XenStreamModel,
  ) {}

  roots(): TreeNode[] {
    const items = this.topItems();
    return groupedRange(0, items.length, TOP, (k) => items[k].node(), (from, to, id) => this.groupNode(items, from, to, id));
  }

  children(id: string | null): TreeNode[] {
    if (id === null) return this.roots();
    const parts = id.split('/');
    if (parts[0] === TOP) {
      const items = this.topItems();
      const sel = resolveGroups(parts.slice(1), items.length);
      if (sel.index !== undefined || sel.rest.length) return [];
      return groupedRange(sel.start, sel.end, id, (k) => items[k].node(), (from, to, gid) => this.groupNode(items, from, to, gid));
    }
    const head = parts[0];
    const rest = parts.slice(1);
    if (head === 'xl') return this.xlChildren(rest);
    if (head === 'lh') return rest.length ? [] : this.fields(this.libxlHeaderFields(), 'lh', 'header-field');
    if (/^i\d+$/.test(head)) return rest.length ? [] : this.fields(this.imageFields(Number(head.slice(1))), head, 'header-field');
    if (/^r\d+$/.test(head)) return this.recordChildren(Number(head.slice(1)), rest, id);
    if (head === 'lg') return this.legacyChildren(rest);
    if (/^[ktq]\d+$/.test(head)) return this.legacyItemChildren(head, rest, id);
    return [];
  }

  /** Ids from a root down to the innermost node containing file offset `offset`. */
  pathAt(offset: number): string[] {
    const items = this.topItems();
    let k = -1;
    for (let lo = 0, hi = items.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      if (items[mid].offset <= offset) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (k < 0) return [];
    const top = items[k].node();
    if (offset >= top.offset + top.length) return [];
    const groups: string[] = [];
    let group = TOP;
    for (const g of groupPath(k, items.length)) groups.push((group = `${group}/g/${g}`));
    return [...groups, ...this.descend(top, offset)];
  }

  private descend(node: TreeNode, offset: number): string[] {
    const path = [node.id];
    let current = node;
    for (let depth = 0; depth < 64 && current.hasChildren; depth++) {
      if (current.id.includes('/q') && this.nestedPathAt(current.id, offset, path)) return path;
      const hit = this.children(current.id).find((c) => offset >= c.offset && offset < c.offset + Math.max(1, c.length));
      if (!hit) break;
      path.push(hit.id);
      current = hit;
    }
    return path;
  }

  /** Below a QEMU state node: the QEMU tree's own path for the offset. */
  private nestedPathAt(id: string, offset: number, path: string[]): boolean {
    const m = /^([rq]\d+\/q)$/.exec(id) ?? /^(q\d+\/q)$/.exec(id);
    if (!m) return false;
    const n = this.nestedOf(m[1]);
    if (!n || offset < n.q.offset || offset >= n.q.offset + n.q.length) return false;
    path.push(...n.tree.pathAt(offset - n.q.offset, 'stream').map((inner) => `${m[1]}/${inner}`));
    return true;
  }

  // ---------------------------------------------------------------- top level

  private topItems(): Item[] {
    if (this.items) return this.items;
    const m = this.model;
    const items: Item[] = [];
    if (m.xl) items.push({ id: 'xl', offset: 0, node: () => this.xlNode() });
    if (m.libxl) items.push({ id: 'lh', offset: m.libxl.offset, node: () => this.headerNode('lh', 'libxl header', `"LibxlFmt" v${m.libxl!.version}${m.libxl!.legacy ? ' · converted from a legacy stream' : ''}`, m.libxl!.offset, m.libxl!.length) });
    m.images.forEach((img, i) =>
      items.push({
        id: `i${i}`,
        offset: img.offset,
        node: () => this.headerNode(`i${i}`, 'libxc image header', `v${img.version} · ${DOMAIN_TYPE_NAMES[img.domainType] ?? `type ${img.domainType}`} · ${img.xenMajor ? `Xen ${img.xenMajor}.${img.xenMinor}` : 'legacy converted'}`, img.offset, img.length),
      }),
    );
    for (const r of m.records) items.push({ id: `r${r.index}`, offset: r.offset, node: () => this.recordNode(r) });
    if (m.legacy) this.legacyItems(m.legacy, items);
    if (m.trailing) items.push({ id: 'trailing', offset: m.trailing.offset, node: () => ({ id: 'trailing', kind: 'unknown', label: 'data after the stream', detail: `${m.trailing!.length} bytes`, offset: m.trailing!.offset, length: m.trailing!.length, hasChildren: false }) });
    items.sort((a, b) => a.offset - b.offset);
    return (this.items = items);
  }

  private groupNode(items: Item[], from: number, to: number, id: string): TreeNode {
    const a = items[from].node();
    const b = items[to - 1].node();
    return { id, kind: 'page-run', label: `items ${from}–${to - 1}`, detail: `${to - from} records`, offset: a.offset, length: b.offset + b.length - a.offset, hasChildren: true };
  }

  private headerNode(id: string, label: string, detail: string, offset: number, length: number): TreeNode {
    return { id, kind: 'file-header', label, detail, offset, length, hasChildren: true };
  }

  private fields(nodes: FieldNode[], parent: string, kind: TreeNode['kind'] = 'field'): TreeNode[] {
    return nodes.map((n, k) => ({ ...fieldTreeNode(n, `${parent}/${k}`), ...(kind === 'header-field' && !n.children ? { kind } : {}) }));
  }

  // ---------------------------------------------------------------- xl / libxl / libxc headers

  private xlNode(): TreeNode {
    const xl = this.model.xl!;
    return this.headerNode('xl', 'xl save header', `${xl.streamV2 ? 'libxl v2 stream' : 'legacy stream'}${xl.config ? ` · ${xl.config.json ? 'JSON' : 'xm'} config, ${xl.config.length} bytes` : ''}`, 0, xl.length);
  }

  private xlChildren(rest: string[]): TreeNode[] {
    if (rest.length) return [];
    const xl = this.model.xl!;
    const nodes = this.fields(decodeLayout(readBytes(this.file, 0, XL_HEADER_BYTES), 0, XL_HEADER, xl.littleEndian).nodes, 'xl', 'header-field');
    if (xl.config) {
      nodes.push({ id: 'xl/c', kind: 'container-part', label: 'domain configuration', detail: xl.config.json ? 'JSON' : 'xm-style text', offset: xl.config.offset - 4, length: xl.config.length + 4, hasChildren: false, value: { kind: 'text', value: xl.config.text } });
    }
    return nodes;
  }

  private libxlHeaderFields(): FieldNode[] {
    const h = this.model.libxl!;
    return decodeLayout(readBytes(this.file, h.offset, h.length), h.offset, LIBXL_HEADER, false).nodes;
  }

  private imageFields(i: number): FieldNode[] {
    const img = this.model.images[i];
    if (!img) return [];
    const b = readBytes(this.file, img.offset, img.length);
    return [...decodeLayout(b.subarray(0, 24), img.offset, LIBXC_IMAGE_HEADER, false).nodes, ...decodeLayout(b.subarray(24), img.offset + 24, LIBXC_DOMAIN_HEADER, img.littleEndian).nodes];
  }

  // ---------------------------------------------------------------- records

  private recordNode(r: XenRecord): TreeNode {
    const name = recordName(r);
    const cp = this.model.checkpoints > 0 ? ` · checkpoint ${r.checkpoint}` : '';
    const node: TreeNode = { id: `r${r.index}`, kind: 'section', label: `${r.layer} ${name}`, detail: `${describeRecord(this.file, this.model, r)}${cp}`, offset: r.offset, length: r.length, hasChildren: !r.resynced };
    if (r.resynced || r.truncated) node.damaged = true;
    if (r.resynced) node.kind = 'unknown';
    return node;
  }

  private body(r: XenRecord): FieldNode[] {
    const key = `r${r.index}`;
    let d = this.decoded.get(key);
    if (!d) {
      d = decodeRecordBody(this.file, this.model, r);
      this.remember(key, d);
    }
    return d;
  }

  private remember(key: string, d: FieldNode[]): void {
    if (this.decoded.size >= DECODED_CACHE) this.decoded.delete(this.decoded.keys().next().value!);
    this.decoded.set(key, d);
  }

  private recordChildren(index: number, rest: string[], id: string): TreeNode[] {
    const r = this.model.records[index];
    if (!r || r.resynced) return [];
    const base = `r${index}`;
    if (!rest.length) {
      const out: TreeNode[] = this.fields(recordHeaderFields(this.file, this.model, r), `${base}/h`, 'header-field');
      const body = this.body(r);
      const isPages = r.layer === 'libxc' && r.type === LibxcRecord.PAGE_DATA;
      const isEmulator = r.layer === 'libxl' && r.type === LibxlRecord.EMULATOR_CONTEXT;
      body.forEach((n, k) => {
        if (isEmulator && n.name === 'emulator_ctx') return;
        out.push(this.fieldNode(n, `${base}/f/${k}`, isPages));
      });
      if (isPages) out.push(...this.pagesNode(r));
      if (isEmulator) out.push(this.qemuNode(base, this.model.emulators.find((e) => e.record === r.index)));
      const pad = recordPadding(r);
      if (pad) out.push({ id: `${base}/pad`, kind: 'footer', label: 'padding', detail: `${pad.length} bytes to the 8-byte framing`, offset: pad.offset, length: pad.length, hasChildren: false });
      return out;
    }
    if (rest[0] === 'f') return this.fieldChildren(this.body(r), rest.slice(1), id, r.layer === 'libxc' && r.type === LibxcRecord.PAGE_DATA);
    if (rest[0] === 'pg') return this.pageChildren(r, rest.slice(1), id);
    if (rest[0] === 'q') return this.nestedChildren(`${base}/q`, rest.slice(1));
    return [];
  }

  private fieldNode(n: FieldNode, id: string, pfns: boolean): TreeNode {
    const node = fieldTreeNode(n, id);
    if (pfns && n.type === 'array') node.detail = `${n.children?.length ?? 0} entries`;
    if (pfns && n.name === 'pfn' && n.value?.kind === 'int') node.detail = describePfnEntry(BigInt(n.value.hex)).label;
    return node;
  }

  /** Field nodes below `parts` (child indexes, with g/from group parts where a level has more than 1000). */
  private fieldChildren(nodes: FieldNode[], parts: string[], id: string, pfns: boolean): TreeNode[] {
    return fieldLevel(nodes, parts, id, (n, childId) => this.fieldNode(n, childId, pfns));
  }

  /** PAGE_DATA: the pages that follow the pfn list, one node per page with data. */
  private pageList(r: XenRecord): { pfn: number; type: number; offset: number }[] {
    const le = this.model.images[r.image ?? 0]?.littleEndian ?? true;
    const at = r.offset + RECORD_HEADER_BYTES;
    const head = XenBytes.at(this.file, at, 8, le);
    if (head.length < 8) return [];
    const count = head.u32(0);
    const listed = Math.min(count, Math.floor((Math.min(r.bodyLength, this.file.size - at) - 8) / 8));
    const list = XenBytes.at(this.file, at + 8, listed * 8, le);
    const out: { pfn: number; type: number; offset: number }[] = [];
    let data = at + 8 + count * 8;
    for (let k = 0; k < listed; k++) {
      const e = describePfnEntry(list.u64big(k * 8));
      if ((e.type & 7) <= 4) {
        if (data + XEN_PAGE_SIZE <= this.file.size && data + XEN_PAGE_SIZE <= at + r.bodyLength) out.push({ pfn: e.pfn, type: e.type, offset: data });
        data += XEN_PAGE_SIZE;
      }
    }
    return out;
  }

  private pagesNode(r: XenRecord): TreeNode[] {
    const pages = this.pageList(r);
    if (!pages.length) return [];
    const first = pages[0].offset;
    return [{ id: `r${r.index}/pg`, kind: 'page-run', label: 'pages', detail: `${pages.length} × 4 KiB`, offset: first, length: pages[pages.length - 1].offset + XEN_PAGE_SIZE - first, hasChildren: true }];
  }

  private pageChildren(r: XenRecord, rest: string[], id: string): TreeNode[] {
    const pages = this.pageList(r);
    const sel = resolveGroups(rest, pages.length);
    if (sel.index !== undefined) return [];
    const gpa = this.model.domain.type === 'hvm';
    return groupedRange(sel.start, sel.end, id, (k, childId) => pageNode(pages[k], childId, gpa), (from, to, childId) => ({ id: childId, kind: 'page-run', label: `pages ${from}–${to - 1}`, detail: `${to - from} pages`, offset: pages[from].offset, length: pages[to - 1].offset + XEN_PAGE_SIZE - pages[from].offset, hasChildren: true }));
  }

  // ---------------------------------------------------------------- nested QEMU state

  private qemuNode(base: string, blob: { offset: number; length: number; qemu: boolean } | undefined): TreeNode {
    const id = `${base}/q`;
    if (!blob) return { id, kind: 'container-part', label: 'emulator context', detail: 'empty', offset: 0, length: 0, hasChildren: false };
    return { id, kind: 'stream', label: blob.qemu ? 'QEMU device state' : 'emulator context', detail: `${blob.length} bytes${blob.qemu ? ' · QEVM stream' : ' · not a QEVM stream'}`, offset: blob.offset, length: blob.length, hasChildren: blob.qemu };
  }

  private nestedOf(id: string): { q: NestedQemu; tree: StructureTree } | undefined {
    let n = this.nested.get(id);
    if (n) return n;
    const blob = this.blobOf(id);
    if (!blob) return undefined;
    const q = openNestedQemu(this.file, blob.offset, blob.length);
    n = { q, tree: new StructureTree(q.source, q.model) };
    this.nested.set(id, n);
    return n;
  }

  private blobOf(id: string): { offset: number; length: number } | undefined {
    const m = /^r(\d+)\/q$/.exec(id);
    if (m) {
      const e = this.model.emulators.find((x) => x.record === Number(m[1]));
      return e?.qemu ? e : undefined;
    }
    const l = /^q(\d+)\/q$/.exec(id);
    const rec = l ? this.model.legacy?.checkpoints[Number(l[1])]?.qemu : undefined;
    return rec?.qemu ? rec.data : undefined;
  }

  /** The QEMU tree's nodes below `prefix`, moved to file offsets. */
  private nestedChildren(prefix: string, inner: string[]): TreeNode[] {
    const n = this.nestedOf(prefix);
    if (!n) return [];
    const nodes = inner.length ? n.tree.children(inner.join('/')) : n.tree.roots();
    return nodes.map((x) => ({ ...x, id: `${prefix}/${x.id}`, offset: x.offset + n.q.offset }));
  }

  /** The nested QEMU model and tree of a QEMU state node ("r12/q", "q0/q"), for field addresses and JSON. */
  nestedAt(id: string): { prefix: string; q: NestedQemu; tree: StructureTree; inner: string } | undefined {
    const m = /^((?:r|q)\d+\/q)(?:\/(.*))?$/.exec(id);
    if (!m) return undefined;
    const n = this.nestedOf(m[1]);
    return n && { prefix: m[1], q: n.q, tree: n.tree, inner: m[2] ?? '' };
  }

  // ---------------------------------------------------------------- legacy

  private legacyItems(m: LegacyModel, items: Item[]): void {
    const w = m.width;
    items.push({ id: 'lg/h', offset: m.offset, node: () => ({ id: 'lg/h', kind: 'file-header', label: 'p2m_size', detail: `${m.p2mSize} · ${w * 8}-bit toolstack (${m.widthEvidence}) · ${m.guest.toUpperCase()} guest (${m.guestEvidence})`, offset: m.offset, length: w, hasChildren: false, value: this.intAt(m.offset, w) }) });
    const x = m.extendedInfo;
    if (x) items.push({ id: 'lg/x', offset: x.offset, node: () => ({ id: 'lg/x', kind: 'file-header', label: 'extended info', detail: `${x.blocks.map((b) => b.id).join(', ')}${x.guestWidth ? ` · ${x.guestWidth * 8}-bit guest` : ''}`, offset: x.offset, length: x.length, hasChildren: true }) });
    const p = m.p2mFrameList;
    if (p) items.push({ id: 'lg/p', offset: p.offset, node: () => ({ id: 'lg/p', kind: 'array', label: 'p2m frame list', detail: `${p.count} frames`, offset: p.offset, length: p.length, hasChildren: p.count > 0 }) });
    m.checkpoints.forEach((cp, k) => {
      for (const c of cp.chunks) items.push({ id: `k${c.index}`, offset: c.offset, node: () => this.chunkNode(c, m, k) });
      const t = cp.tail;
      if (t) items.push({ id: `t${k}`, offset: t.offset, node: () => ({ id: `t${k}`, kind: 'section', label: `${m.guest.toUpperCase()} tail`, detail: m.checkpoints.length > 1 ? `checkpoint ${k}` : `${t.length} bytes`, offset: t.offset, length: t.length, hasChildren: true }) });
      const q = cp.qemu;
      if (q) items.push({ id: `q${k}`, offset: q.offset, node: () => ({ id: `q${k}`, kind: 'section', label: `qemu record ${q.signature}`, detail: `${q.data.length} bytes${q.qemu ? ' · QEVM stream' : ''}`, offset: q.offset, length: q.length, hasChildren: true }) });
    });
  }

  private intAt(offset: number, width: number): TreeNode['value'] {
    return decodeLayout(readBytes(this.file, offset, width), offset, [{ name: 'v', type: width === 8 ? 'uint64' : 'uint32' }], true).nodes[0]?.value;
  }

  private chunkNode(c: LegacyChunk, m: LegacyModel, checkpoint: number): TreeNode {
    const name = c.marker > 0 ? `page batch` : LEGACY_CHUNK_NAMES[c.marker] ?? `chunk ${c.marker}`;
    const detail =
      c.kind === 'pages' ? `${c.entries} pfns, ${c.pages} pages` : c.kind === 'pfns' ? `${c.entries} pfns (pages in COMPRESSED_DATA)` : c.kind === 'param' ? `0x${(c.value ?? 0).toString(16)}` : c.kind === 'tmem' ? `${c.tmem?.pools} pools, ${c.tmem?.pages} persistent pages` : `${c.length} bytes`;
    return { id: `k${c.index}`, kind: 'section', label: `chunk ${c.marker}: ${name}`, detail: m.checkpoints.length > 1 ? `${detail} · checkpoint ${checkpoint}` : detail, offset: c.offset, length: c.length, hasChildren: c.length > 4 };
  }

  private legacyChildren(rest: string[]): TreeNode[] {
    const m = this.model.legacy!;
    if (rest[0] === 'x' && m.extendedInfo) {
      const x = m.extendedInfo;
      const gw = x.guestWidth ?? 8;
      if (rest.length === 1) {
        return x.blocks.map((b, k) => ({ id: `lg/x/${k}`, kind: 'struct', label: `block "${b.id}"`, detail: `${b.size} bytes`, offset: b.offset, length: 8 + b.size, hasChildren: true }));
      }
      const b = x.blocks[Number(rest[1])];
      if (!b) return [];
      const layout: Layout = [text('id', 4), u32('size'), ...(b.id === 'vcpu' ? [struct('context', pvVcpuContext(gw))] : b.id === 'xcnt' ? [u32('xsave_size')] : [])];
      return this.fieldChildren(this.cachedLayout(`lg/x/${rest[1]}`, b.offset, 8 + b.size, layout), rest.slice(2), ['lg', ...rest].join('/'), false);
    }
    if (rest[0] === 'p' && m.p2mFrameList) {
      const p = m.p2mFrameList;
      return this.fieldChildren(this.cachedLayout('lg/p', p.offset, p.length, [{ name: 'p2m_frame', type: m.width === 8 ? 'uint64' : 'uint32', count: p.count }])[0]?.children ?? [], rest.slice(1), ['lg', ...rest].join('/'), false);
    }
    return [];
  }

  private cachedLayout(key: string, offset: number, length: number, layout: Layout): FieldNode[] {
    let d = this.decoded.get(key);
    if (!d) {
      d = decodeLayout(readBytes(this.file, offset, length), offset, layout, true).nodes;
      this.remember(key, d);
    }
    return d;
  }

  private legacyItemChildren(head: string, rest: string[], id: string): TreeNode[] {
    const m = this.model.legacy;
    if (!m) return [];
    const k = Number(head.slice(1));
    if (head[0] === 'k') {
      const c = m.checkpoints.flatMap((cp) => cp.chunks).find((x) => x.index === k);
      if (!c) return [];
      if (rest[0] === 'pg') return this.legacyPageChildren(c, m, rest.slice(1), id);
      const fields = this.cachedLayout(head, c.offset, c.length, chunkLayout(c, m, this.file));
      const nodes = rest.length ? this.fieldChildren(fields, rest, id, false) : fields.map((n, j) => fieldTreeNode(n, `${head}/${j}`));
      if (!rest.length && c.kind === 'pages' && c.pages) {
        const first = c.offset + 4 + (c.entries ?? 0) * m.width;
        nodes.push({ id: `${head}/pg`, kind: 'page-run', label: 'pages', detail: `${c.pages} × 4 KiB`, offset: first, length: c.pages * XEN_PAGE_SIZE, hasChildren: true });
      }
      return nodes;
    }
    const cp = m.checkpoints[k];
    if (head[0] === 't' && cp?.tail) {
      let fields = this.decoded.get(head);
      if (!fields) this.remember(head, (fields = this.tailFields(cp.tail, m)));
      return this.fieldChildren(fields, rest, id, false);
    }
    if (head[0] === 'q' && cp?.qemu) {
      const q = cp.qemu;
      if (rest[0] === 'q') return this.nestedChildren(`${head}/q`, rest.slice(1));
      if (rest.length) return [];
      const sig = decodeLayout(readBytes(this.file, q.offset, q.data.offset - q.offset), q.offset, [text('signature', 21), ...(q.data.offset > q.offset + 21 ? [u32('length')] : [])], true).nodes;
      return [...sig.map((n, j) => ({ ...fieldTreeNode(n, `${head}/${j}`), kind: 'header-field' as const })), this.qemuNode(head, { offset: q.data.offset, length: q.data.length, qemu: q.qemu })];
    }
    return [];
  }

  private tailFields(t: NonNullable<LegacyModel['checkpoints'][number]['tail']>, m: LegacyModel): FieldNode[] {
    const out: FieldNode[] = [];
    if (t.magicPfns && t.hvmContext) {
      out.push(...decodeLayout(readBytes(this.file, t.offset, 28), t.offset, [...LEGACY_HVM_MAGIC_PFNS, u32('context_length')], true).nodes);
      out.push({ name: 'hvm_context', type: 'struct', offset: t.hvmContext.offset, size: t.hvmContext.length, children: decodeHvmContext(readBytes(this.file, t.hvmContext.offset, t.hvmContext.length), t.hvmContext.offset) });
    }
    if (t.unmappedPfns) {
      out.push(...decodeLayout(readBytes(this.file, t.offset, 4), t.offset, [u32('nr_unmapped_pfns')], true).nodes);
      if (t.unmappedPfns.count) out.push(...decodeLayout(readBytes(this.file, t.unmappedPfns.offset, t.unmappedPfns.length), t.unmappedPfns.offset, [{ name: 'unmapped_pfn', type: m.width === 8 ? 'uint64' : 'uint32', count: t.unmappedPfns.count }], true).nodes);
      const gw = m.extendedInfo?.guestWidth ?? 8;
      for (const v of t.vcpus ?? []) {
        const children = decodeLayout(readBytes(this.file, v.basic.offset, v.basic.length), v.basic.offset, [struct('context', pvVcpuContext(gw))], true).nodes;
        if (v.extended) children.push(...decodeLayout(readBytes(this.file, v.extended.offset, v.extended.length), v.extended.offset, [{ name: 'extended', type: 'buffer', size: v.extended.length }], true).nodes);
        if (v.xsave) children.push(...decodeLayout(readBytes(this.file, v.xsave.offset - 16, v.xsave.length + 16), v.xsave.offset - 16, [u64('xsave_mask'), u64('xsave_size'), struct('xsave', PV_VCPU_XSAVE)], true).nodes);
        const end = (v.xsave ?? v.extended ?? v.basic).offset + (v.xsave ?? v.extended ?? v.basic).length;
        out.push({ name: `vcpu${v.id}`, type: 'struct', offset: v.basic.offset, size: end - v.basic.offset, children });
      }
      if (t.sharedInfo) out.push(...decodeLayout(readBytes(this.file, t.sharedInfo.offset, XEN_PAGE_SIZE), t.sharedInfo.offset, [struct('shared_info', sharedInfo(gw))], true).nodes);
    }
    return out;
  }

  private legacyPageChildren(c: LegacyChunk, m: LegacyModel, rest: string[], id: string): TreeNode[] {
    const list = XenBytes.at(this.file, c.offset + 4, (c.entries ?? 0) * m.width, true);
    const pages: { pfn: number; type: number; offset: number }[] = [];
    let data = c.offset + 4 + (c.entries ?? 0) * m.width;
    for (let k = 0; k < (c.entries ?? 0); k++) {
      const e = list.ulong(k * m.width, m.width);
      if (e === LEGACY_XTAB_FILLER) continue;
      const { pfn, type } = legacyEntry(e, m.width);
      if (type < 0xd) {
        pages.push({ pfn, type, offset: data });
        data += XEN_PAGE_SIZE;
      }
    }
    const sel = resolveGroups(rest, pages.length);
    if (sel.index !== undefined) return [];
    const gpa = m.guest === 'hvm';
    return groupedRange(sel.start, sel.end, id, (k, childId) => pageNode(pages[k], childId, gpa), (from, to, childId) => ({ id: childId, kind: 'page-run', label: `pages ${from}–${to - 1}`, detail: `${to - from} pages`, offset: pages[from].offset, length: pages[to - 1].offset + XEN_PAGE_SIZE - pages[from].offset, hasChildren: true }));
  }
}

function pageNode(p: { pfn: number; type: number; offset: number }, id: string, gpa: boolean): TreeNode {
  const entry = describePfnEntry((BigInt(p.type) << 60n) | BigInt(p.pfn));
  return { id, kind: 'page', label: `page ${entry.label.replace(/^pfn /, 'pfn ')}`, detail: gpa ? `gpa 0x${(p.pfn * XEN_PAGE_SIZE).toString(16)}` : 'pseudo-physical', offset: p.offset, length: XEN_PAGE_SIZE, hasChildren: false };
}

/** The fields of a legacy chunk (its marker, then what its id says follows). */
export function chunkLayout(c: LegacyChunk, m: LegacyModel, file: ByteSource): Layout {
  const marker = [{ name: 'marker', type: 'int32' as const }];
  const ulong = m.width === 8 ? ('uint64' as const) : ('uint32' as const);
  switch (c.kind) {
    case 'pages':
    case 'pfns':
      return [...marker, { name: 'pfn', type: ulong, count: c.entries }];
    case 'param':
      return [...marker, ...LEGACY_PARAM];
    case 'tsc':
      return [...marker, ...LEGACY_TSC_INFO];
    case 'vcpu-info': {
      const max = XenBytes.at(file, c.offset + 4, 4, true).i32(0);
      return [...marker, { name: 'max_vcpu_id', type: 'int32' }, { name: 'vcpu_online_map', type: 'uint64', count: Math.floor(Math.max(0, max) / 64) + 1 }];
    }
    case 'toolstack': {
      const entries = physmapLayout(readBytes(file, c.dataOffset ?? 0, c.dataLength ?? 0), m.width);
      return [...marker, u32('length'), ...entries];
    }
    case 'compressed':
      return [...marker, u32('length'), { name: 'deltas', type: 'buffer', size: c.dataLength ?? 0 }];
    case 'tmem':
    case 'tmem-extra':
      return [...marker, { name: c.kind === 'tmem' ? 'tmem' : 'tmem_invalidations', type: 'buffer', size: c.length - 4 }];
    default:
      return marker;
  }
}

/** The libxl toolstack v1 blob's physmap entries (64-bit toolstacks leak 4 bytes after each name). */
function physmapLayout(data: Uint8Array, width: 4 | 8): Layout {
  if (data.length < 8) return [{ name: 'toolstack', type: 'buffer', size: data.length }];
  const b = new XenBytes(data, true);
  const layout: Layout[number][] = [u32('version'), u32('count')];
  let at = 8;
  for (let i = 0; i < b.u32(4) && at + 28 <= data.length; i++) {
    const n = b.u32(at + 24) + (width === 8 ? 4 : 0);
    if (at + 28 + n > data.length) break;
    layout.push(struct(`physmap[${i}]`, [...LEGACY_PHYSMAP_ENTRY, text('name', n)]));
    at += 28 + n;
  }
  if (at < data.length) layout.push({ name: '_rest', type: 'buffer', size: data.length - at });
  return layout;
}
