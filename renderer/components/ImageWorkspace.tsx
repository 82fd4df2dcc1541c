import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Group, Panel, Separator } from 'react-resizable-panels';
import type { ByteSpace, EditState, EditSummary, ImageOpened, SaveRequest, SearchQuery, TreeNode } from '../../shared/api/contract';
import { errorMessage, hexOffset, parseOffset, workbench } from '../api';
import { ByteCache } from '../byte-cache';
import { onCommand } from '../commands';
import { useTreeModel } from '../hooks/useTreeModel';
import type { CodeLanguage } from './CodeViewer';
import { DiagnosticsList, type PlacedDiagnostic } from './DiagnosticsList';
import { EditsPanel } from './EditsPanel';
import type { PickMode } from './FilePicker';
import { HexView, type Range } from './HexView';
import { Inspector } from './Inspector';
import { StructureTree } from './StructureTree';

interface Props {
  image: ImageOpened;
  /** The workspace on screen: commands (menus, shortcuts) go to it alone. */
  active: boolean;
  dark: boolean;
  onStatus(text: string, error?: boolean): void;
  /** An edit, undo, redo or repair produced a new revision of the image. */
  onImageChanged(image: ImageOpened): void;
  choosePath(mode: PickMode, suggestedName?: string): Promise<string | null>;
}

interface Place {
  offset: number;
  space: ByteSpace;
  nodeId: string | null;
}

/** What the code tab shows: a section's decoded fields as JSON, or the domain XML. */
interface Code {
  title: string;
  text: string;
  language: CodeLanguage;
}

const MINIMAP_BUCKETS = 2048;

// Monaco is large and only the code tab needs it: load it on first use.
const CodeViewer = lazy(() => import('./CodeViewer').then((m) => ({ default: m.CodeViewer })));

/** The note of a stream without a vmdesc: shown first, since its action (borrowing a sibling's) is what makes its fields readable. */
const NO_VMDESC = 'no-vmdesc';

/**
 * One open image: the structure tree linked both ways to the hex view, the inspector, the
 * diagnostics and the section JSON. Selecting a node highlights its bytes; clicking a
 * byte reveals the innermost node that contains it.
 *
 * A wrapped image (libvirt save, qcow2 snapshot) has two byte spaces: the QEMU stream,
 * where sections live, and the file, where the wrapper's header, XML and snapshot table
 * live. The hex view shows one at a time and follows the selected node's space.
 */
export function ImageWorkspace({ image, active, dark, onStatus, onImageChanged, choosePath }: Props) {
  const api = workbench();
  const tree = useTreeModel(image.handle, image.revision);
  const wrapped = image.layers.length > 0;
  // A new revision (after an edit) has new bytes: a new cache.
  const streamBytes = useMemo(() => new ByteCache(image.handle, image.streamSize, 'stream'), [image.handle, image.streamSize, image.revision]);
  const fileBytes = useMemo(() => (wrapped ? new ByteCache(image.handle, image.fileSize, 'file') : streamBytes), [image.handle, image.fileSize, wrapped, streamBytes]);
  const [space, setSpace] = useState<ByteSpace>('stream');
  const bytes = space === 'file' ? fileBytes : streamBytes;
  const diagnostics = useMemo<PlacedDiagnostic[]>(
    () => [...image.containerDiagnostics.map((d) => ({ ...d, space: 'file' as const })), ...image.diagnostics.map((d) => ({ ...d, space: 'stream' as const }))],
    [image],
  );
  const [selected, setSelected] = useState<TreeNode | null>(null);
  const [cursor, setCursor] = useState(0);
  const [reveal, setReveal] = useState<{ offset: number; seq: number } | null>(null);
  const [hit, setHit] = useState<Range | null>(null);
  const [minimap, setMinimap] = useState<number[] | null>(null);
  const [bottom, setBottom] = useState<'diagnostics' | 'code' | 'edits'>(diagnostics.some((d) => d.severity !== 'info' || d.code === NO_VMDESC) ? 'diagnostics' : 'code');
  const [code, setCode] = useState<Code | null>(null);
  const [journal, setJournal] = useState<{ edits: EditSummary[]; redoable: EditSummary[] }>({ edits: [], redoable: [] });
  const [busy, setBusy] = useState(false);
  const [fieldAddress, setFieldAddress] = useState<string | null>(null);
  const [goto, setGoto] = useState('');
  const [find, setFind] = useState<{ kind: SearchQuery['kind']; pattern: string }>({ kind: 'text', pattern: '' });
  const history = useRef<{ places: Place[]; at: number }>({ places: [], at: -1 });
  const gotoInput = useRef<HTMLInputElement>(null);
  const revealTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const findInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void api.minimap(image.handle, MINIMAP_BUCKETS).then(setMinimap);
  }, [api, image.handle, image.revision]);

  useEffect(() => {
    if (tree.rootsLoaded) {
      // The structure tree is on screen: the responsiveness benchmark reads this mark.
      requestAnimationFrame(() => performance.mark('migwb:tree-painted'));
    }
  }, [tree.rootsLoaded]);

  const remember = (place: Place) => {
    const h = history.current;
    const last = h.places[h.at];
    if (last && last.offset === place.offset && last.space === place.space && last.nodeId === place.nodeId) return;
    h.places = [...h.places.slice(0, h.at + 1), place].slice(-200);
    h.at = h.places.length - 1;
  };

  const showNode = useCallback(
    (node: TreeNode, moveCursor: boolean) => {
      setSelected(node);
      if (moveCursor) {
        setSpace(node.space ?? 'stream');
        setCursor(node.offset);
        setReveal({ offset: node.offset, seq: Date.now() });
      }
      setFieldAddress(null);
      if (node.kind === 'field' || node.kind === 'struct' || node.kind === 'array' || node.kind === 'subsection') {
        void api.fieldAddress(image.handle, node.id).then(setFieldAddress, () => setFieldAddress(null));
      }
      const element = /^e\d+/.exec(node.id)?.[0];
      if (element) {
        const asCode = (j: { title: string; fields: string; vmdesc: string | null } | null): Code | null =>
          j && { title: j.title, text: `${j.fields}${j.vmdesc ? `\n\n// vmdesc entry\n${j.vmdesc}` : ''}`, language: 'json' };
        void api.sectionJson(image.handle, element).then((j) => setCode(asCode(j)), () => setCode(null));
      } else if (node.kind === 'container-part' && node.value?.kind === 'text') {
        setCode({ title: node.label, text: node.value.value, language: 'xml' });
      }
    },
    [api, image.handle],
  );

  const selectNode = useCallback(
    (node: TreeNode) => {
      showNode(node, true);
      remember({ offset: node.offset, space: node.space ?? 'stream', nodeId: node.id });
    },
    [showNode],
  );
  const { setOpen } = tree;
  const toggleNode = useCallback((id: string, open: boolean) => void setOpen(id, open), [setOpen]);

  /** Moves the cursor to an offset of a byte space and reveals the innermost node containing it. */
  const goToOffset = useCallback(
    async (offset: number, record: boolean, to: ByteSpace) => {
      const size = to === 'file' ? image.fileSize : image.streamSize;
      const at = Math.max(0, Math.min(size - 1, offset));
      setSpace(to);
      setCursor(at);
      setReveal({ offset: at, seq: Date.now() });
      try {
        const path = await api.nodePathAt(image.handle, at, to);
        const node = await tree.revealPath(path);
        if (node) showNode(node, false);
        if (record) remember({ offset: at, space: to, nodeId: node?.id ?? null });
      } catch (e) {
        onStatus(errorMessage(e));
      }
    },
    [api, image.handle, image.fileSize, image.streamSize, onStatus, showNode, tree],
  );

  const step = (delta: number) => {
    const h = history.current;
    const place = h.places[h.at + delta];
    if (!place) return;
    h.at += delta;
    void goToOffset(place.offset, false, place.space);
  };

  const runSearch = async (backwards = false) => {
    if (!find.pattern) return findInput.current?.focus();
    try {
      const found = await api.search(image.handle, { ...find, from: backwards ? cursor : cursor + 1, backwards, space });
      if (!found) return onStatus(`"${find.pattern}" not found ${backwards ? 'before' : 'after'} ${hexOffset(cursor)}`);
      setHit(found);
      onStatus(`found at ${hexOffset(found.offset)}`);
      await goToOffset(found.offset, true, space);
    } catch (e) {
      onStatus(errorMessage(e));
    }
  };

  const submitGoto = () => {
    const offset = parseOffset(goto);
    if (offset === null) return onStatus(`"${goto}" is not an offset; use 0x1f00, 1f00h or 7936`);
    void goToOffset(offset, true, space);
  };

  useEffect(
    () =>
      onCommand((c) => {
        if (!active) return;
        if (c.type === 'go-to') gotoInput.current?.focus();
        else if (c.type === 'find') findInput.current?.focus();
        else if (c.type === 'back') step(-1);
        else if (c.type === 'forward') step(1);
        else if (c.type === 'undo') void runEdit(() => api.editUndo(image.handle), 'undone');
        else if (c.type === 'redo') void runEdit(() => api.editRedo(image.handle), 'redone');
      }),
    // step/goToOffset/runEdit read refs and current state through closures recreated each render.
  );

  /**
   * Runs an edit, undo, redo or repair in the backend and shows its result: the new revision
   * of the image (tree, bytes, diagnostics), the journal, and the node at the cursor again.
   */
  const runEdit = async <T extends EditState>(request: () => Promise<T>, done: string | ((r: T) => string)): Promise<T | undefined> => {
    if (busy) return undefined;
    setBusy(true);
    try {
      const state = await request();
      onImageChanged(state.image);
      setJournal({ edits: state.edits, redoable: state.redoable });
      const errors = state.image.diagnostics.filter((d) => d.severity === 'error').length;
      onStatus(`${typeof done === 'string' ? done : done(state)}; ${errors ? `${errors} error${errors === 1 ? '' : 's'} left` : 'no errors'} (not saved yet)`, errors > 0);
      return state;
    } catch (e) {
      onStatus(errorMessage(e), true);
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  // After a new revision, the node at the cursor is looked up again (its bytes or value changed).
  useEffect(() => {
    if (image.revision > 0) void goToOffset(Math.min(cursor, (space === 'file' ? image.fileSize : image.streamSize) - 1), false, space);
    // Only when the revision changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [image.revision]);

  const setField = useCallback(
    (field: string, value: string) => void runEdit(() => api.editApply(image.handle, { op: 'set-field', field, value }), `set ${field} = ${value}`),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, image.handle, busy],
  );
  const overwrite = useCallback(
    (offset: number, hex: string) => void runEdit(() => api.editApply(image.handle, { op: 'replace-bytes', offset, hex }), `bytes at ${hexOffset(offset)} overwritten`),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, image.handle, busy],
  );

  const repair = async (withDonor: boolean) => {
    const donor = withDonor ? await choosePath('file') : null;
    if (withDonor && !donor) return;
    setBottom('edits');
    await runEdit(
      () => api.editRepair(image.handle, donor),
      (r) =>
        (r.repairs.length ? `${r.repairs.length} repair${r.repairs.length === 1 ? '' : 's'} made: ${r.repairs.map((x) => x.summary).join('; ')}` : 'nothing to repair') +
        (r.stopped ? ` (${r.stopped})` : '') +
        (r.lost.length ? `. Not recovered: ${r.lost.join('; ')}. ${r.consequence}${donor ? '' : ' (Undo, then Repair with donor…)'}` : ''),
    );
  };

  const save = async (request: SaveRequest) => {
    const out = await choosePath('save', suggestedOutputName(image.name, request.streamOnly));
    if (!out) return;
    setBusy(true);
    onStatus(`Saving ${out}…`);
    try {
      const saved = await api.editSave(image.handle, out, request);
      const errors = saved.diagnostics.filter((d) => d.severity === 'error').length;
      onStatus(`Saved ${saved.path} (${saved.size.toLocaleString()} bytes, sha256 ${saved.sha256.slice(0, 16)}…)${errors ? `, with ${errors} errors` : ', checked: no errors'}${saved.notes.length ? `; ${saved.notes.join('; ')}` : ''}`);
    } catch (e) {
      onStatus(errorMessage(e), true);
    } finally {
      setBusy(false);
    }
  };

  const borrowVmdesc = async () => {
    const sibling = await choosePath('file');
    if (!sibling) return;
    setBusy(true);
    try {
      const shown = await api.borrowVmdesc(image.handle, sibling);
      onImageChanged(shown);
      const b = shown.borrowedVmdesc!;
      onStatus(`Fields decoded with the vmdesc of ${b.from}: ${b.described} of ${b.described + b.undescribed} device sections${b.undescribed ? ` (${b.undescribed} it does not fit are raw; see Diagnostics)` : ''}`);
    } catch (e) {
      onStatus(errorMessage(e), true);
    } finally {
      setBusy(false);
    }
  };
  const diagnosticActions = useMemo(
    () => ({ [NO_VMDESC]: { label: 'Decode with a sibling image’s vmdesc…', run: () => void borrowVmdesc() } }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [image.handle, busy],
  );

  const saveJournal = async () => {
    const out = await choosePath('save', `${image.name}.journal.json`);
    if (!out) return;
    try {
      await api.editSaveJournal(image.handle, out);
      onStatus(`Journal saved to ${out}; re-apply it with: migwb apply ${image.path} ${out} -o OUTPUT`);
    } catch (e) {
      onStatus(errorMessage(e), true);
    }
  };

  const jumpTo = useCallback((d: PlacedDiagnostic) => void goToOffset(d.offset, true, d.space), [goToOffset]);

  /** A click reveals the node at once; keyboard moves reveal it once the keys rest. */
  const onHexCursor = useCallback(
    (offset: number, byClick: boolean) => {
      clearTimeout(revealTimer.current);
      if (byClick) return void goToOffset(offset, true, space);
      setCursor(offset);
      revealTimer.current = setTimeout(() => void goToOffset(offset, true, space), 150);
    },
    [goToOffset, space],
  );
  const showSpace = (to: ByteSpace) => {
    if (to === space) return;
    setHit(null);
    // The same byte in the other space, where the file holds the stream as is.
    const base = image.streamBase;
    const mapped = base === null ? 0 : to === 'file' ? cursor + base : Math.max(0, cursor - base);
    void goToOffset(mapped, true, to);
  };
  const selection = useMemo(() => (selected && (selected.space ?? 'stream') === space ? { offset: selected.offset, length: selected.length } : null), [selected, space]);

  const bottomTab = (id: typeof bottom, label: string) => (
    <button role="tab" aria-selected={bottom === id} className={bottom === id ? 'active' : ''} onClick={() => setBottom(id)}>
      {label}
    </button>
  );

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
                {wrapped && (
                  <span className="segmented" role="group" aria-label="Bytes shown">
                    <button aria-pressed={space === 'stream'} onClick={() => showSpace('stream')} title="The QEMU migration stream, where the sections are">
                      Stream
                    </button>
                    <button aria-pressed={space === 'file'} onClick={() => showSpace('file')} title={`The whole ${image.layers.join(' / ')} file, with its wrapper`}>
                      File
                    </button>
                  </span>
                )}
                <span style={{ marginLeft: 'auto' }} data-testid="cursor-offset" data-space={space}>
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
                  minimap={space === 'stream' ? minimap : null}
                  onCursor={onHexCursor}
                />
              </div>
            </div>
          </Panel>
          <Separator className="resize-handle" />
          <Panel defaultSize="36%" minSize="10%">
            <div className="panel">
              <div className="panel-title bottom-tabs" role="tablist">
                {bottomTab('diagnostics', `Diagnostics (${diagnostics.length})`)}
                {bottomTab('code', code ? `${code.language.toUpperCase()}: ${code.title}` : 'Section JSON')}
                {bottomTab('edits', `Edits (${journal.edits.length})`)}
              </div>
              <div className="panel-body" style={bottom === 'code' ? { overflow: 'hidden' } : undefined}>
                {bottom === 'diagnostics' ? (
                  <DiagnosticsList diagnostics={diagnostics} wrapped={wrapped} onJump={jumpTo} actions={diagnosticActions} />
                ) : bottom === 'edits' ? (
                  <EditsPanel
                    edits={journal.edits}
                    redoable={journal.redoable}
                    wrapped={wrapped}
                    busy={busy}
                    onUndo={() => void runEdit(() => api.editUndo(image.handle), 'undone')}
                    onRedo={() => void runEdit(() => api.editRedo(image.handle), 'redone')}
                    onRepair={(withDonor) => void repair(withDonor)}
                    onSave={(request) => void save(request)}
                    onSaveJournal={() => void saveJournal()}
                  />
                ) : code ? (
                  <Suspense fallback={<p style={{ padding: 8 }}>Loading the editor…</p>}>
                    <CodeViewer text={code.text} language={code.language} dark={dark} />
                  </Suspense>
                ) : (
                  <p style={{ padding: 8 }} className="hint">
                    Select a device section (or the vmdesc) in the structure tree to see its decoded fields as JSON{wrapped ? ', or the domain XML to read it' : ''}.
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
            <Inspector
              node={selected}
              cursor={cursor}
              space={space}
              streamBase={image.streamBase}
              offsetSpace={image.offsetSpace}
              read={bytes.read}
              fieldAddress={fieldAddress}
              canEdit={!busy}
              onSetField={setField}
              onOverwrite={overwrite}
            />
          </div>
        </div>
      </Panel>
    </Group>
  );
}

/** "vm.sav" -> "vm.edited.sav" (or "vm.edited.mig" for the stream alone). */
function suggestedOutputName(name: string, streamOnly: boolean): string {
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? name.slice(0, dot) : name;
  return `${base}.edited${streamOnly ? '.mig' : dot > 0 ? name.slice(dot) : ''}`;
}
