import { useEffect, useState } from 'react';
import { workbench } from './api';
import { ConfirmDialog } from './components/ConfirmDialog';
import { EmptyState } from './components/EmptyState';
import { FilePicker } from './components/FilePicker';
import { CompareWorkspace } from './compare/CompareWorkspace';
import { ImageWorkspace } from './image/ImageWorkspace';
import { LibraryView } from './library/LibraryView';
import { useStore } from './state/store';
import { ImageTabs } from './shell/ImageTabs';
import { LIBRARY, Shell } from './shell/shell';
import { StatusBar } from './shell/StatusBar';
import { ThemeContext } from './shell/theme';

/** The app: toolbar, the library and image tabs, the view on screen, status bar, dialogs. Its state and commands are the Shell's. */
export function App() {
  const [shell] = useState(() => new Shell(workbench()));
  useEffect(() => shell.start(), [shell]);
  const host = useStore(shell.store, (s) => s.host);
  const views = useStore(shell.store, (s) => s.views);
  const active = useStore(shell.store, (s) => s.active);
  const compares = useStore(shell.store, (s) => s.compares);
  const picker = useStore(shell.store, (s) => s.picker);
  const confirm = useStore(shell.store, (s) => s.confirm);
  const theme = useStore(shell.store, (s) => s.theme);
  const evidenceMode = useStore(shell.store, (s) => s.evidenceMode);
  const [dragging, setDragging] = useState(false);
  const current = views.find((v) => v.handle === active);

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    shell.dropFiles([...e.dataTransfer.files]);
  };

  return (
    <ThemeContext value={theme}>
      <div className="app" onDragOver={(e) => (e.preventDefault(), setDragging(true))} onDragLeave={() => setDragging(false)} onDrop={onDrop}>
        <div className="toolbar" role="toolbar">
          <span className="title">Migration Image Workbench</span>
          <button onClick={() => void shell.openDialog()} title="Open image (Ctrl+O)">
            Open image…
          </button>
          <label title="Open images read-only for evidence: no edit is allowed, and each file's sha256 is recorded in the library with the time; a file whose hash changed since is flagged">
            <input type="checkbox" checked={evidenceMode} onChange={(e) => shell.setEvidenceMode(e.target.checked)} /> Open for evidence (read-only)
          </label>
          <span className="spacer" />
          <button onClick={shell.toggleTheme} title="Switch between light and dark" aria-label="Toggle theme">
            {theme === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
        </div>
        <ImageTabs shell={shell} />
        <main style={{ minHeight: 0 }}>
          {views.map((v) => (
            <div key={v.handle} style={{ display: v.handle === active ? 'block' : 'none', height: '100%' }}>
              <ImageWorkspace view={v} />
            </div>
          ))}
          {compares.map((c) => (
            <div key={c.id} style={{ display: c.id === active ? 'block' : 'none', height: '100%' }}>
              <CompareWorkspace compare={c} />
            </div>
          ))}
          {host && (
            <div style={{ display: active === LIBRARY ? 'block' : 'none', height: '100%' }}>
              <LibraryView library={shell.library} onPickFolder={shell.pickFolder} />
            </div>
          )}
          {!current && active !== LIBRARY && !compares.some((c) => c.id === active) && <EmptyState onOpen={() => void shell.openDialog()} onLibrary={() => shell.show(LIBRARY)} />}
        </main>
        <StatusBar shell={shell} current={current} />
        {picker && <FilePicker mode={picker.mode} title={picker.title} suggestedName={picker.suggestedName} startIn={picker.startIn} onCancel={() => shell.picked(null)} onPick={shell.picked} />}
        {confirm && <ConfirmDialog request={confirm} onAnswer={shell.answered} />}
        {dragging && <div className="drop-overlay" />}
      </div>
    </ThemeContext>
  );
}
