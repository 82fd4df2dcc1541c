import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useEffectEvent, useMemo, useRef, useState } from 'react';
import type { LibraryImage, LibraryIndexReport, WorkbenchEvent } from '../../shared/api/contract';
import { humanSize } from '../../shared/api/size';
import { errorMessage, workbench } from '../api';

type SortKey = 'name' | 'format' | 'machineType' | 'size' | 'status' | 'problems' | 'indexedAt';

interface Props {
  /** Folders to add right away (`migwb serve FOLDER`). */
  initialFolders: string[];
  nativeDialogs: boolean;
  onOpen(path: string): void;
  onPickFolder(): Promise<string | null>;
  onStatus(text: string, error?: boolean): void;
}

const COLUMNS: { key: SortKey; label: string; width: string }[] = [
  { key: 'name', label: 'Image', width: '2.4fr' },
  { key: 'format', label: 'Format', width: '1.4fr' },
  { key: 'machineType', label: 'Machine', width: '1fr' },
  { key: 'size', label: 'Size', width: '0.7fr' },
  { key: 'status', label: 'Status', width: '0.8fr' },
  { key: 'problems', label: 'Problems', width: '0.7fr' },
  { key: 'indexedAt', label: 'Indexed', width: '1fr' },
];
const GRID = COLUMNS.map((c) => c.width).join(' ');

/**
 * The image library: every indexed image with format, machine type, size and status;
 * filter and sort; add a folder and watch it being indexed; double-click to open.
 */
export function LibraryView({ initialFolders, onOpen, onPickFolder, onStatus }: Props) {
  const api = workbench();
  const [images, setImages] = useState<LibraryImage[]>([]);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'name', descending: false });
  const [progress, setProgress] = useState<Extract<WorkbenchEvent, { type: 'index-progress' }> | null>(null);
  const [progressEvents, setProgressEvents] = useState(0);
  const [selected, setSelected] = useState<number | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  const refresh = () => api.libraryList().then(setImages, (e) => onStatus(errorMessage(e), true));

  const addFolders = async (folders: string[]) => {
    setProgress({ type: 'index-progress', filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, currentFile: null });
    try {
      const r: LibraryIndexReport = await api.libraryIndex(folders);
      onStatus(
        `${r.cancelled ? 'Indexing cancelled' : 'Indexed'}: ${r.indexed} new or changed, ${r.unchanged} unchanged, ${r.missing} missing, ${r.unsupported} unsupported (recognised, not opened yet), ${r.failed} failed of ${r.files} files in ${(r.elapsedMs / 1000).toFixed(1)} s`,
      );
    } catch (e) {
      onStatus(errorMessage(e), true);
    } finally {
      setProgress(null);
      void refresh();
    }
  };

  useEffect(
    () =>
      api.onEvent((e) => {
        if (e.type !== 'index-progress') return;
        setProgress(e);
        setProgressEvents((n) => n + 1);
      }),
    [api],
  );

  // Once, when the library first shows: what it holds, and the folders given on the command line.
  const loadAtStart = useEffectEvent(() => {
    void refresh();
    if (initialFolders.length) void addFolders(initialFolders);
  });
  useEffect(() => loadAtStart(), []);

  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const keyed = images
      .filter((i) => !needle || [i.path, i.format, i.machineType, i.status, ...i.tags].some((f) => f?.toLowerCase().includes(needle)))
      .map((i) => ({ image: i, name: i.path.split(/[/\\]/).pop() ?? i.path, problems: i.errors * 1e6 + i.warnings }));
    const value = (r: (typeof keyed)[number]): string | number =>
      sort.key === 'name' ? r.name : sort.key === 'problems' ? r.problems : (r.image[sort.key] as string | number | null) ?? '';
    keyed.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sort.descending ? -c : c;
    });
    return keyed;
  }, [images, filter, sort]);

  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => 24, overscan: 20 });

  const pickAndAdd = async () => {
    const folder = await onPickFolder();
    if (folder) await addFolders([folder]);
  };

  return (
    <div className="library" data-testid="library" data-progress-events={progressEvents}>
      <div className="library-bar">
        <button className="primary" onClick={() => void pickAndAdd()} disabled={!!progress}>
          Add folder…
        </button>
        <button onClick={() => void addFolders([])} disabled={!!progress || images.length === 0} title="Re-index every folder of the library (only changed files are read)">
          Re-index
        </button>
        <input type="search" placeholder="Filter by name, format, machine, status, tag" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter library" size={36} />
        {progress && (
          <span className="library-progress" data-testid="index-progress">
            <span className="progress">
              <div style={{ width: `${(100 * progress.bytesDone) / Math.max(1, progress.bytesTotal)}%` }} />
            </span>
            {progress.filesDone} / {progress.filesTotal} files · {humanSize(progress.bytesDone)} / {humanSize(progress.bytesTotal)}
            {progress.currentFile ? ` · ${progress.currentFile.split(/[/\\]/).pop()}` : ''}
            <button onClick={() => void api.libraryCancel()}>Cancel</button>
          </span>
        )}
        <span className="library-count">{rows.length === images.length ? `${images.length} images` : `${rows.length} of ${images.length} images`}</span>
      </div>
      <div className="library-head" style={{ gridTemplateColumns: GRID }} role="row">
        {COLUMNS.map((c) => (
          <button key={c.key} role="columnheader" aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'} onClick={() => setSort((s) => ({ key: c.key, descending: s.key === c.key ? !s.descending : false }))}>
            {c.label}
            {sort.key === c.key ? (sort.descending ? ' ▾' : ' ▴') : ''}
          </button>
        ))}
      </div>
      {images.length === 0 && !progress ? (
        <div className="empty">
          <div className="card">
            <h2>Your library is empty</h2>
            <p>Add a folder of migration and save images. Every image in it is recognised by its content and indexed, so you can sort, filter and open them here; only changed files are read again later.</p>
            <div className="actions">
              <button className="primary" onClick={() => void pickAndAdd()}>
                Add folder…
              </button>
            </div>
          </div>
        </div>
      ) : (
        <div className="library-rows" ref={scroller} role="grid" aria-label="Library" tabIndex={0}
          onKeyDown={(e) => {
            const i = rows.findIndex((r) => r.image.id === selected);
            if (e.key === 'ArrowDown' && rows[i + 1]) setSelected(rows[i + 1].image.id);
            else if (e.key === 'ArrowUp' && i > 0) setSelected(rows[i - 1].image.id);
            else if (e.key === 'Enter' && i >= 0) onOpen(rows[i].image.path);
            else return;
            e.preventDefault();
          }}
        >
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {virtual.getVirtualItems().map((item) => {
              const { image, name } = rows[item.index];
              return (
                <div
                  key={image.id}
                  role="row"
                  className={`library-row${image.id === selected ? ' selected' : ''}`}
                  style={{ top: item.start, gridTemplateColumns: GRID }}
                  onClick={() => setSelected(image.id)}
                  onDoubleClick={() => image.status === 'indexed' && onOpen(image.path)}
                  title={image.statusDetail ?? image.path}
                  data-path={image.path}
                >
                  <span>{name}</span>
                  <span>{image.format ?? '-'}</span>
                  <span>{image.machineType ?? '-'}</span>
                  <span>{humanSize(image.size)}</span>
                  <span className={`status-${image.status}`}>{image.status}</span>
                  <span className={image.errors ? 'sev-error' : image.warnings ? 'sev-warning' : ''}>{problems(image)}</span>
                  <span>{image.indexedAt.replace('T', ' ').slice(0, 16)}</span>
                </div>
              );
            })}
          </div>
        </div>
      )}
    </div>
  );
}

/** "1 error, 3 warnings", "2 warnings", "none". */
function problems(image: LibraryImage): string {
  const parts = [
    image.errors ? `${image.errors} error${image.errors === 1 ? '' : 's'}` : '',
    image.warnings ? `${image.warnings} warning${image.warnings === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}
