import { useCallback, useEffect, useRef, useState } from 'react';
import type { DirectoryListing } from '../../shared/api/contract';
import { errorMessage, workbench } from '../api';

/** Open an image, choose a folder, or name a new file to save. */
export type PickMode = 'file' | 'folder' | 'save';

/** What the user is asked to choose, and where the dialog starts. */
export interface PathRequest {
  mode: PickMode;
  /** The dialog's title: what the path is for. */
  title?: string;
  /** save: the file name to start with. */
  suggestedName?: string;
  /** The folder to start in (else the last folder used). */
  startIn?: string;
}

const TITLES: Record<PickMode, string> = { file: 'Open image', folder: 'Choose folder', save: 'Save as' };

interface Props extends PathRequest {
  onPick(path: string): void;
  onCancel(): void;
}

/**
 * The in-app file picker used when there are no native dialogs (the app served to a
 * browser by `migwb serve`): browse the machine's folders through the backend.
 */
export function FilePicker({ mode, title = TITLES[mode], suggestedName = '', startIn, onPick, onCancel }: Props) {
  const [listing, setListing] = useState<DirectoryListing | null>(null);
  const [name, setName] = useState(suggestedName);
  const [typed, setTyped] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Only the folder asked for last is shown: the first listing (the last folder used) may
  // arrive after one the user typed meanwhile. Nor does a listing replace a path the user
  // is typing: the field shows the listed folder only if it was not edited since the request.
  const lastRequest = useRef(0);
  const editedDuring = useRef(-1);
  const browse = useCallback((path: string | null) => {
    const request = ++lastRequest.current;
    return workbench()
      .listDirectory(path)
      .then(
        (l) => {
          if (request !== lastRequest.current) return;
          setListing(l);
          if (editedDuring.current !== request) setTyped(l.path);
          setSelected(null);
          setError(null);
        },
        (e) => request === lastRequest.current && setError(errorMessage(e)),
      );
  }, []);

  useEffect(() => {
    void browse(startIn ?? localStorage.getItem('migwb.lastFolder'));
  }, [browse, startIn]);

  const isFolder = (path: string | null) => !!listing?.entries.find((x) => x.path === path)?.isDirectory;
  const ready = () => (mode === 'file' ? !!selected && !isFolder(selected) : mode === 'folder' ? !!listing : !!listing && name.trim() !== '' && !/[/\\]/.test(name));
  const chosen = () => (mode === 'file' ? selected! : mode === 'folder' ? selected ?? listing!.path : joinPath(listing!.path, name.trim()));

  const choose = (path: string) => {
    if (listing) localStorage.setItem('migwb.lastFolder', listing.path);
    onPick(path);
  };

  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <div className="modal" role="dialog" aria-label={title} data-testid="file-picker">
        <h2 className="modal-title">{title}</h2>
        <header>
          <button onClick={() => listing?.parent && browse(listing.parent)} disabled={!listing?.parent} aria-label="Parent folder">
            ↑
          </button>
          <input type="text" value={typed} onChange={(e) => ((editedDuring.current = lastRequest.current), setTyped(e.target.value))} onKeyDown={(e) => e.key === 'Enter' && browse(e.currentTarget.value)} aria-label="Folder" autoFocus />
        </header>
        <div className="list">
          {error && <p style={{ color: 'var(--error)', padding: '0 12px' }}>{error}</p>}
          {listing?.entries.map((e) => (
            <div
              key={e.path}
              className={`entry${selected === e.path ? ' selected' : ''}`}
              onClick={() => (setSelected(e.path), mode === 'save' && !e.isDirectory && setName(e.name))}
              onDoubleClick={() => (e.isDirectory ? browse(e.path) : mode === 'file' && choose(e.path))}
            >
              <span className="entry-name">
                <span className={e.isDirectory ? 'icon-folder' : 'icon-file'} aria-hidden />
                {e.name}
                {e.isDirectory && <span className="visually-hidden"> (folder)</span>}
              </span>
              <span style={{ color: 'var(--fg-dim)' }}>{e.isDirectory ? '' : e.size.toLocaleString()}</span>
            </div>
          ))}
        </div>
        <footer>
          {mode === 'save' && (
            <input type="text" value={name} onChange={(e) => setName(e.target.value)} aria-label="File name" placeholder="File name" style={{ flex: 1 }} />
          )}
          <button onClick={onCancel}>Cancel</button>
          <button className="primary" disabled={!ready()} onClick={() => choose(chosen())}>
            {mode === 'file' ? 'Open' : mode === 'folder' ? 'Choose folder' : 'Save'}
          </button>
        </footer>
      </div>
    </div>
  );
}

/** `name` inside folder `dir`, in the backend's path style (the folder path tells which). */
function joinPath(dir: string, name: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}
