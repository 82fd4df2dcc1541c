import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { TreeNode } from '../../shared/api/contract';
import { workbench } from '../api';

export interface TreeRow {
  node: TreeNode;
  depth: number;
  parentId: string | null;
}

type Children = Map<string | null, TreeNode[]>;

/**
 * The structure tree's state: loaded children by node id and the expanded set, flattened
 * into the visible rows. Children are fetched on first expansion and kept per revision of
 * the image: a new `revision` (after an edit) drops them, then reloads the roots and every
 * expanded node, so the user keeps what they had open.
 */
export function useTreeModel(handle: string, revision: number) {
  const [children, setChildren] = useState<Children>(() => new Map());
  const [expanded, setExpanded] = useState(() => new Set<string>());
  // What was fetched for this revision; read synchronously by load and revealPath.
  const cache = useRef<{ revision: number; map: Children }>({ revision, map: new Map() });
  if (cache.current.revision !== revision) cache.current = { revision, map: new Map() };

  const fetch = useCallback(
    async (id: string | null): Promise<TreeNode[]> => {
      const known = cache.current.map.get(id);
      if (known) return known;
      const mine = cache.current;
      const nodes = await workbench().treeChildren(handle, id);
      if (cache.current === mine) mine.map.set(id, nodes);
      return nodes;
    },
    [handle],
  );
  const publish = useCallback(() => setChildren(new Map(cache.current.map)), []);

  const load = useCallback(
    async (id: string | null): Promise<TreeNode[]> => {
      const nodes = await fetch(id);
      publish();
      return nodes;
    },
    [fetch, publish],
  );

  useEffect(() => {
    if (revision === 0) {
      void openInitially().then(publish);
      return;
    }
    void Promise.all([null, ...expanded].map(fetch)).then(publish);
    // Roots once per image and revision (with what was open); expanded changes as the user works.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [handle, revision]);

  /** The roots, and below them the nodes the backend wants open at first (a wrapper and its stream). */
  const openInitially = async () => {
    const open: string[] = [];
    const walk = async (id: string | null) => {
      for (const node of await fetch(id)) {
        if (!node.initiallyOpen) continue;
        open.push(node.id);
        await walk(node.id);
      }
    };
    await walk(null);
    if (open.length) setExpanded((s) => new Set([...s, ...open]));
  };

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
      let parent: string | null = null;
      let last: TreeNode | undefined;
      for (const id of ids) {
        last = (await fetch(parent)).find((n) => n.id === id);
        parent = id;
      }
      publish();
      setExpanded((s) => {
        const next = new Set(s);
        ids.slice(0, -1).forEach((id) => next.add(id));
        return next;
      });
      return last;
    },
    [fetch, publish],
  );

  return { rows, expanded, setOpen, revealPath, rootsLoaded: children.has(null) };
}
