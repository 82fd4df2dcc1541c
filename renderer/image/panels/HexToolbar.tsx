import { useEffect, useRef, useState } from 'react';
import type { SearchQuery } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { useImageView, useViewState } from '../view-context';
import { PaneSwitch } from './PaneSwitch';

/** Back and forward, go to offset, search (with its progress), the bytes shown and the cursor's offset. */
export function HexToolbar() {
  const view = useImageView();
  const space = useViewState((s) => s.space);
  const cursor = useViewState((s) => s.cursor);
  const focus = useViewState((s) => s.focus);
  const searching = useViewState((s) => s.find);
  const [goto, setGoto] = useState('');
  const [find, setFind] = useState<Pick<SearchQuery, 'kind' | 'pattern'>>({ kind: 'text', pattern: '' });
  const gotoInput = useRef<HTMLInputElement>(null);
  const findInput = useRef<HTMLInputElement>(null);

  // Ctrl+G and Ctrl+F (menus, shortcuts) put the keyboard in their field.
  useEffect(() => {
    if (focus?.field === 'go-to') gotoInput.current?.focus();
    else if (focus?.field === 'find') findInput.current?.focus();
  }, [focus]);

  const search = (backwards = false) => (find.pattern ? void view.search(find, backwards) : findInput.current?.focus());

  return (
    <div className="panel-title" style={{ textTransform: 'none', letterSpacing: 0 }}>
      <button onClick={view.back} title="Back (Alt+Left)" aria-label="Back">
        ←
      </button>
      <button onClick={view.forward} title="Forward (Alt+Right)" aria-label="Forward">
        →
      </button>
      <form className="prompt" onSubmit={(e) => (e.preventDefault(), view.goTo(goto))}>
        <input ref={gotoInput} type="text" placeholder="Go to offset (Ctrl+G)" value={goto} onChange={(e) => setGoto(e.target.value)} aria-label="Go to offset" size={16} />
      </form>
      <form className="prompt" onSubmit={(e) => (e.preventDefault(), search())}>
        <select value={find.kind} onChange={(e) => setFind({ ...find, kind: e.target.value as SearchQuery['kind'] })} aria-label="Search kind">
          <option value="text">text</option>
          <option value="hex">hex</option>
        </select>
        <input ref={findInput} type="search" placeholder="Search (Ctrl+F)" value={find.pattern} onChange={(e) => setFind({ ...find, pattern: e.target.value })} aria-label="Search" size={18} />
        <button type="button" onClick={() => search(true)} title="Previous match" aria-label="Previous match">
          ↑
        </button>
        <button type="submit" title="Next match" aria-label="Next match">
          ↓
        </button>
      </form>
      {searching && (
        <span className="search-progress" data-testid="search-progress">
          <span className="progress" title="Searching">
            <div style={{ width: `${(100 * searching.done) / Math.max(1, searching.total)}%` }} />
          </span>
          <button onClick={view.cancelSearch}>Cancel</button>
        </span>
      )}
      <PaneSwitch />
      <span style={{ marginLeft: 'auto' }} data-testid="cursor-offset" data-space={space}>
        {hexOffset(cursor)}
      </span>
    </div>
  );
}
