import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import type { LibraryRow } from './library-filter';
import type { LibraryModel } from './library-model';
import { ScreenThumb } from './ScreenThumb';

const CARD_WIDTH = 200;
const CARD_HEIGHT = 188;

/**
 * The library as a grid of the guests' screens, so a folder of saves is browsed by what was
 * on screen when each was saved. Virtualised by rows of cards like the table: a 10,000-image
 * library asks only for the thumbnails on screen. Click selects, double-click opens.
 */
export function LibraryGrid({ library, visible, selected }: { library: LibraryModel; visible: readonly LibraryRow[]; selected: ReadonlySet<number> }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [columns, setColumns] = useState(4);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const fit = () => setColumns(Math.max(1, Math.floor(el.clientWidth / CARD_WIDTH)));
    fit();
    const observer = new ResizeObserver(fit);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const rows = Math.ceil(visible.length / columns);
  const virtual = useVirtualizer({ count: rows, getScrollElement: () => scroller.current, estimateSize: () => CARD_HEIGHT, overscan: 2 });
  return (
    <div className="library-grid" ref={scroller} role="grid" aria-label="Library screens" aria-rowcount={rows} data-testid="library-grid">
      <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
        {virtual.getVirtualItems().map((item) => (
          <div key={item.index} role="row" className="library-grid-row" style={{ top: item.start, height: CARD_HEIGHT, gridTemplateColumns: `repeat(${columns}, ${CARD_WIDTH}px)` }}>
            {visible.slice(item.index * columns, (item.index + 1) * columns).map((row) => {
              const { image } = row;
              const isSelected = selected.has(image.id);
              return (
                <div
                  key={image.id}
                  role="gridcell"
                  aria-selected={isSelected}
                  className={`library-card${isSelected ? ' selected' : ''}`}
                  onClick={(e) => library.select(image.id, visible, { toggle: e.ctrlKey || e.metaKey, extend: e.shiftKey })}
                  onDoubleClick={() => void library.open([row])}
                  data-path={image.path}
                  data-id={image.id}
                  title={image.path}
                >
                  <ScreenThumb screens={library.screens} id={image.id} />
                  <span className="card-name">{row.name}</span>
                  <span className="card-detail hint">{[image.machineType, image.qemuVersion ? `QEMU ${image.qemuVersion}` : null].filter(Boolean).join(' · ') || image.status}</span>
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
