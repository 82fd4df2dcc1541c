import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef } from 'react';
import type { FieldValue, TreeNode } from '../../shared/api/contract';
import type { TreeRow } from '../image/tree-model';

interface Props {
  rows: TreeRow[];
  expanded: ReadonlySet<string>;
  selectedId: string | null;
  onSelect(node: TreeNode): void;
  onToggle(id: string, open: boolean): void;
  /** A mark on a node (the compare view's added, removed, changed): a class `mark-NAME` and the glyph shown before the label. */
  markOf?(node: TreeNode): TreeMark | undefined;
}

export interface TreeMark {
  name: string;
  glyph: string;
  title: string;
}

const ROW = 20;

/** The structure tree: virtualized rows, keyboard navigation like a file tree. */
export const StructureTree = memo(function StructureTree({ rows, expanded, selectedId, onSelect, onToggle, markOf }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 20 });
  const selectedIndex = rows.findIndex((r) => r.node.id === selectedId);

  // Scroll to the selection when it moves (or its row appears), not on every row change:
  // expanding a node elsewhere must not pull the view back to it.
  const scrolledTo = useRef<string | null>(null);
  useEffect(() => {
    if (selectedIndex < 0) scrolledTo.current = null;
    else if (scrolledTo.current !== selectedId) {
      scrolledTo.current = selectedId;
      virtual.scrollToIndex(selectedIndex, { align: 'auto' });
    }
  }, [selectedId, selectedIndex, virtual]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    const row = rows[selectedIndex];
    const go = (i: number) => rows[i] && onSelect(rows[i].node);
    switch (e.key) {
      case 'ArrowDown':
        go(selectedIndex < 0 ? 0 : selectedIndex + 1);
        break;
      case 'ArrowUp':
        go(Math.max(0, selectedIndex - 1));
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'PageDown':
        go(Math.min(rows.length - 1, selectedIndex + 20));
        break;
      case 'PageUp':
        go(Math.max(0, selectedIndex - 20));
        break;
      case 'ArrowRight':
        if (!row) return;
        if (row.node.hasChildren && !expanded.has(row.node.id)) onToggle(row.node.id, true);
        else if (rows[selectedIndex + 1]?.parentId === row.node.id) go(selectedIndex + 1);
        break;
      case 'ArrowLeft':
        if (!row) return;
        if (expanded.has(row.node.id)) onToggle(row.node.id, false);
        else if (row.parentId) go(rows.findIndex((r) => r.node.id === row.parentId));
        break;
      case 'Enter':
      case ' ':
        if (row?.node.hasChildren) onToggle(row.node.id, !expanded.has(row.node.id));
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  return (
    <div className="tree" ref={scroller} tabIndex={0} role="tree" aria-label="Structure" onKeyDown={onKeyDown} data-testid="structure-tree">
      <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
        {virtual.getVirtualItems().map((item) => {
          const { node, depth } = rows[item.index];
          const open = expanded.has(node.id);
          const mark = markOf?.(node);
          return (
            <div
              key={node.id}
              role="treeitem"
              aria-expanded={node.hasChildren ? open : undefined}
              aria-selected={node.id === selectedId}
              data-node-id={node.id}
              className={`tree-row${node.id === selectedId ? ' selected' : ''}${node.damaged ? ' damaged' : ''}${mark ? ` mark-${mark.name}` : ''}`}
              data-mark={mark?.name}
              style={{ top: item.start, paddingLeft: 4 + depth * 14 }}
              onClick={() => onSelect(node)}
              onDoubleClick={() => node.hasChildren && onToggle(node.id, !open)}
            >
              <span
                className="twisty"
                onClick={(e) => {
                  e.stopPropagation();
                  if (node.hasChildren) onToggle(node.id, !open);
                }}
              >
                {node.hasChildren ? (open ? '▾' : '▸') : ''}
              </span>
              {mark && (
                <span className="tree-mark" title={mark.title} aria-label={mark.title}>
                  {mark.glyph}
                </span>
              )}
              <span className="label">{node.label}</span>
              {node.value && <span className="value">{shortValue(node.value)}</span>}
              {node.detail && <span className="detail">{node.detail}</span>}
            </div>
          );
        })}
      </div>
    </div>
  );
});

export function shortValue(v: FieldValue): string {
  switch (v.kind) {
    case 'int':
      return v.hex;
    case 'bool':
      return String(v.value);
    case 'float':
      return String(v.value);
    case 'text': {
      // Long text (a domain XML) is read in the code tab; the row shows its start.
      const shown = JSON.stringify(v.value);
      return shown.length > 48 ? shown.slice(0, 47) + '…' : shown;
    }
    case 'nullptr':
      return 'NULL';
    case 'bytes':
      return v.hex.length > 48 ? v.hex.slice(0, 47) + '…' : v.hex;
  }
}
