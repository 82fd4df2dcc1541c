import { lazy, Suspense, useContext, type ComponentType } from 'react';
import { DiagnosticsList } from '../../components/DiagnosticsList';
import { EditsPanel } from '../../components/EditsPanel';
import { ThemeContext } from '../../shell/theme';
import type { BottomTab } from '../image-view';
import { useImageView, useViewState } from '../view-context';
import { DisplayTab } from './DisplayTab';
import { MemoryMapTab } from './MemoryMapTab';
import { MemorySearchTab } from './MemorySearchTab';

// Monaco is large and only the code tab needs it: load it on first use.
const CodeViewer = lazy(() => import('../../components/CodeViewer').then((m) => ({ default: m.CodeViewer })));

interface TabView {
  id: BottomTab;
  /** Components, so each subscribes to what it shows. */
  Label: ComponentType;
  Body: ComponentType;
  /** The body sizes itself to the panel (an editor) instead of scrolling in it. */
  fill?: boolean;
}

/** The tabs below the hex view, in order. A new tab is a row here (and its id in BottomTab). */
const TABS: readonly TabView[] = [
  { id: 'diagnostics', Label: DiagnosticsLabel, Body: DiagnosticsTab },
  { id: 'code', Label: CodeLabel, Body: CodeTab, fill: true },
  { id: 'edits', Label: EditsLabel, Body: EditsTab },
  { id: 'memory-search', Label: () => 'Memory search', Body: MemorySearchTab },
  { id: 'memory-map', Label: () => 'Memory map', Body: MemoryMapTab },
  { id: 'display', Label: () => 'Display', Body: DisplayTab, fill: true },
];

/** Diagnostics, the selected section as JSON (or the domain XML), the edit journal, and guest memory's search and map. */
export function BottomPanel() {
  const view = useImageView();
  const bottom = useViewState((s) => s.bottom);
  // The Display tab is there for images with a display device only.
  const hasDisplay = useViewState((s) => s.image.displays.length > 0);
  const tabs = hasDisplay ? TABS : TABS.filter((t) => t.id !== 'display');
  const shown = tabs.find((t) => t.id === bottom) ?? tabs[0];
  return (
    <div className="panel">
      <div className="panel-title bottom-tabs" role="tablist">
        {tabs.map(({ id, Label }) => (
          <button key={id} role="tab" aria-selected={bottom === id} className={bottom === id ? 'active' : ''} onClick={() => view.showTab(id)}>
            <Label />
          </button>
        ))}
      </div>
      <div className="panel-body" style={shown.fill ? { overflow: 'hidden' } : undefined}>
        <shown.Body />
      </div>
    </div>
  );
}

function DiagnosticsLabel() {
  return `Diagnostics (${useViewState((s) => s.diagnostics.length)})`;
}

function DiagnosticsTab() {
  const view = useImageView();
  const diagnostics = useViewState((s) => s.diagnostics);
  const wrapped = useViewState((s) => s.image.layers.length > 0);
  return <DiagnosticsList diagnostics={diagnostics} wrapped={wrapped} onJump={view.jumpToDiagnostic} actionsFor={view.diagnosticActions} />;
}

function CodeLabel() {
  const code = useViewState((s) => s.code);
  return code ? `${code.language.toUpperCase()}: ${code.title}` : 'Section JSON';
}

function CodeTab() {
  const code = useViewState((s) => s.code);
  const wrapped = useViewState((s) => s.image.layers.length > 0);
  const dark = useContext(ThemeContext) === 'dark';
  return code ? (
    <Suspense fallback={<p style={{ padding: 8 }}>Loading the editor…</p>}>
      <CodeViewer text={code.text} language={code.language} dark={dark} />
    </Suspense>
  ) : (
    <p style={{ padding: 8 }} className="hint">
      Select a device section (or the vmdesc) in the structure tree to see its decoded fields as JSON{wrapped ? ', or the domain XML to read it' : ''}.
    </p>
  );
}

function EditsLabel() {
  return `Edits (${useViewState((s) => s.journal.edits.length)})`;
}

function EditsTab() {
  const journal = useViewState((s) => s.journal);
  return <EditsPanel edits={journal.edits} redoable={journal.redoable} />;
}
