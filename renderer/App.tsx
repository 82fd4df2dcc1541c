import { useCallback, useEffect, useRef, useState } from 'react';
import type { HostInfo, ImageOpened, WorkbenchEvent } from '../shared/api/contract';
import { errorMessage, workbench } from './api';
import { onCommand, runCommand, type Command } from './commands';
import { EmptyState } from './components/EmptyState';
import { FilePicker, type PickMode } from './components/FilePicker';
import { ImageWorkspace } from './components/ImageWorkspace';
import { LibraryView } from './components/LibraryView';
import { useTheme } from './hooks/useTheme';

const LIBRARY = 'library';

const PHASE_LABELS = { decompress: 'Decompressing', scan: 'Scanning', hashing: 'Hashing', writing: 'Writing' } as const;

/** The app shell: toolbar, the library and image tabs, the active view, status bar, dialogs. */
export function App() {
  const api = workbench();
  const [theme, toggleTheme] = useTheme();
  const [host, setHost] = useState<HostInfo | null>(null);
  const [images, setImages] = useState<ImageOpened[]>([]);
  /** The open image's handle, or "library". */
  const [active, setActive] = useState<string | null>(null);
  const [picker, setPicker] = useState<null | { mode: PickMode; suggestedName?: string; resolve(path: string | null): void }>(null);
  /** Long work in the backend: opening (decompress, scan) or saving (hashing, writing) a file. */
  const [progress, setProgress] = useState<{ path: string; phase: 'decompress' | 'scan' | 'hashing' | 'writing'; done: number; total: number } | null>(null);
  const [status, setStatus] = useState<{ text: string; error?: boolean }>({ text: 'Ready' });
  const [dragging, setDragging] = useState(false);

  const openPath = useCallback(
    async (path: string) => {
      performance.mark('migwb:open-requested');
      setStatus({ text: `Opening ${path}…` });
      setProgress({ path, phase: 'scan', done: 0, total: 1 });
      try {
        const opened = await api.openImage(path);
        setImages((list) => [...list, opened]);
        setActive(opened.handle);
        const errors = [...opened.containerDiagnostics, ...opened.diagnostics].filter((d) => d.severity === 'error').length;
        const via = opened.openedVia === 'scan' ? 'scanned' : `read its ${opened.openedVia === 'sidecar' ? 'sidecar ' : ''}section directory`;
        setStatus({ text: `${opened.name}: ${opened.streamSize.toLocaleString()} bytes, ${via} in ${opened.openMs} ms${errors ? `, ${errors} errors` : ''}`, error: errors > 0 });
      } catch (e) {
        setStatus({ text: errorMessage(e), error: true });
      } finally {
        setProgress(null);
      }
    },
    [api],
  );

  /** A path chosen with the native dialog (desktop) or the in-app picker (browser). */
  const choose = useCallback(
    (mode: PickMode, suggestedName = ''): Promise<string | null> => {
      if (host?.nativeDialogs) return mode === 'file' ? api.pickImage() : mode === 'folder' ? api.pickFolder() : api.pickSavePath(suggestedName);
      return new Promise((resolve) => setPicker({ mode, suggestedName, resolve }));
    },
    [api, host],
  );

  /** An edit, undo, redo or repair changed an image: its tab, status bar and views follow. */
  const imageChanged = useCallback((image: ImageOpened) => setImages((list) => list.map((i) => (i.handle === image.handle ? image : i))), []);

  const openDialog = useCallback(async () => {
    const path = await choose('file');
    if (path) await openPath(path);
  }, [choose, openPath]);

  const closeImage = useCallback(
    (handle: string) => {
      void api.closeImage(handle);
      setImages((list) => {
        const rest = list.filter((i) => i.handle !== handle);
        setActive((a) => (a === handle ? rest[rest.length - 1]?.handle ?? LIBRARY : a));
        return rest;
      });
    },
    [api],
  );

  useEffect(() => {
    void api.hostInfo().then((h) => {
      setHost(h);
      if (h.initialFolders.length) setActive(LIBRARY);
      h.initialPaths.forEach((p) => void openPath(p));
    });
    return api.onEvent((e: WorkbenchEvent) => {
      if (e.type === 'open-progress') setProgress({ path: e.path, phase: e.phase, done: e.done, total: e.total });
      else if (e.type === 'save-progress') setProgress(e.done >= e.total && e.phase === 'writing' ? null : { path: 'the edited image', phase: e.phase, done: e.done, total: e.total });
      else if (e.type === 'menu') runCommand({ type: e.command } as Command);
      else if (e.type === 'open-path') void openPath(e.path);
    });
    // Once: host info and the event subscription.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(
    () =>
      onCommand((c) => {
        if (c.type === 'open-image') void openDialog();
        else if (c.type === 'open-path') void openPath(c.path);
        else if (c.type === 'close-image' && active && active !== LIBRARY) closeImage(active);
        else if (c.type === 'toggle-theme') toggleTheme();
      }),
    [active, closeImage, openDialog, openPath, toggleTheme],
  );

  const hostRef = useRef<HostInfo | null>(null);
  hostRef.current = host;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      // Inside a text field, Ctrl+Z is the field's own undo.
      const inField = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || (e.target as HTMLElement)?.isContentEditable;
      const key = e.key.toLowerCase();
      const edit: Command | null = mod && !inField && key === 'z' ? { type: e.shiftKey ? 'redo' : 'undo' } : mod && !inField && key === 'y' ? { type: 'redo' } : null;
      // In the desktop app the native menu's accelerators deliver these; only the browser needs them here.
      const menuHandles = hostRef.current?.host === 'electron';
      const command: Command | null =
        edit ??
        (menuHandles ? null : mod && e.key === 'o' ? { type: 'open-image' } : mod && e.key === 'g' ? { type: 'go-to' } : mod && e.key === 'f' ? { type: 'find' } : mod && e.key === 'w' ? { type: 'close-image' } : e.altKey && e.key === 'ArrowLeft' ? { type: 'back' } : e.altKey && e.key === 'ArrowRight' ? { type: 'forward' } : null);
      if (!command) return;
      e.preventDefault();
      runCommand(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const onDrop = (e: React.DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const files = [...e.dataTransfer.files];
    const paths = files.map((f) => api.pathForDroppedFile(f)).filter((p): p is string => !!p);
    if (files.length && !paths.length) setStatus({ text: 'Dropping files works in the desktop app; in a browser use Open image…', error: true });
    paths.forEach((p) => void openPath(p));
  };

  const current = images.find((i) => i.handle === active) ?? null;
  return (
    <div className="app" onDragOver={(e) => (e.preventDefault(), setDragging(true))} onDragLeave={() => setDragging(false)} onDrop={onDrop}>
      <div className="toolbar" role="toolbar">
        <span className="title">Migration Image Workbench</span>
        <button onClick={() => void openDialog()} title="Open image (Ctrl+O)">
          Open image…
        </button>
        <span className="spacer" />
        <button onClick={toggleTheme} title="Switch between light and dark" aria-label="Toggle theme">
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
      </div>
      <div className="tabs" role="tablist">
        <div role="tab" aria-selected={active === LIBRARY} className={`tab${active === LIBRARY ? ' active' : ''}`} onClick={() => setActive(LIBRARY)}>
          Library
        </div>
        {images.map((i) => (
          <div key={i.handle} role="tab" aria-selected={i.handle === active} className={`tab${i.handle === active ? ' active' : ''}`} onClick={() => setActive(i.handle)} title={i.edits ? `${i.path} (${i.edits} edits in the journal; the file is unchanged)` : i.path}>
            {i.name}
            {i.edits > 0 && <span className="edited-mark"> ●</span>}
            <button className="close" onClick={(e) => (e.stopPropagation(), closeImage(i.handle))} aria-label={`Close ${i.name}`}>
              ×
            </button>
          </div>
        ))}
      </div>
      <main style={{ minHeight: 0 }}>
        {images.map((i) => (
          <div key={i.handle} style={{ display: i.handle === active ? 'block' : 'none', height: '100%' }}>
            <ImageWorkspace image={i} active={i.handle === active} dark={theme === 'dark'} onStatus={(text, error) => setStatus({ text, error })} onImageChanged={imageChanged} choosePath={choose} />
          </div>
        ))}
        {host && (
          <div style={{ display: active === LIBRARY ? 'block' : 'none', height: '100%' }}>
            <LibraryView initialFolders={host.initialFolders} nativeDialogs={host.nativeDialogs} onOpen={(p) => void openPath(p)} onPickFolder={() => choose('folder')} onStatus={(text, error) => setStatus({ text, error })} />
          </div>
        )}
        {!current && active !== LIBRARY && <EmptyState onOpen={() => void openDialog()} onLibrary={() => setActive(LIBRARY)} />}
      </main>
      <footer className="statusbar" data-testid="status">
        {progress && (
          <span className="progress" title={`${PHASE_LABELS[progress.phase]} ${progress.path}`}>
            <div style={{ width: `${(100 * progress.done) / Math.max(1, progress.total)}%` }} />
          </span>
        )}
        <span className={status.error ? 'error' : ''}>{status.text}</span>
        {current && <span>{current.kind} · {current.machineType ?? 'no machine type'} · page {current.pageSize}</span>}
        {host && <span style={{ marginLeft: 'auto' }}>{host.host === 'bridge' ? 'served by migwb serve' : 'desktop'} · v{host.version}</span>}
      </footer>
      {picker && (
        <FilePicker
          mode={picker.mode}
          suggestedName={picker.suggestedName}
          onCancel={() => (setPicker(null), picker.resolve(null))}
          onPick={(p) => (setPicker(null), picker.resolve(p))}
        />
      )}
      {dragging && <div className="drop-overlay" />}
    </div>
  );
}
