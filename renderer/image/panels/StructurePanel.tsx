import { useEffect, useMemo } from 'react';
import { StructureTree } from '../../components/StructureTree';
import { useStore } from '../../state/store';
import { visibleRows } from '../tree-model';
import { useImageView, useViewState } from '../view-context';

/** The structure tree: selecting a node shows its bytes; the hex cursor reveals its node here. */
export function StructurePanel() {
  const view = useImageView();
  const children = useStore(view.tree.store, (s) => s.children);
  const expanded = useStore(view.tree.store, (s) => s.expanded);
  const selectedId = useViewState((s) => s.selected?.id ?? null);
  const rows = useMemo(() => visibleRows(children, expanded), [children, expanded]);
  const rootsLoaded = children.has(null);

  useEffect(() => {
    // The structure tree is on screen: the responsiveness benchmark reads this mark.
    if (rootsLoaded) requestAnimationFrame(() => performance.mark('migwb:tree-painted'));
  }, [rootsLoaded]);

  return (
    <div className="panel">
      <div className="panel-title">Structure</div>
      <div className="panel-body">
        <StructureTree rows={rows} expanded={expanded} selectedId={selectedId} onSelect={view.selectNode} onToggle={view.toggleNode} />
      </div>
    </div>
  );
}
