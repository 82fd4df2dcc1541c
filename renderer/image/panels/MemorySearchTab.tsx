import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState } from 'react';
import type { MemorySearchQuery, MemorySearchResult } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { useImageView, useMemoryState } from '../view-context';

const ROW = 22;
const KIND_NAMES: Record<string, string> = { page: 'page', zero: 'zero', xbzrle: 'XBZRLE', compress: 'compressed', mapped: 'mapped-ram', 'never-sent': 'never sent' };

/**
 * Search all guest memory (string, hex or regex) through every record kind, as `migwb
 * search` does: a hit list with guest-physical address, block, record kind and file
 * offset; a click shows the record.
 */
export function MemorySearchTab() {
  const memory = useImageView().memory;
  const search = useMemoryState((s) => s.search);
  const [query, setQuery] = useState<MemorySearchQuery>(search.query);
  const scroller = useRef<HTMLDivElement>(null);
  const hits = search.result?.hits ?? [];
  const virtual = useVirtualizer({ count: hits.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 10 });
  const { progress } = search;
  return (
    <div className="memory-search" data-testid="memory-search">
      <form className="prompt bar" onSubmit={(e) => (e.preventDefault(), query.pattern && void memory.search(query))}>
        <select value={query.kind} onChange={(e) => setQuery({ ...query, kind: e.target.value as MemorySearchQuery['kind'] })} aria-label="Memory search kind">
          <option value="string">text</option>
          <option value="hex">hex</option>
          <option value="regex">regex</option>
        </select>
        <input type="search" value={query.pattern} onChange={(e) => setQuery({ ...query, pattern: e.target.value })} placeholder={query.kind === 'hex' ? '4d 49 47 49 4d 47' : query.kind === 'regex' ? 'MIGIMG-[A-Z]+' : 'text in guest memory'} aria-label="Search guest memory" size={28} />
        <button type="submit" className="primary" disabled={!query.pattern || search.running}>
          Search memory
        </button>
        {search.running && (
          <>
            <span className="progress" title="Searching guest memory" data-testid="memory-search-progress">
              <div style={{ width: `${progress ? (100 * progress.done) / Math.max(1, progress.total) : 0}%` }} />
            </span>
            <span className="hint">{progress ? `${(progress.done / 2 ** 20).toFixed(0)} of ${(progress.total / 2 ** 20).toFixed(0)} MiB` : 'starting…'}</span>
            <button type="button" onClick={memory.cancelSearch}>
              Cancel
            </button>
          </>
        )}
        {search.result && !search.running && <span className="hint" data-testid="memory-search-summary">{summary(search.result)}</span>}
        {search.error && <span className="error">{search.error}</span>}
      </form>
      {hits.length > 0 && (
        <>
          <div className="hit-row head" role="row">
            <span>guest-physical</span>
            <span>block + offset</span>
            <span>record</span>
            <span>file offset</span>
            <span>match</span>
          </div>
          <div className="hit-rows" ref={scroller} role="grid" aria-label="Memory search hits">
            <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
              {virtual.getVirtualItems().map((item) => {
                const hit = hits[item.index];
                return (
                  <div
                    key={item.index}
                    role="row"
                    className={`hit-row${search.current === item.index ? ' selected' : ''}`}
                    style={{ top: item.start, position: 'absolute', left: 0, right: 0 }}
                    onClick={() => memory.openHit(item.index)}
                    title={hit.streamOffset !== undefined ? 'Show the record that holds this match' : 'Show this address in guest memory (no record stores this page)'}
                    data-gpa={hit.gpa}
                  >
                    <span>{hit.gpa !== undefined ? hexOffset(hit.gpa) : 'not mapped'}</span>
                    <span>
                      {hit.block}+{hexOffset(hit.blockOffset)}
                    </span>
                    <span>{KIND_NAMES[hit.kind] ?? hit.kind}</span>
                    <span>{hit.fileOffset !== undefined ? hexOffset(hit.fileOffset) : hit.streamOffset !== undefined ? `stream ${hexOffset(hit.streamOffset)}` : '—'}</span>
                    <span className="mono">{printable(hit.match)}</span>
                  </div>
                );
              })}
            </div>
          </div>
        </>
      )}
    </div>
  );
}

function summary(r: MemorySearchResult): string {
  if (r.cancelled) return 'cancelled';
  const hits = `${r.hits.length}${r.truncated ? '+' : ''} hit${r.hits.length === 1 ? '' : 's'} in ${(r.scannedBytes / 2 ** 20).toFixed(0)} MiB`;
  return r.editsNotSearched ? `${hits} (the file on disk: ${r.editsNotSearched} unsaved edit${r.editsNotSearched === 1 ? ' is' : 's are'} not searched)` : hits;
}

/** The matched bytes as text where printable, dots elsewhere. */
function printable(hex: string): string {
  return (hex.match(/../g) ?? []).map((h) => {
    const b = parseInt(h, 16);
    return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  }).join('');
}
