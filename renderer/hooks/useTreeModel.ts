import { useCallback, useEffect, useMemo, useState } from 'react';
import type { TreeNode } from '../../shared/api/contract';
import { workbench } from '../api';

export interface TreeRow {
  node: TreeNode;
  depth: number;
  parentId: string | null;
}

/**
 * The structure tree's state: loaded children by node id and the expanded set, flattened
 * into the visible rows. Children are fetched on first expansion.
 */
export function useTreeModel(handle: string) {
  const [children, setChildren] = useState(() => new Map<string | null, TreeNode[]>());
  const [expanded, setExpanded] = useState(() => new Set<string>());

  const load = useCallback(
    async (id: string | null): Promise<TreeNode[]> => {
      const known = children.get(id);
      if (known) return known;
      const nodes = await workbench().treeChildren(handle, id);
      setChildren((m) => new Map(m).set(id, nodes));
      return nodes;
    },
    [children, handle],
  );

  useEffect(() => {
    void load(null);
    // Roots once per image; load() changes identity whenever children change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [handle]);

  const rows = useMemo(() => {
    const out: TreeRow[] = [];
    const walk = (parentId: string | null, depth: number) => {
      for (const node of children.get(parentId) ?? []) {
        out.push({ node, depth, parentId });
        if (expanded.has(node.id)) walk(node.id, depth + 1);
      }
    };
    walk(null, 0);
    return out;
  }, [children, expanded]);

  const setOpen = useCallback(
    async (id: string, open: boolean) => {
      if (open) await load(id);
      setExpanded((s) => {
        const next = new Set(s);
        if (open) next.add(id);
        else next.delete(id);
        return next;
      });
    },
    [load],
  );

  /** Loads and expands every ancestor on a path from the roots, so its last node is visible. */
  const revealPath = useCallback(
    async (ids: string[]) => {
      const loaded = new Map(children);
      let parent: string | null = null;
      for (const id of ids) {
        if (!loaded.has(parent)) loaded.set(parent, await workbench().treeChildren(handle, parent));
        parent = id;
      }
      setChildren(loaded);
      setExpanded((s) => {
        const next = new Set(s);
        ids.slice(0, -1).forEach((id) => next.add(id));
        return next;
      });
      return ids.length ? loaded.get(ids.length > 1 ? ids[ids.length - 2] : null)?.find((n) => n.id === ids[ids.length - 1]) : undefined;
    },
    [children, handle],
  );

  return { rows, expanded, setOpen, revealPath, rootsLoaded: children.has(null) };
}
