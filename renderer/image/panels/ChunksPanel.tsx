import { lazy, Suspense, useContext, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { ChunkRow } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { DonorDialog } from '../../components/DonorDialog';
import { ThemeContext } from '../../shell/theme';
import { useStore } from '../../state/store';
import { deletable } from '../chunk-panel';
import { useImageView, useViewState } from '../view-context';

// Monaco is large: the note editor loads it on first use.
const NoteEditor = lazy(() => import('../../components/NoteEditor'));

/**
 * The chunk panel beside the structure tree: a chunked container's chunks with their CRC
 * and property bits, or a QEMU stream's elements standing for chunks. Device sections move
 * by drag or Alt+↑/↓, Delete removes, and the buttons insert, graft, replace, recompute a
 * CRC and write notes. Each is one edit of the journal.
 */
export function ChunksPanel() {
  const view = useImageView();
  const panel = view.chunks;
  const list = useStore(panel.store, (s) => s.list);
  const selected = useStore(panel.store, (s) => s.selected);
  const note = useStore(panel.store, (s) => s.note);
  const donor = useStore(panel.store, (s) => s.donor);
  // An image opened for evidence takes no edits: its chunk actions are off, as if busy.
  const busy = useViewState((s) => s.busy || !!s.image.evidence);
  const dark = useContext(ThemeContext) === 'dark';
  const [dragged, setDragged] = useState<number | null>(null);
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => void panel.load(), [panel]);
  useEffect(() => {
    if (selected !== null) listRef.current?.querySelector(`[data-index="${selected}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selected, list]);

  const rows = useMemo(() => list?.rows ?? [], [list]);
  const row = selected === null ? undefined : rows[selected];
  const sections = useMemo(() => new Set(rows.flatMap((r) => (r.section ? [r.section] : []))), [rows]);
  const damaged = rows.filter((r) => r.damaged).length;

  const onKeyDown = (e: KeyboardEvent) => {
    if (selected === null) {
      if (e.key === 'ArrowDown' && rows.length) panel.select(0);
      return;
    }
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) panel.moveBy(selected, e.key === 'ArrowUp' ? -1 : 1);
    else if (e.key === 'ArrowUp') panel.select(Math.max(0, selected - 1));
    else if (e.key === 'ArrowDown') panel.select(Math.min(rows.length - 1, selected + 1));
    else if (e.key === 'Home') panel.select(0);
    else if (e.key === 'End') panel.select(rows.length - 1);
    else if (e.key === 'Delete') panel.remove(selected);
    else if (e.key === 'Enter') panel.editNote(selected);
    else return;
    e.preventDefault();
  };

  return (
    <div className="panel chunk-panel" data-testid="chunk-panel">
      <div className="panel-title">
        {list?.container ? 'Chunks' : 'Sections as chunks'}
        <span className="hint">
          {' '}
          {rows.length} {damaged > 0 && <span className="sev-error">· {damaged} damaged</span>}
        </span>
      </div>
      <div className="chunk-toolbar" role="toolbar" aria-label="Chunk edits">
        <button onClick={() => void panel.insertFromFile()} disabled={busy} title={`Insert a section from a file ${row?.section ? `after ${row.section}` : 'last'}`}>
          Insert from file…
        </button>
        <button onClick={() => void panel.pickDonor()} disabled={busy} title="Graft a section from a donor image, or replace this image's section of the same name with the donor's">
          From donor…
        </button>
        <button onClick={() => selected !== null && panel.remove(selected)} disabled={busy || !row || !deletable(row)} title="Delete the device section, or leave the ancillary chunk out (Delete)">
          Delete
        </button>
        <button onClick={() => selected !== null && panel.editNote(selected)} disabled={busy || !row} title="Write a note about this chunk (Enter); the container keeps it">
          Note…
        </button>
        {row?.crc === 'bad' && (
          <button className="danger" onClick={() => void panel.recomputeCrc(selected!)} disabled={busy} title="Write this chunk with a new CRC (hides the damage)">
            Recompute CRC…
          </button>
        )}
      </div>
      <div
        className="panel-body chunk-list"
        role="listbox"
        aria-label={list?.container ? 'Chunks' : 'Sections as chunks'}
        aria-activedescendant={selected === null ? undefined : `chunk-${view.handle}-${selected}`}
        tabIndex={0}
        ref={listRef}
        onKeyDown={onKeyDown}
      >
        {!list && <p className="hint pad">Reading the chunks…</p>}
        {rows.map((r) => (
          <div
            key={`${r.index}:${r.key}`}
            id={`chunk-${view.handle}-${r.index}`}
            data-index={r.index}
            data-testid="chunk-row"
            role="option"
            aria-selected={selected === r.index}
            className={`chunk-row${selected === r.index ? ' selected' : ''}${r.damaged ? ' damaged' : ''}${dragged === r.index ? ' dragging' : ''}`}
            draggable={!!r.section && !busy}
            onClick={() => panel.select(r.index)}
            onDoubleClick={() => panel.editNote(r.index)}
            onDragStart={(e) => {
              e.dataTransfer.setData('text/plain', String(r.index));
              e.dataTransfer.effectAllowed = 'move';
              setDragged(r.index);
            }}
            onDragEnd={() => setDragged(null)}
            onDragOver={(e) => dragged !== null && dragged !== r.index && e.preventDefault()}
            onDrop={(e) => {
              e.preventDefault();
              const from = Number(e.dataTransfer.getData('text/plain'));
              setDragged(null);
              if (Number.isInteger(from)) panel.moveTo(from, r.index);
            }}
            title={rowTitle(r)}
          >
            <span className="chunk-type">{r.type}</span>
            <span className="chunk-key">
              {r.damaged && <span className="chunk-damage" aria-label="damaged" />}
              <span className="chunk-name">{r.key}</span>
              {r.detail && <span className="hint"> {r.detail}</span>}
              {r.note !== undefined && (
                <span className="chunk-note" data-testid="chunk-note">
                  {' '}
                  ✎ {firstLine(r.note)}
                </span>
              )}
            </span>
            <span className={`chunk-crc crc-${r.crc}`} data-testid="chunk-crc">
              {CRC_TEXT[r.crc]}
            </span>
            <PropertyBits row={r} />
            <span className="chunk-offset">{hexOffset(r.fileOffset ?? r.stream?.offset ?? 0)}</span>
            <span className="chunk-length">{r.length.toLocaleString()}</span>
          </div>
        ))}
      </div>
      {note && (
        <Suspense fallback={null}>
          <NoteEditor title={note.title} text={note.text} dark={dark} onDone={(text) => void panel.saveNote(text)} />
        </Suspense>
      )}
      {donor && <DonorDialog donor={donor} after={row?.section ?? null} own={sections} onAnswer={(op, section) => void panel.fromDonor(op, section)} />}
    </div>
  );
}

const CRC_TEXT: Record<ChunkRow['crc'], string> = { ok: 'CRC ok', bad: 'CRC WRONG', cut: 'cut off', new: 'new CRC', none: '—' };

/** The four property bits as PNG names them, one letter each: the case of the type's letters. */
function PropertyBits({ row }: { row: ChunkRow }) {
  const p = row.properties;
  const bits: [string, boolean, string][] = [
    [p.critical ? 'C' : 'a', p.critical, p.critical ? 'critical: a reader must understand it' : 'ancillary: a reader may ignore it'],
    [p.public ? 'P' : 'p', p.public, p.public ? 'public: defined by the specification' : 'private'],
    [p.reservedClear ? 'R' : 'r', p.reservedClear, p.reservedClear ? 'reserved bit clear' : 'reserved bit SET: not a chunk of this version'],
    [p.safeToCopy ? 's' : 'U', p.safeToCopy, p.safeToCopy ? 'safe to copy: kept when the stream changes' : 'unsafe to copy: dropped when the stream changes, unless the editor knows it'],
  ];
  return (
    <span className="chunk-props" aria-label={bits.map((b) => b[2]).join('; ')}>
      {bits.map(([letter, , title]) => (
        <span key={title} title={title}>
          {letter}
        </span>
      ))}
    </span>
  );
}

function rowTitle(r: ChunkRow): string {
  const crc = r.crc === 'bad' ? `CRC stored ${hexOffset(r.storedCrc!)}, computed ${hexOffset(r.computedCrc!)}` : r.crc === 'ok' ? `CRC ${hexOffset(r.storedCrc!)} verified` : CRC_TEXT[r.crc];
  return `${r.key}: ${r.length.toLocaleString()} bytes; ${crc}${r.section ? '; drag or Alt+↑/↓ to move' : ''}`;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 40 ? line.slice(0, 39) + '…' : line;
}
