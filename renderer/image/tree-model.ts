import type { TreeNode, WorkbenchApi } from '../../shared/api/contract';
import { Store } from '../state/store';

/** One visible row of the structure tree. */
export interface TreeRow {
  node: TreeNode;
  depth: number;
  parentId: string | null;
}

/** Loaded children by parent id (null: the roots). */
export type TreeChildren = ReadonlyMap<string | null, readonly TreeNode[]>;

export interface TreeState {
  children: TreeChildren;
  expanded: ReadonlySet<string>;
}

/** What was fetched for one revision of the image; read synchronously by fetch, revealPath and sectionOf. */
interface Loaded {
  children: Map<string | null, TreeNode[]>;
  nodes: Map<string, TreeNode>;
  parentOf: Map<string, string | null>;
}

const nothingLoaded = (): Loaded => ({ children: new Map(), nodes: new Map(), parentOf: new Map() });

/**
 * The structure tree of one open image: loaded children by node id and the expanded set.
 * Children are fetched on first expansion and kept per revision of the image: a new revision
 * (after an edit) drops them, then reloads the roots and every expanded node, so the user
 * keeps what they had open.
 *
 * Node ids are the backend's (shared/workbench/structure-tree.ts): opaque here. What the
 * renderer needs to know about a node's place comes from the tree's shape and node kinds
 * (see sectionOf).
 */
export class TreeModel {
  readonly store = new Store<TreeState>({ children: new Map(), expanded: new Set() });
  private loaded = nothingLoaded();

  constructor(
    private readonly api: WorkbenchApi,
    private readonly handle: string,
  ) {}

  /** The roots, and below them the nodes the backend wants open at first (a wrapper and its stream). */
  async openInitially(): Promise<void> {
    const open: string[] = [];
    const walk = async (id: string | null) => {
      for (const node of await this.fetch(id)) {
        if (!node.initiallyOpen) continue;
        open.push(node.id);
        await walk(node.id);
      }
    };
    await walk(null);
    if (open.length) this.store.set((s) => ({ expanded: new Set([...s.expanded, ...open]) }));
    this.publish();
  }

  /** A new revision of the image: the roots and every expanded node are fetched again. */
  async reload(): Promise<void> {
    this.loaded = nothingLoaded();
    await Promise.all([null, ...this.store.get().expanded].map((id) => this.fetch(id)));
    this.publish();
  }

  setOpen = async (id: string, open: boolean): Promise<void> => {
    if (open) {
      await this.fetch(id);
      this.publish();
    }
    this.store.set((s) => {
      const expanded = new Set(s.expanded);
      if (open) expanded.add(id);
      else expanded.delete(id);
      return { expanded };
    });
  };

  /** Loads and expands every ancestor on a path from the roots, so its last node is visible. */
  async revealPath(ids: readonly string[]): Promise<TreeNode | undefined> {
    let parent: string | null = null;
    let last: TreeNode | undefined;
    for (const id of ids) {
      last = (await this.fetch(parent)).find((n) => n.id === id);
      parent = id;
    }
    this.publish();
    this.store.set((s) => ({ expanded: new Set([...s.expanded, ...ids.slice(0, -1)]) }));
    return last;
  }

  /** Children of a node (null: the roots), fetched when not loaded yet. */
  childrenOf = (id: string | null): Promise<readonly TreeNode[]> => this.fetch(id);

  /** Ids from a root down to a loaded node (the node last). */
  pathTo(id: string): string[] {
    const path: string[] = [];
    for (let at: string | null | undefined = id; at; at = this.loaded.parentOf.get(at)) path.unshift(at);
    return path;
  }

  /** The loaded siblings of a node (itself among them). */
  siblingsOf(id: string): readonly TreeNode[] {
    return this.loaded.children.get(this.loaded.parentOf.get(id) ?? null) ?? [];
  }

  /** A loaded node of the current revision, by id. */
  node(id: string): TreeNode | undefined {
    return this.loaded.nodes.get(id);
  }

  /** The stream section (element) a loaded node belongs to: the node itself or its nearest section ancestor. */
  sectionOf(id: string): TreeNode | undefined {
    for (let at: string | null | undefined = id; at; at = this.loaded.parentOf.get(at)) {
      const node = this.loaded.nodes.get(at);
      if (node?.kind === 'section') return node;
    }
    return undefined;
  }

  private async fetch(id: string | null): Promise<TreeNode[]> {
    const known = this.loaded.children.get(id);
    if (known) return known;
    const mine = this.loaded;
    const nodes = await this.api.treeChildren(this.handle, id);
    // A reply for a revision that has been replaced meanwhile is not kept.
    if (this.loaded === mine) {
      mine.children.set(id, nodes);
      for (const node of nodes) {
        mine.nodes.set(node.id, node);
        mine.parentOf.set(node.id, id);
      }
    }
    return nodes;
  }

  private publish(): void {
    this.store.set({ children: new Map(this.loaded.children) });
  }
}

/** The rows on screen: the loaded children of every expanded node, depth first. */
export function visibleRows(children: TreeChildren, expanded: ReadonlySet<string>): TreeRow[] {
  const out: TreeRow[] = [];
  const walk = (parentId: string | null, depth: number) => {
    for (const node of children.get(parentId) ?? []) {
      out.push({ node, depth, parentId });
      if (expanded.has(node.id)) walk(node.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}
