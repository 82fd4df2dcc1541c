import { useDeferredValue, useMemo, useState } from 'react';
import { useStore } from '../state/store';
import { FILTER_HELP, filterRows, sortRows, type LibraryRow } from './library-filter';
import { count, formatNumber, type LibraryModel } from './library-model';
import { LibraryDetails } from './LibraryDetails';
import { LibraryGrid } from './LibraryGrid';
import { LibraryTable } from './LibraryTable';

/**
 * The library, the app's front door: every indexed image with the columns a user scans
 * (wrapper, machine, QEMU, RAM, devices, problems, tags), a filter and sort over them, and
 * actions on the selected rows: open, re-index, tag, note, export.
 */
export function LibraryView({ library, onPickFolder }: { library: LibraryModel; onPickFolder(): Promise<string | null> }) {
  const rows = useStore(library.store, (s) => s.rows);
  const filter = useStore(library.store, (s) => s.filter);
  const sort = useStore(library.store, (s) => s.sort);
  const selected = useStore(library.store, (s) => s.selected);
  const indexing = useStore(library.store, (s) => s.indexing);
  const progressEvents = useStore(library.store, (s) => s.progressEvents);
  const layout = useStore(library.store, (s) => s.layout);
  const lastProgress = useStore(library.store, (s) => (s.lastProgress ? `${s.lastProgress.filesDone}/${s.lastProgress.filesTotal}` : ''));
  // Typing stays responsive with 10,000 rows: the list follows the filter when it can.
  const deferredFilter = useDeferredValue(filter);
  // Sorted once per listing and sort order; a keystroke in the filter only filters (which keeps the order).
  const sorted = useMemo(() => sortRows(rows, sort.key, sort.descending), [rows, sort]);
  const visible = useMemo(() => filterRows(sorted, deferredFilter), [sorted, deferredFilter]);
  const chosen = useMemo(() => visible.filter((r) => selected.has(r.image.id)), [visible, selected]);
  const one = chosen.length === 1 ? chosen[0].image : null;

  const pickAndAdd = async () => {
    const folder = await onPickFolder();
    if (folder) await library.index([folder]);
  };

  return (
    <div className="library" data-testid="library" data-progress-events={progressEvents} data-last-progress={lastProgress}>
      <div className="library-bar" role="toolbar" aria-label="Library">
        <button className="primary" onClick={() => void pickAndAdd()} disabled={indexing}>
          Add folder…
        </button>
        <button onClick={() => void library.index([])} disabled={indexing || rows.length === 0} title="Index every folder and file of the library again (only changed files are read)">
          Re-index all
        </button>
        <input type="search" placeholder="Filter: words, tag:T device:D severity:error ram>=1G…" title={FILTER_HELP} value={filter} onChange={(e) => library.setFilter(e.target.value)} aria-label="Filter library" size={40} />
        <span className="segmented" role="group" aria-label="Show the library as">
          <button aria-pressed={layout === 'table'} onClick={() => library.showAs('table')} title="One row per image, with its screen small">
            Table
          </button>
          <button aria-pressed={layout === 'screens'} onClick={() => library.showAs('screens')} title="A grid of the guests' screens: browse the saves by what they showed">
            Screens
          </button>
        </span>
        <IndexProgressBar library={library} />
        <span className="library-count" aria-live="polite">
          {visible.length === rows.length ? count(rows.length, 'image') : `${formatNumber(visible.length)} of ${count(rows.length, 'image')}`}
        </span>
      </div>
      <SelectionBar library={library} chosen={chosen} visible={visible} indexing={indexing} />
      {rows.length === 0 && !indexing ? (
        <div className="empty">
          <div className="card">
            <h2>Your library is empty</h2>
            <p>Add a folder of migration and save images. Every image in it is recognised by its content and indexed, so you can sort, filter, tag and open them here; only changed files are read again later.</p>
            <div className="actions">
              <button className="primary" onClick={() => void pickAndAdd()}>
                Add folder…
              </button>
            </div>
          </div>
        </div>
      ) : (
        <div className="library-main">
          {layout === 'table' ? <LibraryTable library={library} visible={visible} sort={sort} selected={selected} /> : <LibraryGrid library={library} visible={visible} selected={selected} />}
          {one && <LibraryDetails library={library} image={one} />}
        </div>
      )}
    </div>
  );
}

function IndexProgressBar({ library }: { library: LibraryModel }) {
  const indexing = useStore(library.store, (s) => s.indexing);
  const progress = useStore(library.store, (s) => s.progress);
  if (!indexing) return null;
  const fraction = progress && progress.bytesTotal > 0 ? progress.bytesDone / progress.bytesTotal : 0;
  return (
    <span className="library-progress" data-testid="index-progress">
      <span className="progress" role="progressbar" aria-label="Indexing" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(100 * fraction)}>
        <div style={{ width: `${100 * fraction}%` }} />
      </span>
      {progress ? (
        <>
          {formatNumber(progress.filesDone)} / {count(progress.filesTotal, 'file')} · {(progress.bytesDone / 2 ** 20).toFixed(0)} / {(progress.bytesTotal / 2 ** 20).toFixed(0)} MiB
          {progress.currentFile ? ` · ${progress.currentFile.split(/[/\\]/).pop()}` : ''}
        </>
      ) : (
        'listing files…'
      )}
      <button onClick={library.cancelIndexing} aria-label="Cancel indexing">
        Cancel
      </button>
    </span>
  );
}

/** What can be done to the selected rows (or, for export, to every row shown when none is selected). */
function SelectionBar({ library, chosen, visible, indexing }: { library: LibraryModel; chosen: readonly LibraryRow[]; visible: readonly LibraryRow[]; indexing: boolean }) {
  const busy = useStore(library.store, (s) => s.busy);
  const [tag, setTag] = useState('');
  const [format, setFormat] = useState<'csv' | 'json'>('csv');
  const exported = chosen.length ? chosen : visible;
  const n = chosen.length;
  return (
    <div className="library-selection" role="toolbar" aria-label="Selected images">
      <span className="hint" data-testid="selection-count">
        {n ? `${count(n, 'image')} selected` : 'No selection: click a row (Ctrl+click, Shift+click or Ctrl+A for several)'}
      </span>
      <button onClick={() => void library.open(chosen)} disabled={!n} title="Open each selected image in its tab (Enter)">
        Open{n > 1 ? ` ${n}` : ''}
      </button>
      <button onClick={() => void library.compare(chosen)} disabled={n !== 2} title="Open the two selected images side by side and compare them">
        Compare
      </button>
      <button onClick={() => void library.reindex(chosen)} disabled={!n || indexing} title="Index the selected files again (only changed files are read)">
        Re-index selected
      </button>
      <form
        className="prompt"
        onSubmit={(e) => {
          e.preventDefault();
          void library.tag(chosen, tag, false).then((ok) => ok && setTag(''));
        }}
      >
        <input type="text" value={tag} onChange={(e) => setTag(e.target.value)} placeholder="tag" aria-label="Tag" size={12} disabled={!n} />
        <button type="submit" disabled={!n || !tag.trim() || busy}>
          Add tag
        </button>
        <button type="button" disabled={!n || !tag.trim() || busy} onClick={() => void library.tag(chosen, tag, true).then((ok) => ok && setTag(''))}>
          Remove tag
        </button>
      </form>
      <span className="spacer" />
      <select value={format} onChange={(e) => setFormat(e.target.value as 'csv' | 'json')} aria-label="Export format">
        <option value="csv">CSV</option>
        <option value="json">JSON</option>
      </select>
      <button onClick={() => void library.export(exported, format)} disabled={!exported.length || busy} title={n ? 'Export the selected rows' : 'Export every row the filter shows'}>
        Export {count(exported.length, 'row')}…
      </button>
    </div>
  );
}
