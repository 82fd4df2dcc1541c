import { strFromU8 } from 'fflate';
import type { TreeNode } from '../api/contract';
import type { ContainerLayer, HeaderField, LibvirtSaveLayer, Qcow2Layer } from '../formats/container-model';
import { readBytes, type ByteSource } from '../io/byte-source';
import { intValue } from '../formats/qemu-stream/vmstate-decode';

/**
 * The wrapper level of the structure tree: the libvirt save header, domain XML, cookie,
 * padding and stored stream, or the qcow2 header, snapshot table and vmstate. These bytes
 * are outside the QEMU stream, so every node is in file space (`space: 'file'`); the QEMU
 * stream's own nodes hang below the stream node (see StructureTree). Ids:
 *   w0            the outermost layer
 *   w0/h, w0/h/2  its header, the header's third field
 *   w0/x w0/c w0/p w0/s   libvirt XML, cookie, padding, stored stream
 *   w0/t, w0/t/1, w0/v    qcow2 snapshot table, its second entry, the open snapshot's vmstate
 */
export class ContainerTree {
  /**
   * @param streamStart file offset of the stream's first byte when the file holds it (a raw
   *   libvirt stream, a qcow2 vmstate's first data cluster)
   */
  constructor(
    private readonly file: ByteSource,
    private readonly layers: readonly ContainerLayer[],
    private readonly streamStart?: number,
  ) {}

  /** The node the QEMU stream's elements hang below: the innermost layer's stream. */
  get streamNodeId(): string {
    const i = this.layers.length - 1;
    return `w${i}/${this.layers[i].kind === 'qcow2' ? 'v' : 's'}`;
  }

  roots(): TreeNode[] {
    return this.layers.map((layer, i) => (layer.kind === 'libvirt-save' ? this.libvirtRoot(layer, i) : this.qcow2Root(layer, i)));
  }

  /** Children of a `w…` id (empty for anything else). */
  children(id: string): TreeNode[] {
    const [root, part] = id.split('/');
    const index = Number(root.slice(1));
    const layer = this.layers[index];
    if (!layer || !/^w\d+$/.test(root)) return [];
    if (part === undefined) return layer.kind === 'libvirt-save' ? this.libvirtParts(layer, root) : this.qcow2Parts(layer, root);
    if (part === 'h') return this.headerFields(layer, root);
    if (part === 't' && layer.kind === 'qcow2') return this.snapshots(layer, root);
    return [];
  }

  /** Ids from a wrapper root down to the innermost wrapper node containing file offset `offset`. */
  pathAt(offset: number): string[] {
    for (let i = 0; i < this.layers.length; i++) {
      const root = `w${i}`;
      const path = this.walk(this.children(root), offset);
      if (path.length) return [root, ...path];
    }
    return [];
  }

  private walk(nodes: TreeNode[], offset: number): string[] {
    const hit = nodes.find((n) => offset >= n.offset && offset < n.offset + n.length);
    if (!hit) return [];
    // Below the stream node are stream offsets, not file offsets: the walk ends there.
    return [hit.id, ...(hit.hasChildren && hit.id !== this.streamNodeId ? this.walk(this.children(hit.id), offset) : [])];
  }

  // ---------------------------------------------------------------- libvirt

  private libvirtRoot(layer: LibvirtSaveLayer, i: number): TreeNode {
    const end = layer.stream.offset + layer.stream.length;
    const stored = layer.storedAs === 'raw' ? 'raw stream' : `${layer.storedAs} stream`;
    return { ...node(`w${i}`, 'container', layer.complete ? 'libvirt save image' : 'libvirt save image (unfinished)', `version ${layer.version} · ${stored}`, 0, end, true), initiallyOpen: true };
  }

  private libvirtParts(layer: LibvirtSaveLayer, root: string): TreeNode[] {
    const parts = [node(`${root}/h`, 'container-part', 'header', `${layer.byteOrder}-endian`, layer.header.offset, layer.header.length, true)];
    if (layer.xml) parts.push({ ...node(`${root}/x`, 'container-part', 'domain XML', `${layer.xml.text.length} characters`, layer.xml.offset, layer.xml.length, false), value: { kind: 'text', value: layer.xml.text } });
    if (layer.cookie) parts.push({ ...node(`${root}/c`, 'container-part', 'save cookie', `${layer.cookie.text.length} characters`, layer.cookie.offset, layer.cookie.length, false), value: { kind: 'text', value: layer.cookie.text } });
    if (layer.padding) {
      const nonZero = layer.padding.nonZeroBytes ? ` · ${layer.padding.nonZeroBytes} non-zero bytes` : ' · zeros';
      parts.push(node(`${root}/p`, 'container-part', 'padding', `${layer.padding.length} bytes${nonZero}`, layer.padding.offset, layer.padding.length, false));
    }
    const compressed = layer.storedAs === 'raw' ? 'stored raw' : `${layer.storedAs}-compressed`;
    parts.push({ ...node(`${root}/s`, 'container-part', 'QEMU stream', `${layer.stream.length} bytes, ${compressed}`, layer.stream.offset, layer.stream.length, true), initiallyOpen: true });
    return parts;
  }

  // ---------------------------------------------------------------- qcow2

  private qcow2Root(layer: Qcow2Layer, i: number): TreeNode {
    const s = layer.snapshots[layer.selected];
    const detail = `qcow2 v${layer.version} · snapshot ${JSON.stringify(s?.name ?? '')} open`;
    return { ...node(`w${i}`, 'container', 'qcow2 image', detail, 0, this.file.size, true), initiallyOpen: true };
  }

  private qcow2Parts(layer: Qcow2Layer, root: string): TreeNode[] {
    const c = layer.vmStateClusters;
    const s = layer.snapshots[layer.selected];
    // The vmstate is scattered over clusters: the node points at its first one.
    const at = this.streamStart ?? s?.entryOffset ?? 0;
    const vmstate = node(
      `${root}/v`,
      'container-part',
      `VM state of snapshot ${JSON.stringify(s?.name ?? '')}`,
      `${s?.vmStateSize ?? 0} bytes in ${c.data} data, ${c.zero} zero, ${c.unallocated} unallocated, ${c.compressed} compressed clusters`,
      at,
      this.streamStart === undefined ? 0 : Math.min(layer.clusterSize, s?.vmStateSize ?? 0),
      true,
    );
    return [
      node(`${root}/h`, 'container-part', 'header', `cluster size ${layer.clusterSize} · virtual size ${layer.virtualSize}`, layer.header.offset, layer.header.length, true),
      node(`${root}/t`, 'container-part', 'snapshot table', `${layer.snapshots.length} snapshots`, layer.snapshotTable.offset, layer.snapshotTable.length, layer.snapshots.length > 0),
      { ...vmstate, initiallyOpen: true },
    ];
  }

  private snapshots(layer: Qcow2Layer, root: string): TreeNode[] {
    const table = layer.snapshotTable;
    return layer.snapshots.map((s, i) => {
      const end = layer.snapshots[i + 1]?.entryOffset ?? table.offset + table.length;
      const open = i === layer.selected ? ' · open' : '';
      const when = new Date(s.dateSec * 1000).toISOString();
      return node(`${root}/t/${i}`, 'container-part', `snapshot ${JSON.stringify(s.name)}`, `id ${s.id} · vmstate ${s.vmStateSize} bytes · ${when}${open}`, s.entryOffset, end - s.entryOffset, false);
    });
  }

  // ---------------------------------------------------------------- shared

  private headerFields(layer: ContainerLayer, root: string): TreeNode[] {
    const littleEndian = layer.kind === 'libvirt-save' && layer.byteOrder === 'little';
    return layer.header.fields.map((f, i) => ({ ...node(`${root}/h/${i}`, 'header-field', f.name, fieldType(f, littleEndian), f.offset, f.length, false), value: this.fieldValue(f, littleEndian) }));
  }

  private fieldValue(f: HeaderField, littleEndian: boolean): TreeNode['value'] {
    const b = readBytes(this.file, f.offset, f.length);
    return f.length > 8 ? { kind: 'text', value: strFromU8(b, true).replace(/\0+$/, '') } : intValue(b, false, littleEndian);
  }
}

function fieldType(f: HeaderField, littleEndian: boolean): string {
  return f.length > 8 ? `${f.length} bytes` : `${littleEndian ? 'le' : 'be'}${f.length * 8}`;
}

function node(id: string, kind: TreeNode['kind'], label: string, detail: string, offset: number, length: number, hasChildren: boolean): TreeNode {
  return { id, kind, label, detail, offset, length, hasChildren, space: 'file' };
}
