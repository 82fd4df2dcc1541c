import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useRef, type MouseEvent } from 'react';
import type { LibraryImage } from '../../shared/api/contract';
import { useColumnRoom, type ColumnRoom } from './cell-fit';
import type { LibraryRow, SortKey } from './library-filter';
import type { LibraryModel, LibraryState } from './library-model';
import type { LibraryScreens } from './library-screens';
import { ScreenThumb } from './ScreenThumb';

const ROW_HEIGHT = 24;
/** The rows' cells' font size and side padding, as styles.css gives them (`.library-row`, `.library-row > span`). */
const CELL_FONT_SIZE = '12px';
const CELL_PADDING = 8;
/** More than the rows ever drawn at once (a screen of rows plus the overscan on both sides). */
const ROW_SLOTS = 256;
/**
 * Rows drawn beyond each edge of the screen. A jump or a new filter result lays out and
 * paints every row drawn, so few: a wheel notch (100 px) scrolls in about four rows.
 */
const OVERSCAN = 4;

/** The columns, in order, each `width` its share of the row (grid fr). Status, problems and the indexing time come last: a row reads "… indexed 1 error 2026-…". */
const COLUMNS: { key: SortKey; label: string; width: number; cell(r: LibraryRow): string; title?(r: LibraryRow): string | undefined }[] = [
  { key: 'name', label: 'Image', width: 2.2, cell: (r) => r.name, title: (r) => r.image.statusDetail ?? r.image.path },
  { key: 'wrapper', label: 'Wrapper', width: 1.5, cell: (r) => r.image.wrapper ?? (r.image.format ? 'bare stream' : '-'), title: (r) => r.image.format ?? undefined },
  { key: 'machineType', label: 'Machine', width: 1, cell: (r) => r.image.machineType ?? '-' },
  { key: 'qemuVersion', label: 'QEMU', width: 0.6, cell: (r) => r.image.qemuVersion ?? '-', title: () => 'The QEMU releases that could have written the stream, from what it shows' },
  { key: 'ramBytes', label: 'RAM', width: 0.55, cell: (r) => (r.image.ramBytes === null ? '-' : formatBytes(r.image.ramBytes)) },
  { key: 'devices', label: 'Devices', width: 1.8, cell: (r) => r.image.devices.join(' '), title: (r) => r.image.devices.join(', ') || undefined },
  { key: 'size', label: 'Size', width: 0.6, cell: (r) => formatBytes(r.image.size) },
  { key: 'tags', label: 'Tags', width: 0.9, cell: (r) => r.image.tags.join(' '), title: (r) => notesTitle(r.image) },
  { key: 'status', label: 'Status', width: 0.7, cell: (r) => r.image.status, title: (r) => r.image.statusDetail ?? undefined },
  { key: 'problems', label: 'Problems', width: 0.8, cell: (r) => problems(r.image), title: (r) => r.image.problems.map((p) => `${p.severity}: ${p.code}`).join('\n') || undefined },
  { key: 'indexedAt', label: 'Indexed', width: 0.9, cell: (r) => r.image.indexedAt.replace('T', ' ').slice(0, 16) },
];
/** The screen thumbnail's track, before the columns (not sortable: the grid view browses by screen). */
const THUMB_PX = 46;
// minmax(0, …fr): a track never sizes to its cells' text, so a row's layout does not measure it.
const GRID = [`${THUMB_PX}px`, ...COLUMNS.map((c) => `minmax(0, ${c.width}fr)`)].join(' ');
const FRACTIONS = COLUMNS.reduce((n, c) => n + c.width, 0);

/** The px each column's text has in a row `width` px wide: the grid shares what the thumbnail leaves by the columns' fractions. */
function columnRoom(width: number): number[] {
  return COLUMNS.map((c) => ((width - THUMB_PX) * c.width) / FRACTIONS - 2 * CELL_PADDING);
}

interface Props {
  library: LibraryModel;
  visible: readonly LibraryRow[];
  sort: LibraryState['sort'];
  selected: ReadonlySet<number>;
}

/**
 * The rows shown, virtualised (a 10,000-image library draws only what is on screen). A grid
 * for assistive technology: sortable column headers, selectable rows, the keyboard moves the
 * selection (arrows, Home, End, Page keys; Shift extends; Ctrl+A selects all; Enter opens).
 */
export const LibraryTable = memo(function LibraryTable({ library, visible, sort, selected }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const room = useColumnRoom(scroller, CELL_FONT_SIZE, columnRoom);
  const virtual = useVirtualizer({ count: visible.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: OVERSCAN });

  // One pair of handlers for all rows (found by the row's index), so a row's props are only
  // what it shows: a new filter result re-renders only the rows whose image or place changed.
  const rowAt = (e: MouseEvent): LibraryRow | undefined => {
    const index = (e.target as Element).closest<HTMLElement>('.library-row')?.dataset.index;
    return index === undefined ? undefined : visible[Number(index)];
  };
  const onClick = (e: MouseEvent) => {
    const row = rowAt(e);
    if (row) library.select(row.image.id, visible, { toggle: e.ctrlKey || e.metaKey, extend: e.shiftKey });
  };
  const onDoubleClick = (e: MouseEvent) => {
    const row = rowAt(e);
    if (row) void library.open([row]);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const { focus } = library.store.get();
    const at = visible.findIndex((r) => r.image.id === focus);
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? ROW_HEIGHT * 10) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: at + 1, ArrowUp: Math.max(0, at - 1), PageDown: at + page, PageUp: at - page, Home: 0, End: visible.length - 1 };
    if (e.key in moves && visible.length) {
      const to = Math.max(0, Math.min(visible.length - 1, moves[e.key]));
      library.select(visible[to].image.id, visible, { extend: e.shiftKey });
      virtual.scrollToIndex(to);
    } else if (e.key === 'a' && (e.ctrlKey || e.metaKey)) library.selectAll(visible);
    else if (e.key === 'Escape') library.clearSelection();
    else if (e.key === 'Enter') void library.open(visible.filter((r) => selected.has(r.image.id)));
    else return;
    e.preventDefault();
  };

  return (
    <div className="library-table" role="grid" aria-label="Library" aria-multiselectable="true" aria-rowcount={visible.length + 1} aria-colcount={COLUMNS.length + 1}>
      <div className="library-head" style={{ gridTemplateColumns: GRID }} role="row" aria-rowindex={1}>
        <span role="columnheader" className="thumb-head" title="The guest's screen when the image was saved (the grid view shows them large)">
          Screen
        </span>
        {COLUMNS.map((c) => (
          <button key={c.key} role="columnheader" aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'} onClick={() => library.sortBy(c.key)} title={`Sort by ${c.label.toLowerCase()}`}>
            {c.label}
            {sort.key === c.key ? (sort.descending ? ' ▾' : ' ▴') : ''}
          </button>
        ))}
      </div>
      <div className="library-rows" ref={scroller} tabIndex={0} onKeyDown={onKeyDown} onClick={onClick} onDoubleClick={onDoubleClick} aria-label="Library rows">
        <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {virtual.getVirtualItems().map((item) => {
            const row = visible[item.index];
            // Keyed by slot, not by image: a long jump refills the rows on screen instead of
            // removing them all and creating new ones (a short scroll still moves rows whole).
            return <Row key={item.index % ROW_SLOTS} row={row} index={item.index} top={item.start} selected={selected.has(row.image.id)} screens={library.screens} room={room} />;
          })}
        </div>
      </div>
    </div>
  );
});

const Row = memo(function Row({ row, index, top, selected, screens, room }: { row: LibraryRow; index: number; top: number; selected: boolean; screens: LibraryScreens; room: ColumnRoom | null }) {
  const { image } = row;
  return (
    <div role="row" aria-rowindex={index + 2} aria-selected={selected} className={`library-row${selected ? ' selected' : ''}`} style={{ top, gridTemplateColumns: GRID }} data-index={index} data-path={image.path} data-id={image.id}>
      <span role="gridcell" className="library-thumb">
        <ScreenThumb screens={screens} id={image.id} />
      </span>
      {COLUMNS.map((c, i) => {
        const text = c.cell(row);
        // Only a text wider than its column clips (with an ellipsis): see CellFit.
        const clip = !room || !room.fit.fits(text, room.room[i]);
        const kind = c.key === 'problems' ? (image.errors ? 'sev-error' : image.warnings ? 'sev-warning' : '') : c.key === 'status' ? `status-${image.status}` : '';
        return (
          <span key={c.key} role="gridcell" title={c.title?.(row)} className={[kind, clip ? 'clip' : ''].filter(Boolean).join(' ') || undefined}>
            {text}
          </span>
        );
      })}
    </div>
  );
});

/** "1 error, 3 warnings", "2 warnings", "none". */
function problems(image: LibraryImage): string {
  const parts = [image.errors ? `${image.errors} error${image.errors === 1 ? '' : 's'}` : '', image.warnings ? `${image.warnings} warning${image.warnings === 1 ? '' : 's'}` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

function notesTitle(image: LibraryImage): string | undefined {
  return image.userNotes.length ? image.userNotes.map((n) => `• ${n.text}`).join('\n') : undefined;
}

/** 32 MiB, 1.9 MiB, 512 KiB. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 || Number.isInteger(v) || v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}
