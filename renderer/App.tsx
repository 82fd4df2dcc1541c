import { useCallback, useEffect, useState } from 'react';
import type { HostInfo, ImageOpened, WorkbenchEvent } from '../shared/api/contract';
import { errorMessage, workbench } from './api';
import { onCommand, runCommand, type Command } from './commands';
import { EmptyState } from './components/EmptyState';
import { FilePicker } from './components/FilePicker';
import { ImageWorkspace } from './components/ImageWorkspace';
import { useTheme } from './hooks/useTheme';

/** The app shell: toolbar, image tabs, the active workspace, status bar, dialogs. */
export function App() {
  const api = workbench();
  const [theme, toggleTheme] = useTheme();
  const [host, setHost] = useState<HostInfo | null>(null);
  const [images, setImages] = useState<ImageOpened[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [picker, setPicker] = useState(false);
  const [progress, setProgress] = useState<{ path: string; done: number; total: number } | null>(null);
  const [status, setStatus] = useState<{ text: string; error?: boolean }>({ text: 'Ready' });
  const [dragging, setDragging] = useState(false);

  const openPath = useCallback(
    async (path: string) => {
      performance.mark('migwb:open-requested');
      setStatus({ text: `Opening ${path}…` });
      setProgress({ path, done: 0, total: 1 });
      try {
        const opened = await api.openImage(path);
        setImages((list) => [...list, opened]);
        setActive(opened.handle);
        const errors = opened.diagnostics.filter((d) => d.severity === 'error').length;
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

  const openDialog = useCallback(async () => {
    if (!host?.nativeDialogs) return setPicker(true);
    const path = await api.pickImage();
    if (path) await openPath(path);
  }, [api, host, openPath]);

  const closeImage = useCallback(
    (handle: string) => {
      void api.closeImage(handle);
      setImages((list) => {
        const rest = list.filter((i) => i.handle !== handle);
        setActive((a) => (a === handle ? rest[rest.length - 1]?.handle ?? null : a));
        return rest;
      });
    },
    [api],
  );

  useEffect(() => {
    void api.hostInfo().then((h) => {
      setHost(h);
      h.initialPaths.forEach((p) => void openPath(p));
    });
    return api.onEvent((e: WorkbenchEvent) => {
      if (e.type === 'open-progress') setProgress({ path: e.path, done: e.done, total: e.total });
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
        else if (c.type === 'close-image' && active) closeImage(active);
        else if (c.type === 'toggle-theme') toggleTheme();
      }),
    [active, closeImage, openDialog, openPath, toggleTheme],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const command: Command | null =
        mod && e.key === 'o' ? { type: 'open-image' } : mod && e.key === 'g' ? { type: 'go-to' } : mod && e.key === 'f' ? { type: 'find' } : mod && e.key === 'w' ? { type: 'close-image' } : e.altKey && e.key === 'ArrowLeft' ? { type: 'back' } : e.altKey && e.key === 'ArrowRight' ? { type: 'forward' } : null;
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
        {images.map((i) => (
          <div key={i.handle} role="tab" aria-selected={i.handle === active} className={`tab${i.handle === active ? ' active' : ''}`} onClick={() => setActive(i.handle)} title={i.path}>
            {i.name}
            <button className="close" onClick={(e) => (e.stopPropagation(), closeImage(i.handle))} aria-label={`Close ${i.name}`}>
              ×
            </button>
          </div>
        ))}
      </div>
      <main style={{ minHeight: 0 }}>
        {images.map((i) => (
          <div key={i.handle} style={{ display: i.handle === active ? 'block' : 'none', height: '100%' }}>
            <ImageWorkspace image={i} dark={theme === 'dark'} onStatus={(text) => setStatus({ text })} />
          </div>
        ))}
        {!current && <EmptyState onOpen={() => void openDialog()} />}
      </main>
      <footer className="statusbar" data-testid="status">
        {progress && (
          <span className="progress" title={`Scanning ${progress.path}`}>
            <div style={{ width: `${(100 * progress.done) / Math.max(1, progress.total)}%` }} />
          </span>
        )}
        <span className={status.error ? 'error' : ''}>{status.text}</span>
        {current && <span>{current.kind} · {current.machineType ?? 'no machine type'} · page {current.pageSize}</span>}
        {host && <span style={{ marginLeft: 'auto' }}>{host.host === 'bridge' ? 'served by migwb serve' : 'desktop'} · v{host.version}</span>}
      </footer>
      {picker && <FilePicker mode="file" onCancel={() => setPicker(false)} onPick={(p) => (setPicker(false), void openPath(p))} />}
      {dragging && <div className="drop-overlay" />}
    </div>
  );
}
