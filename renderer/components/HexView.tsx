import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { MinimapCategory } from '../../shared/api/contract';
import { hexOffset } from '../api';
import type { ByteCache } from '../byte-cache';

export interface Range {
  offset: number;
  length: number;
}

interface Props {
  bytes: ByteCache;
  selection: Range | null;
  hit: Range | null;
  cursor: number;
  /** Scroll requests: the view brings `offset` into sight once for each new `seq`. */
  reveal: { offset: number; seq: number } | null;
  minimap: number[] | null;
  onCursor(offset: number, byClick: boolean): void;
  /** The view's accessible name. */
  label?: string;
}

const BYTES_PER_ROW = 16;
const ROW_PX = 20;

/**
 * A hex view for files of any size. Native scrolling breaks near a million rows (browsers
 * cap element height), so rows are virtualized against a row index and the view draws its
 * own scaled scrollbar: the thumb position maps linearly onto the row range.
 */
export const HexView = memo(function HexView(props: Props) {
  const { bytes, selection, hit, cursor, reveal, minimap, onCursor, label = 'Hex view' } = props;
  const size = bytes.size;
  const version = useSyncExternalStore(bytes.subscribe, bytes.getVersion);
  const request = bytes.request;
  const totalRows = Math.max(1, Math.ceil(size / BYTES_PER_ROW));
  const rowsRef = useRef<HTMLDivElement>(null);
  const [height, setHeight] = useState(400);
  const [topRow, setTopRow] = useState(0);
  const visibleRows = Math.max(1, Math.floor(height / ROW_PX));
  const maxTop = Math.max(0, totalRows - visibleRows);
  const clampTop = useCallback((r: number) => Math.max(0, Math.min(maxTop, Math.round(r))), [maxTop]);
  const renderStarted = useRef(0);
  renderStarted.current = performance.now();

  // Work per frame for the responsiveness benchmark: render + commit + layout of the rows.
  useLayoutEffect(() => {
    void rowsRef.current?.offsetHeight; // forces style and layout now, so they are counted
    performance.measure('migwb:hex-frame', { start: renderStarted.current, end: performance.now() });
  });

  useLayoutEffect(() => {
    const el = rowsRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Load what is on screen (plus a screen either side, so small scrolls never show gaps).
  useEffect(() => {
    const from = Math.max(0, (topRow - visibleRows) * BYTES_PER_ROW);
    request(from, visibleRows * 3 * BYTES_PER_ROW);
  }, [topRow, visibleRows, request]);

  // Each reveal request scrolls once; a resize afterwards does not scroll back to it.
  const revealed = useRef<number | null>(null);
  useEffect(() => {
    if (!reveal || revealed.current === reveal.seq) return;
    revealed.current = reveal.seq;
    const row = Math.floor(reveal.offset / BYTES_PER_ROW);
    setTopRow((top) => (row >= top && row < top + visibleRows ? top : clampTop(row - Math.floor(visibleRows / 3))));
  }, [reveal, visibleRows, clampTop]);

  const moveCursor = (to: number) => {
    const next = Math.max(0, Math.min(size - 1, to));
    const row = Math.floor(next / BYTES_PER_ROW);
    setTopRow((top) => (row < top ? row : row >= top + visibleRows ? clampTop(row - visibleRows + 1) : top));
    onCursor(next, false);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const page = visibleRows * BYTES_PER_ROW;
    const rowStart = cursor - (cursor % BYTES_PER_ROW);
    const moves: Record<string, number> = {
      ArrowLeft: cursor - 1,
      ArrowRight: cursor + 1,
      ArrowUp: cursor - BYTES_PER_ROW,
      ArrowDown: cursor + BYTES_PER_ROW,
      PageUp: cursor - page,
      PageDown: cursor + page,
      Home: e.ctrlKey || e.metaKey ? 0 : rowStart,
      End: e.ctrlKey || e.metaKey ? size - 1 : rowStart + BYTES_PER_ROW - 1,
    };
    if (!(e.key in moves)) return;
    e.preventDefault();
    moveCursor(moves[e.key]);
  };

  const onWheel = (e: React.WheelEvent) => {
    const lines = e.deltaMode === 1 ? e.deltaY : e.deltaMode === 2 ? e.deltaY * visibleRows : e.deltaY / ROW_PX;
    setTopRow((top) => clampTop(top + (Math.abs(lines) < 1 ? Math.sign(lines) : lines)));
  };

  const rows = [];
  for (let r = 0; r < visibleRows; r++) {
    const rowOffset = (topRow + r) * BYTES_PER_ROW;
    if (rowOffset >= size) break;
    // Keyed by screen position: scrolling reuses the row elements and only updates their text.
    rows.push(
      <HexRow key={r} rowOffset={rowOffset} size={size} byteAt={bytes.get} holeAt={bytes.isHole} selection={selection} hit={hit} cursor={cursor} onCursor={onCursor} version={version} />,
    );
  }

  return (
    <div className="hex" data-testid="hex-view">
      <div className="hex-rows" ref={rowsRef} tabIndex={0} onKeyDown={onKeyDown} onWheel={onWheel} aria-label={label} data-top-row={topRow} data-total-rows={totalRows}>
        {/* Absolutely positioned, so the rows never feed back into the measured height. */}
        <div className="hex-rows-inner">{rows}</div>
      </div>
      <ScaledScrollbar totalRows={totalRows} visibleRows={visibleRows} topRow={topRow} onScroll={(r) => setTopRow(clampTop(r))} />
      <Minimap buckets={minimap} size={size} topRow={topRow} visibleRows={visibleRows} onJump={(offset) => moveCursor(offset)} />
    </div>
  );
});

interface RowProps {
  rowOffset: number;
  size: number;
  byteAt(offset: number): number | undefined;
  /** Guest memory: nothing is mapped at the offset. */
  holeAt(offset: number): boolean;
  selection: Range | null;
  hit: Range | null;
  cursor: number;
  version: number;
  onCursor(offset: number, byClick: boolean): void;
}

function within(r: Range | null, o: number): boolean {
  return !!r && o >= r.offset && o < r.offset + r.length;
}

/** Consecutive bytes that look the same (loading, zero, selected, hit, cursor) render as one span. */
interface Segment {
  first: number;
  count: number;
  cls: string;
  hex: string;
  text: string;
}

function segmentsOf({ rowOffset, size, byteAt, holeAt, selection, hit, cursor }: RowProps, from: number, to: number): Segment[] {
  const out: Segment[] = [];
  for (let i = from; i < to; i++) {
    const o = rowOffset + i;
    if (o >= size) break;
    const hole = holeAt(o);
    const b = hole ? undefined : byteAt(o);
    const cls = `${hole ? 'hole' : b === undefined ? 'pending' : b === 0 ? 'zero' : ''}${within(selection, o) ? ' sel' : ''}${within(hit, o) ? ' hit' : ''}${o === cursor ? ' cursor' : ''}`;
    const hex = hole ? '--' : b === undefined ? '··' : b < 16 ? '0' + b.toString(16) : b.toString(16);
    const ch = hole ? ' ' : b === undefined ? '·' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    const last = out[out.length - 1];
    if (last && last.cls === cls) {
      last.count++;
      last.hex += ' ' + hex;
      last.text += ch;
    } else out.push({ first: o, count: 1, cls, hex, text: ch });
  }
  return out;
}

/**
 * One row as a few spans of monospaced text: the address, two groups of eight bytes, and
 * their characters, split only where the look changes. A few elements per row (instead of
 * one per byte) keep each scroll frame cheap; a click finds its byte from its x position.
 */
function HexRow(props: RowProps) {
  const left = segmentsOf(props, 0, 8);
  const right = segmentsOf(props, 8, BYTES_PER_ROW);
  const chars = segmentsOf(props, 0, BYTES_PER_ROW);
  const hexSpans = (segs: Segment[]) =>
    segs.flatMap((g, i) => [
      i > 0 ? ' ' : '',
      <span key={g.first} className={`hex-seg ${g.cls}`} data-offset={g.first} data-kind="hex">
        {g.hex}
      </span>,
    ]);
  const onMouseDown = (e: React.MouseEvent) => {
    const offset = byteUnderPointer(e.target, e.clientX);
    if (offset !== null) props.onCursor(offset, true);
  };
  return (
    <div className="hex-row" onMouseDown={onMouseDown}>
      <span className="hex-addr">{hexOffset(props.rowOffset)}</span>
      {'  '}
      {hexSpans(left)}
      {right.length ? '  ' : ''}
      {hexSpans(right)}
      {'   '}
      {chars.map((g) => (
        <span key={g.first} className={`hex-seg ${g.cls}`} data-offset={g.first} data-kind="text">
          {g.text}
        </span>
      ))}
    </div>
  );
}

/** The byte offset under the pointer: the segment's first byte plus the character index (monospace). */
function byteUnderPointer(target: EventTarget, x: number): number | null {
  const span = (target as HTMLElement).closest?.('.hex-seg') as HTMLElement | null;
  if (!span) return null;
  const text = span.textContent ?? '';
  const rect = span.getBoundingClientRect();
  const index = Math.max(0, Math.min(text.length - 1, Math.floor(((x - rect.left) / rect.width) * text.length)));
  return Number(span.dataset.offset) + (span.dataset.kind === 'hex' ? Math.floor(index / 3) : index);
}

function ScaledScrollbar({ totalRows, visibleRows, topRow, onScroll }: { totalRows: number; visibleRows: number; topRow: number; onScroll(row: number): void }) {
  const track = useRef<HTMLDivElement>(null);
  const trackHeight = track.current?.clientHeight ?? 400;
  const thumb = Math.max(20, (trackHeight * visibleRows) / Math.max(visibleRows, totalRows));
  const span = Math.max(1, totalRows - visibleRows);
  const top = ((trackHeight - thumb) * topRow) / span;
  const rowAtPointer = (clientY: number, grab: number) => {
    const rect = track.current!.getBoundingClientRect();
    return ((clientY - rect.top - grab) / Math.max(1, rect.height - thumb)) * span;
  };
  const onPointerDown = (e: React.PointerEvent) => {
    const rect = track.current!.getBoundingClientRect();
    const onThumb = e.clientY >= rect.top + top && e.clientY <= rect.top + top + thumb;
    const grab = onThumb ? e.clientY - rect.top - top : thumb / 2;
    onScroll(rowAtPointer(e.clientY, grab));
    const move = (ev: PointerEvent) => onScroll(rowAtPointer(ev.clientY, grab));
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  return (
    <div className="scrollbar" ref={track} onPointerDown={onPointerDown} data-testid="hex-scrollbar" aria-hidden>
      <div className="thumb" style={{ top, height: thumb }} />
    </div>
  );
}

const MINIMAP_COLORS: Record<number, string> = {
  [MinimapCategory.EMPTY]: '--mm-empty',
  [MinimapCategory.RAM_ZERO]: '--mm-zero',
  [MinimapCategory.RAM_PAGE]: '--mm-page',
  [MinimapCategory.VMDESC]: '--mm-vmdesc',
  [MinimapCategory.HEADER]: '--mm-header',
  [MinimapCategory.DEVICE]: '--mm-device',
  [MinimapCategory.TRAILING]: '--mm-trailing',
  [MinimapCategory.DAMAGED]: '--mm-damaged',
};

/** The whole file at a glance: sections, RAM, zero runs, damage; click to jump. */
function Minimap({ buckets, size, topRow, visibleRows, onJump }: { buckets: number[] | null; size: number; topRow: number; visibleRows: number; onJump(offset: number): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !buckets) return;
    const h = c.clientHeight || 400;
    c.width = 1;
    c.height = h;
    const ctx = c.getContext('2d')!;
    const style = getComputedStyle(document.documentElement);
    for (let y = 0; y < h; y++) {
      // Several buckets may share a pixel: show the most important.
      const from = Math.floor((y / h) * buckets.length);
      const to = Math.max(from + 1, Math.floor(((y + 1) / h) * buckets.length));
      let cat = 0;
      for (let b = from; b < to; b++) cat = Math.max(cat, buckets[b]);
      ctx.fillStyle = style.getPropertyValue(MINIMAP_COLORS[cat]).trim() || '#888';
      ctx.fillRect(0, y, 1, 1);
    }
  }, [buckets]);
  const total = Math.max(1, size / BYTES_PER_ROW);
  return (
    <div
      className="minimap"
      data-testid="minimap"
      title="Minimap: green headers, orange device state, blue RAM pages, grey zero pages, purple vmdesc, red damage"
      onMouseDown={(e) => {
        const rect = e.currentTarget.getBoundingClientRect();
        onJump(Math.floor(((e.clientY - rect.top) / rect.height) * size));
      }}
    >
      <canvas ref={canvas} />
      <div className="viewport" style={{ top: `${(topRow / total) * 100}%`, height: `${(visibleRows / total) * 100}%` }} />
    </div>
  );
}
