import type { TreeNode } from '../api/contract';
import type { ContainerLayer } from '../formats/container-model';
import type { WrapperTreeContext } from '../formats/format';
import { viewsOf } from '../formats/registry';
import type { ByteSource } from '../io/byte-source';

/**
 * The wrapper level of the structure tree: each layer's nodes as its format draws them
 * (LayerViews.tree), e.g. the libvirt save header, domain XML, cookie, padding and stored
 * stream, or the qcow2 header, snapshot table and vmstate. These bytes are outside the QEMU
 * stream, so every node is in file space (`space: 'file'`); the QEMU stream's own nodes hang
 * below the innermost layer's stream node (see StructureTree). Ids: `w0` the outermost
 * layer, `w0/…` the paths its format gives its parts.
 */
export class ContainerTree {
  private readonly at: WrapperTreeContext;

  /**
   * @param streamStart file offset of the stream's first byte when the file holds it (a raw
   *   libvirt stream, a qcow2 vmstate's first data cluster)
   */
  constructor(
    file: ByteSource,
    private readonly layers: readonly ContainerLayer[],
    streamStart?: number,
  ) {
    this.at = { file, streamStart };
  }

  /** The node the QEMU stream's elements hang below: the innermost layer's stream. */
  get streamNodeId(): string {
    const i = this.layers.length - 1;
    return `w${i}/${viewsOf(this.layers[i]).tree.streamPart}`;
  }

  roots(): TreeNode[] {
    return this.layers.map((layer, i) => viewsOf(layer).tree.root(layer, `w${i}`, this.at));
  }

  /** Children of a `w…` id (empty for anything else). */
  children(id: string): TreeNode[] {
    const [root, ...path] = id.split('/');
    const layer = /^w\d+$/.test(root) ? this.layers[Number(root.slice(1))] : undefined;
    return layer ? viewsOf(layer).tree.children(layer, root, path, this.at) : [];
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
}
