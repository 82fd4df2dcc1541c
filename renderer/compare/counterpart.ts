import type { TreeNode } from '../../shared/api/contract';
import type { TreeModel } from '../image/tree-model';

/**
 * The same node in another image's tree, found by meaning rather than by id or offset: node
 * ids are positional and offsets move when a section grows, so a node is named by its
 * labels from the stream's section list down ("cpu" → "env" → "eip"), each with its rank
 * among siblings of the same label (the second "cpu" is instance 1). Wrappers differ between
 * the two sides (a libvirt save against a bare stream), so the path starts at the list that
 * holds the sections, wherever each tree has it.
 */
export interface NodeKey {
  label: string;
  /** Rank among the siblings with the same label. */
  nth: number;
}

/** How deep below the roots the section list may be (wrapper → stream → sections). */
const MAX_WRAPPER_DEPTH = 3;

const holdsSections = (nodes: readonly TreeNode[]) => nodes.some((n) => n.kind === 'section');

/** The key path of a loaded node: from the section list down when it is inside the stream, else from the roots. */
export function keyPathOf(tree: TreeModel, id: string): NodeKey[] {
  const ids = tree.pathTo(id);
  const keys = ids.map((at) => {
    const siblings = tree.siblingsOf(at);
    const node = tree.node(at)!;
    return { label: node.label, nth: siblings.filter((s) => s.label === node.label).findIndex((s) => s.id === at) };
  });
  const start = ids.findIndex((at) => holdsSections(tree.siblingsOf(at)));
  return start >= 0 ? keys.slice(start) : keys;
}

/** The id of the list that holds the sections (null: the roots), searched below the roots. */
async function sectionListOf(tree: TreeModel): Promise<string | null | undefined> {
  let level: (string | null)[] = [null];
  for (let depth = 0; depth <= MAX_WRAPPER_DEPTH && level.length; depth++) {
    const next: string[] = [];
    for (const id of level) {
      const children = await tree.childrenOf(id);
      if (holdsSections(children)) return id;
      next.push(...children.filter((c) => c.hasChildren).map((c) => c.id));
    }
    level = next;
  }
  return undefined;
}

/**
 * The node at `keys` in `tree`, with the ids from a root down to it (for revealPath); as
 * deep as the tree matches when a step is missing there (a field only one side has: its
 * struct), undefined when not even the first step matches.
 */
export async function findByKeys(tree: TreeModel, keys: readonly NodeKey[], fromSections: boolean): Promise<{ node: TreeNode; ids: string[]; exact: boolean } | undefined> {
  const list = fromSections ? await sectionListOf(tree) : null;
  if (list === undefined) return undefined;
  let ids = list === null ? [] : tree.pathTo(list);
  let parent: string | null = list;
  let found: TreeNode | undefined;
  for (const key of keys) {
    const hit = (await tree.childrenOf(parent)).filter((n) => n.label === key.label)[key.nth];
    if (!hit) return found && { node: found, ids, exact: false };
    found = hit;
    ids = [...ids, hit.id];
    parent = hit.id;
  }
  return found && { node: found, ids, exact: true };
}

/** Whether a node's key path starts at the section list (it is inside the stream). */
export function isInStream(tree: TreeModel, id: string): boolean {
  return tree.pathTo(id).some((at) => holdsSections(tree.siblingsOf(at)));
}
