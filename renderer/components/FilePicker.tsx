import { useEffect, useState } from 'react';
import type { DirectoryListing } from '../../shared/api/contract';
import { errorMessage, workbench } from '../api';

/**
 * The in-app file picker used when there are no native dialogs (the app served to a
 * browser by `migwb serve`): browse the machine's folders through the backend.
 */
export function FilePicker({ mode, onPick, onCancel }: { mode: 'file' | 'folder'; onPick(path: string): void; onCancel(): void }) {
  const [listing, setListing] = useState<DirectoryListing | null>(null);
  const [typed, setTyped] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const browse = (path: string | null) =>
    workbench()
      .listDirectory(path)
      .then((l) => {
        setListing(l);
        setTyped(l.path);
        setSelected(null);
        setError(null);
      }, (e) => setError(errorMessage(e)));

  useEffect(() => {
    void browse(localStorage.getItem('migwb.lastFolder'));
  }, []);

  const choose = (path: string) => {
    if (listing) localStorage.setItem('migwb.lastFolder', listing.path);
    onPick(path);
  };

  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <div className="modal" role="dialog" aria-label={mode === 'file' ? 'Open image' : 'Choose folder'} data-testid="file-picker">
        <header>
          <button onClick={() => listing?.parent && browse(listing.parent)} disabled={!listing?.parent} aria-label="Parent folder">
            ↑
          </button>
          <input type="text" value={typed} onChange={(e) => setTyped(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && browse(typed)} aria-label="Folder" autoFocus />
        </header>
        <div className="list">
          {error && <p style={{ color: 'var(--error)', padding: '0 12px' }}>{error}</p>}
          {listing?.entries.map((e) => (
            <div
              key={e.path}
              className={`entry${selected === e.path ? ' selected' : ''}`}
              onClick={() => setSelected(e.path)}
              onDoubleClick={() => (e.isDirectory ? browse(e.path) : mode === 'file' && choose(e.path))}
            >
              <span>{e.isDirectory ? `📁 ${e.name}` : e.name}</span>
              <span style={{ color: 'var(--fg-dim)' }}>{e.isDirectory ? '' : e.size.toLocaleString()}</span>
            </div>
          ))}
        </div>
        <footer>
          <button onClick={onCancel}>Cancel</button>
          <button
            className="primary"
            disabled={mode === 'file' ? !selected || !!listing?.entries.find((x) => x.path === selected)?.isDirectory : !listing}
            onClick={() => choose(mode === 'file' ? selected! : selected ?? listing!.path)}
          >
            {mode === 'file' ? 'Open' : 'Choose folder'}
          </button>
        </footer>
      </div>
    </div>
  );
}
