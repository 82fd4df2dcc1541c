import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Group, Panel, Separator } from 'react-resizable-panels';
import type { ImageOpened, SearchQuery, SectionJson, TreeNode } from '../../shared/api/contract';
import type { Diagnostic } from '../../shared/diagnostics';
import { errorMessage, hexOffset, parseOffset, workbench } from '../api';
import { ByteCache } from '../byte-cache';
import { onCommand } from '../commands';
import { useTreeModel } from '../hooks/useTreeModel';
import { DiagnosticsList } from './DiagnosticsList';
import { HexView, type Range } from './HexView';
import { Inspector } from './Inspector';
import { StructureTree } from './StructureTree';

interface Props {
  image: ImageOpened;
  dark: boolean;
  onStatus(text: string): void;
}

interface Place {
  offset: number;
  nodeId: string | null;
}

const MINIMAP_BUCKETS = 2048;

// Monaco is large and only the JSON tab needs it: load it on first use.
const JsonEditor = lazy(() => import('./JsonEditor').then((m) => ({ default: m.JsonEditor })));

/**
 * One open image: the structure tree linked both ways to the hex view, the inspector, the
 * diagnostics and the section JSON. Selecting a node highlights its bytes; clicking a
 * byte reveals the innermost node that contains it.
 */
export function ImageWorkspace({ image, dark, onStatus }: Props) {
  const api = workbench();
  const tree = useTreeModel(image.handle);
  const bytes = useMemo(() => new ByteCache(image.handle, image.streamSize), [image.handle, image.streamSize]);
  const [selected, setSelected] = useState<TreeNode | null>(null);
  const [cursor, setCursor] = useState(0);
  const [reveal, setReveal] = useState<{ offset: number; seq: number } | null>(null);
  const [hit, setHit] = useState<Range | null>(null);
  const [minimap, setMinimap] = useState<number[] | null>(null);
  const [bottom, setBottom] = useState<'diagnostics' | 'json'>(image.diagnostics.some((d) => d.severity !== 'info') ? 'diagnostics' : 'json');
  const [json, setJson] = useState<SectionJson | null>(null);
  const [goto, setGoto] = useState('');
  const [find, setFind] = useState<{ kind: SearchQuery['kind']; pattern: string }>({ kind: 'text', pattern: '' });
  const history = useRef<{ places: Place[]; at: number }>({ places: [], at: -1 });
  const gotoInput = useRef<HTMLInputElement>(null);
  const revealTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const findInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void api.minimap(image.handle, MINIMAP_BUCKETS).then(setMinimap);
  }, [api, image.handle]);

  useEffect(() => {
    if (tree.rootsLoaded) {
      // The structure tree is on screen: the responsiveness benchmark reads this mark.
      requestAnimationFrame(() => performance.mark('migwb:tree-painted'));
    }
  }, [tree.rootsLoaded]);

  const remember = (place: Place) => {
    const h = history.current;
    const last = h.places[h.at];
    if (last && last.offset === place.offset && last.nodeId === place.nodeId) return;
    h.places = [...h.places.slice(0, h.at + 1), place].slice(-200);
    h.at = h.places.length - 1;
  };

  const showNode = useCallback(
    (node: TreeNode, moveCursor: boolean) => {
      setSelected(node);
      if (moveCursor) {
        setCursor(node.offset);
        setReveal({ offset: node.offset, seq: Date.now() });
      }
      const element = /^e\d+/.exec(node.id)?.[0];
      if (element) void api.sectionJson(image.handle, element).then(setJson, () => setJson(null));
    },
    [api, image.handle],
  );

  const selectNode = useCallback(
    (node: TreeNode) => {
      showNode(node, true);
      remember({ offset: node.offset, nodeId: node.id });
    },
    [showNode],
  );
  const { setOpen } = tree;
  const toggleNode = useCallback((id: string, open: boolean) => void setOpen(id, open), [setOpen]);

  /** Moves the cursor to an offset and reveals the innermost node containing it. */
  const goToOffset = useCallback(
    async (offset: number, record = true) => {
      const at = Math.max(0, Math.min(image.streamSize - 1, offset));
      setCursor(at);
      setReveal({ offset: at, seq: Date.now() });
      try {
        const path = await api.nodePathAt(image.handle, at);
        const node = await tree.revealPath(path);
        if (node) showNode(node, false);
        if (record) remember({ offset: at, nodeId: node?.id ?? null });
      } catch (e) {
        onStatus(errorMessage(e));
      }
    },
    [api, image.handle, image.streamSize, onStatus, showNode, tree],
  );

  const step = (delta: number) => {
    const h = history.current;
    const place = h.places[h.at + delta];
    if (!place) return;
    h.at += delta;
    void goToOffset(place.offset, false);
  };

  const runSearch = async (backwards = false) => {
    if (!find.pattern) return findInput.current?.focus();
    try {
      const found = await api.search(image.handle, { ...find, from: backwards ? cursor : cursor + 1, backwards });
      if (!found) return onStatus(`"${find.pattern}" not found ${backwards ? 'before' : 'after'} ${hexOffset(cursor)}`);
      setHit(found);
      onStatus(`found at ${hexOffset(found.offset)}`);
      await goToOffset(found.offset);
    } catch (e) {
      onStatus(errorMessage(e));
    }
  };

  const submitGoto = () => {
    const offset = parseOffset(goto);
    if (offset === null) return onStatus(`"${goto}" is not an offset; use 0x1f00, 1f00h or 7936`);
    void goToOffset(offset);
  };

  useEffect(
    () =>
      onCommand((c) => {
        if (c.type === 'go-to') gotoInput.current?.focus();
        else if (c.type === 'find') findInput.current?.focus();
        else if (c.type === 'back') step(-1);
        else if (c.type === 'forward') step(1);
      }),
    // step/goToOffset read refs and current state through closures recreated each render.
  );

  const jumpTo = useCallback((d: Diagnostic) => void goToOffset(d.offset), [goToOffset]);

  /** A click reveals the node at once; keyboard moves reveal it once the keys rest. */
  const onHexCursor = useCallback(
    (offset: number, byClick: boolean) => {
      clearTimeout(revealTimer.current);
      if (byClick) return void goToOffset(offset);
      setCursor(offset);
      revealTimer.current = setTimeout(() => void goToOffset(offset), 150);
    },
    [goToOffset],
  );
  const selection = useMemo(() => (selected ? { offset: selected.offset, length: selected.length } : null), [selected]);

  return (
    <Group orientation="horizontal" className="workspace" id={`ws-${image.handle}`}>
      <Panel defaultSize="26%" minSize="12%">
        <div className="panel">
          <div className="panel-title">Structure</div>
          <div className="panel-body">
            <StructureTree rows={tree.rows} expanded={tree.expanded} selectedId={selected?.id ?? null} onSelect={selectNode} onToggle={toggleNode} />
          </div>
        </div>
      </Panel>
      <Separator className="resize-handle" />
      <Panel defaultSize="50%" minSize="25%">
        <Group orientation="vertical">
          <Panel defaultSize="64%" minSize="20%">
            <div className="panel">
              <div className="panel-title" style={{ textTransform: 'none', letterSpacing: 0 }}>
                <button onClick={() => step(-1)} title="Back (Alt+Left)" aria-label="Back">
                  ←
                </button>
                <button onClick={() => step(1)} title="Forward (Alt+Right)" aria-label="Forward">
                  →
                </button>
                <form className="prompt" onSubmit={(e) => (e.preventDefault(), submitGoto())}>
                  <input ref={gotoInput} type="text" placeholder="Go to offset (Ctrl+G)" value={goto} onChange={(e) => setGoto(e.target.value)} aria-label="Go to offset" size={16} />
                </form>
                <form className="prompt" onSubmit={(e) => (e.preventDefault(), void runSearch())}>
                  <select value={find.kind} onChange={(e) => setFind({ ...find, kind: e.target.value as SearchQuery['kind'] })} aria-label="Search kind">
                    <option value="text">text</option>
                    <option value="hex">hex</option>
                  </select>
                  <input ref={findInput} type="search" placeholder="Search (Ctrl+F)" value={find.pattern} onChange={(e) => setFind({ ...find, pattern: e.target.value })} aria-label="Search" size={18} />
                  <button type="button" onClick={() => void runSearch(true)} title="Previous match" aria-label="Previous match">
                    ↑
                  </button>
                  <button type="submit" title="Next match" aria-label="Next match">
                    ↓
                  </button>
                </form>
                <span style={{ marginLeft: 'auto' }} data-testid="cursor-offset">
                  {hexOffset(cursor)}
                </span>
              </div>
              <div className="panel-body" style={{ overflow: 'hidden' }}>
                <HexView
                  bytes={bytes}
                  selection={selection}
                  hit={hit}
                  cursor={cursor}
                  reveal={reveal}
                  minimap={minimap}
                  onCursor={onHexCursor}
                />
              </div>
            </div>
          </Panel>
          <Separator className="resize-handle" />
          <Panel defaultSize="36%" minSize="10%">
            <div className="panel">
              <div className="panel-title bottom-tabs" role="tablist">
                <button role="tab" aria-selected={bottom === 'diagnostics'} className={bottom === 'diagnostics' ? 'active' : ''} onClick={() => setBottom('diagnostics')}>
                  Diagnostics ({image.diagnostics.length})
                </button>
                <button role="tab" aria-selected={bottom === 'json'} className={bottom === 'json' ? 'active' : ''} onClick={() => setBottom('json')}>
                  {json ? `JSON: ${json.title}` : 'Section JSON'}
                </button>
              </div>
              <div className="panel-body" style={bottom === 'json' ? { overflow: 'hidden' } : undefined}>
                {bottom === 'diagnostics' ? (
                  <DiagnosticsList diagnostics={image.diagnostics} onJump={jumpTo} />
                ) : json ? (
                  <Suspense fallback={<p style={{ padding: 8 }}>Loading the editor…</p>}>
                    <JsonEditor text={`${json.fields}${json.vmdesc ? `\n\n// vmdesc entry\n${json.vmdesc}` : ''}`} dark={dark} />
                  </Suspense>
                ) : (
                  <p style={{ padding: 8 }} className="hint">
                    Select a device section (or the vmdesc) in the structure tree to see its decoded fields as JSON.
                  </p>
                )}
              </div>
            </div>
          </Panel>
        </Group>
      </Panel>
      <Separator className="resize-handle" />
      <Panel defaultSize="24%" minSize="12%">
        <div className="panel">
          <div className="panel-title">Inspector</div>
          <div className="panel-body">
            <Inspector node={selected} cursor={cursor} streamBase={image.streamBase} read={bytes.read} />
          </div>
        </div>
      </Panel>
    </Group>
  );
}
