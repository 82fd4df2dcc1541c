import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Group, Panel, Separator } from 'react-resizable-panels';
import type { TreeNode } from '../../shared/api/contract';
import { StructureTree, type TreeMark } from '../components/StructureTree';
import { READ_ONLY_EVIDENCE } from '../image/image-view';
import { HexPanel } from '../image/panels/HexPanel';
import { visibleRows } from '../image/tree-model';
import { ImageViewContext } from '../image/view-context';
import { useStore } from '../state/store';
import type { CompareView } from './compare-view';
import type { DiffMark, Side } from './diff-marks';
import { DifferenceTable } from './DifferenceTable';
import { RamPageMap } from './RamPageMap';

const MARKS: Record<DiffMark, Omit<TreeMark, 'name'>> = {
  added: { glyph: '+', title: 'only in this image' },
  removed: { glyph: '−', title: 'only in this image (the other has none)' },
  changed: { glyph: '≠', title: 'differs from the other image' },
  inside: { glyph: '•', title: 'something inside differs' },
};

/**
 * Two images side by side: each with its structure tree (marked where the diff found
 * differences, scrolled together with the other) over its hex view, and below them the
 * differences as a table and guest RAM's differing pages as a picture. Selecting a node,
 * a row or a page shows the same place on both sides.
 */
export function CompareWorkspace({ compare }: { compare: CompareView }) {
  const [tab, setTab] = useState<'fields' | 'ram'>('fields');
  const sides = useRef<HTMLDivElement>(null);
  useTreesScrolledTogether(sides);
  return (
    <div className="workspace-frame compare" data-testid="compare-view">
      <CompareToolbar compare={compare} />
      <Group orientation="vertical" className="workspace" id={`cmp-${compare.id}`}>
        <Panel defaultSize="62%" minSize="25%">
          <div className="compare-sides" ref={sides}>
            <Group orientation="horizontal">
              <Panel defaultSize="50%" minSize="20%">
                <CompareSide compare={compare} side="a" />
              </Panel>
              <Separator className="resize-handle" />
              <Panel defaultSize="50%" minSize="20%">
                <CompareSide compare={compare} side="b" />
              </Panel>
            </Group>
          </div>
        </Panel>
        <Separator className="resize-handle" />
        <Panel defaultSize="38%" minSize="10%">
          <div className="panel">
            <div className="panel-title bottom-tabs" role="tablist">
              <button role="tab" aria-selected={tab === 'fields'} className={tab === 'fields' ? 'active' : ''} onClick={() => setTab('fields')}>
                Differences
              </button>
              <button role="tab" aria-selected={tab === 'ram'} className={tab === 'ram' ? 'active' : ''} onClick={() => setTab('ram')}>
                RAM pages
              </button>
            </div>
            <div className="panel-body">{tab === 'fields' ? <DifferenceTable compare={compare} /> : <RamPageMap compare={compare} />}</div>
          </div>
        </Panel>
      </Group>
    </div>
  );
}

/** The copy buttons: a field's value or a whole section, from the side it is selected on into the other image's journal. */
const COPIES: readonly { what: 'field' | 'section'; from: Side; label: string; title: string }[] = [
  { what: 'field', from: 'a', label: 'Copy field A → B', title: "Set the field selected in A to A's value in B, as an edit of B's journal" },
  { what: 'field', from: 'b', label: 'Copy field B → A', title: "Set the field selected in B to B's value in A, as an edit of A's journal" },
  { what: 'section', from: 'a', label: 'Copy section A → B', title: "Replace B's section of the name selected in A with A's (or graft it last when B has none), as an edit of B's journal" },
  { what: 'section', from: 'b', label: 'Copy section B → A', title: "Replace A's section of the name selected in B with B's (or graft it last when A has none), as an edit of A's journal" },
];

function CompareToolbar({ compare }: { compare: CompareView }) {
  const running = useStore(compare.store, (s) => s.running);
  const progress = useStore(compare.store, (s) => s.progress);
  const status = useStore(compare.store, (s) => s.status);
  const diff = useStore(compare.store, (s) => s.diff);
  const busyA = useStore(compare.a.store, (s) => s.busy);
  const busyB = useStore(compare.b.store, (s) => s.busy);
  const busy = running || busyA || busyB;
  // A side open for evidence takes no copy: the buttons into it are off, and the bar says why.
  const readOnly = { a: useStore(compare.a.store, (s) => !!s.image.evidence), b: useStore(compare.b.store, (s) => !!s.image.evidence) };
  const readOnlySides = (['a', 'b'] as const).filter((x) => readOnly[x]).map((x) => x.toUpperCase());
  return (
    <div className="edit-toolbar" role="toolbar" aria-label="Compare">
      {running ? (
        <>
          <span className="progress" role="progressbar" aria-label="Comparing" aria-valuenow={progress && progress.total ? Math.round((100 * progress.done) / progress.total) : 0}>
            <div style={{ width: `${progress && progress.total ? (100 * progress.done) / progress.total : 0}%` }} />
          </span>
          <button onClick={compare.cancel}>Cancel</button>
        </>
      ) : (
        <button onClick={() => void compare.run()} title="Compare the two files as they are on disk again">
          Compare again
        </button>
      )}
      <span className="separator" />
      {COPIES.map(({ what, from, label, title }) => {
        const into = from === 'a' ? 'b' : 'a';
        return (
          <button
            key={label}
            onClick={() => void (what === 'field' ? compare.copyField(from) : compare.copySection(from))}
            disabled={busy || !diff || readOnly[into]}
            title={readOnly[into] ? `${into.toUpperCase()}: ${READ_ONLY_EVIDENCE}` : title}
          >
            {label}
          </button>
        );
      })}
      {readOnlySides.length > 0 && (
        <span className="evidence-badge" data-testid="compare-read-only">
          {readOnlySides.join(' and ')} open for evidence (read-only): nothing is copied into {readOnlySides.length === 1 ? 'it' : 'them'}
        </span>
      )}
      {status && (
        <span className={`compare-status${status.error ? ' error' : ''}`} role="status" data-testid="compare-status">
          {status.text}
        </span>
      )}
    </div>
  );
}

/** One image of the comparison: its edits (Undo, Redo, Save as), its marked tree, its hex view. */
function CompareSide({ compare, side }: { compare: CompareView; side: Side }) {
  const view = compare.view(side);
  const image = useStore(view.store, (s) => s.image);
  const busy = useStore(view.store, (s) => s.busy);
  const edits = useStore(view.store, (s) => s.journal.edits.length);
  const redoable = useStore(view.store, (s) => s.journal.redoable.length);
  const status = useStore(view.store, (s) => s.status);
  const saveOptions = useStore(view.store, (s) => s.saveOptions);
  return (
    <ImageViewContext value={view}>
      <div className="compare-side" data-testid={`compare-side-${side}`}>
        <div className="compare-side-title">
          <b>{side.toUpperCase()}</b>
          <span className="compare-name" title={image.path}>
            {image.name}
          </span>
          {image.evidence ? (
            <span className="hint" title={READ_ONLY_EVIDENCE}>
              evidence · read-only
            </span>
          ) : (
            <span className="hint">{edits ? `${edits} unsaved edit${edits === 1 ? '' : 's'}` : 'no edits'}</span>
          )}
          <button onClick={view.undo} disabled={busy || !edits} aria-label={`Undo in ${side.toUpperCase()}`}>
            Undo
          </button>
          <button onClick={view.redo} disabled={busy || !redoable} aria-label={`Redo in ${side.toUpperCase()}`}>
            Redo
          </button>
          <button onClick={() => void view.save(saveOptions)} disabled={busy || !edits} aria-label={`Save ${side.toUpperCase()} as…`}>
            Save as…
          </button>
        </div>
        {status && (
          <div className={`compare-side-status${status.error ? ' error' : ''}`} data-testid={`compare-side-status-${side}`}>
            {status.text}
          </div>
        )}
        <div className="compare-side-body">
          <Group orientation="vertical">
            <Panel defaultSize="50%" minSize="15%">
              <CompareTree compare={compare} side={side} />
            </Panel>
            <Separator className="resize-handle" />
            <Panel defaultSize="50%" minSize="15%">
              <HexPanel />
            </Panel>
          </Group>
        </div>
      </div>
    </ImageViewContext>
  );
}

function CompareTree({ compare, side }: { compare: CompareView; side: Side }) {
  const view = compare.view(side);
  const children = useStore(view.tree.store, (s) => s.children);
  const expanded = useStore(view.tree.store, (s) => s.expanded);
  const selectedId = useStore(view.store, (s) => s.selected?.id ?? null);
  const marks = useStore(compare.store, (s) => s.marks);
  const rows = useMemo(() => visibleRows(children, expanded), [children, expanded]);
  const sideMarks = marks?.[side];
  const markOf = useCallback((node: TreeNode): TreeMark | undefined => {
    const mark = sideMarks?.markOf(node);
    return mark && { name: mark, ...MARKS[mark] };
  }, [sideMarks]);
  const onSelect = useCallback((node: TreeNode) => void compare.select(side, node), [compare, side]);
  return (
    <div className="panel">
      <div className="panel-title">Structure{sideMarks ? ` · ${sideMarks.count} marked` : ''}</div>
      <div className="panel-body">
        <StructureTree rows={rows} expanded={expanded} selectedId={selectedId} onSelect={onSelect} onToggle={view.toggleNode} markOf={markOf} />
      </div>
    </div>
  );
}

/** Scrolling one side's tree scrolls the other's to the same place. */
function useTreesScrolledTogether(container: React.RefObject<HTMLDivElement | null>): void {
  useEffect(() => {
    const root = container.current;
    if (!root) return;
    let echo: Element | null = null;
    const onScroll = (e: Event) => {
      const from = e.target as HTMLElement;
      if (!from.classList?.contains('tree')) return;
      // The scroll we caused on the other tree comes back as an event: it is not followed.
      if (echo === from) return void (echo = null);
      const trees = [...root.querySelectorAll<HTMLElement>('.tree')];
      for (const tree of trees) {
        if (tree === from || tree.scrollTop === from.scrollTop) continue;
        echo = tree;
        tree.scrollTop = from.scrollTop;
      }
    };
    root.addEventListener('scroll', onScroll, true);
    return () => root.removeEventListener('scroll', onScroll, true);
  }, [container]);
}
