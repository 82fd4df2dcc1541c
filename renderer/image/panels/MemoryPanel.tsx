import { useEffect, useMemo, useRef, useState } from 'react';
import { hexOffset, parseOffset } from '../../api';
import { HexView } from '../../components/HexView';
import { describeOrigin } from '../guest-memory';
import { useImageView, useMemoryState, useViewState } from '../view-context';
import { PaneSwitch } from './PaneSwitch';

/**
 * Guest memory as the guest sees it, across records: guest-physical addresses (or one RAM
 * block's offsets, for machines without a known layout and for unmapped blocks), the page
 * at the cursor highlighted, and where its bytes came from.
 */
export function MemoryPanel() {
  const view = useImageView();
  const memory = view.memory;
  const map = useMemoryState((s) => s.map);
  const mapError = useMemoryState((s) => s.mapError);
  const bytes = useMemoryState((s) => s.bytes);
  const cursor = useMemoryState((s) => s.cursor);
  const reveal = useMemoryState((s) => s.reveal);
  const hits = useMemoryState((s) => s.search.result?.hits);
  const current = useMemoryState((s) => s.search.current);
  const block = useMemoryState((s) => s.block);
  const pageSize = useViewState((s) => s.image.pageSize);
  const page = useMemo(() => ({ offset: cursor - (cursor % pageSize), length: pageSize }), [cursor, pageSize]);
  const hitRange = useMemo(() => {
    const hit = current !== null ? hits?.[current] : undefined;
    if (!hit) return null;
    const at = block === null ? hit.gpa : hit.block === block ? hit.blockOffset : undefined;
    return at === undefined ? null : { offset: at, length: hit.length };
  }, [hits, current, block]);

  useEffect(() => void memory.loadMap(), [memory]);

  return (
    <div className="panel" data-testid="memory-view">
      <MemoryToolbar />
      <div className="panel-body" style={{ overflow: 'hidden' }}>
        {mapError ? (
          <p className="hint pad">{mapError}</p>
        ) : !map || !bytes ? (
          <p className="hint pad">Reading the guest’s memory map…</p>
        ) : bytes.size === 0 ? (
          <p className="hint pad">This stream carries no guest RAM.</p>
        ) : (
          <HexView bytes={bytes} selection={page} hit={hitRange} cursor={cursor} reveal={reveal} minimap={null} onCursor={memory.moveCursor} label="Guest memory" />
        )}
      </div>
    </div>
  );
}

function MemoryToolbar() {
  const view = useImageView();
  const memory = view.memory;
  const map = useMemoryState((s) => s.map);
  const block = useMemoryState((s) => s.block);
  const cursor = useMemoryState((s) => s.cursor);
  const origin = useMemoryState((s) => s.origin);
  const focus = useViewState((s) => s.focus);
  const [address, setAddress] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (focus?.field === 'go-to') input.current?.focus();
  }, [focus]);

  const go = () => {
    const at = parseOffset(address);
    if (at === null) return view.setStatus(`"${address}" is not an address; use 0x100000, 100000h or 1048576`, true);
    void memory.goTo(at);
  };
  return (
    <>
      <div className="panel-title" style={{ textTransform: 'none', letterSpacing: 0 }}>
        <form className="prompt" onSubmit={(e) => (e.preventDefault(), go())}>
          <input ref={input} type="text" placeholder={block === null ? 'Go to guest-physical address' : `Go to offset in ${block}`} value={address} onChange={(e) => setAddress(e.target.value)} aria-label="Go to guest address" size={24} />
        </form>
        {map && (
          <select value={block ?? ''} onChange={(e) => memory.showBlock(e.target.value || null)} aria-label="Address space">
            {map.hasLayout && <option value="">guest-physical</option>}
            {map.blocks.map((b) => (
              <option key={b.id} value={b.id}>
                block {b.id}
              </option>
            ))}
          </select>
        )}
        <PaneSwitch />
        <span style={{ marginLeft: 'auto' }} data-testid="memory-cursor">
          {block === null ? 'GPA ' : `${block}+`}
          {hexOffset(cursor)}
        </span>
      </div>
      <div className="memory-origin" data-testid="memory-origin" title={origin ? describeOrigin(origin) : undefined}>
        {origin ? describeOrigin(origin) : '\u00a0'}
        {origin?.streamOffset !== undefined && (
          <button onClick={() => memory.showRecordAtCursor()} title="Show the record this page came from, in the stream">
            Show record
          </button>
        )}
      </div>
    </>
  );
}
