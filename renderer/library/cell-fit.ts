import { useEffect, useState, type RefObject } from 'react';

/**
 * Which table cells must clip their text. A cell with `overflow: hidden` (needed for its
 * ellipsis) is a clip of its own in Chromium's paint, and the clips of some 500 cells on
 * screen were half the paint work of a frame that refills rows (traced in the scale bench).
 * Most cells' text fits their column (a wrapper, a RAM size, a status), so only the cells
 * whose text is wider than their column clip. Widths come from a canvas in the cells' font,
 * measured once per distinct text; the columns' widths from the header, read on resize only.
 */
export class CellFit {
  private readonly widths = new Map<string, number>();
  private readonly context: CanvasRenderingContext2D | null;

  constructor(font: string) {
    this.context = document.createElement('canvas').getContext('2d');
    if (this.context) this.context.font = font;
  }

  /** Whether `text` fits `room` px (a column's width inside the cell's padding); true means no clip is needed. */
  fits(text: string, room: number): boolean {
    if (!this.context) return false;
    let width = this.widths.get(text);
    if (width === undefined) {
      width = this.context.measureText(text).width;
      // The texts of 10,000 images: measured again rather than kept without bound.
      if (this.widths.size > 50_000) this.widths.clear();
      this.widths.set(text, width);
    }
    // A pixel to spare: the canvas and the layout may round a subpixel differently.
    return width <= room - 1;
  }
}

/** What a row needs to decide its cells' clips: the measurer and each column's room, or null before the rows are laid out (then every cell clips). */
export interface ColumnRoom {
  fit: CellFit;
  /** Per column, the px its cells' text has inside their padding. */
  room: readonly number[];
}

/**
 * The room of each column of the rows inside `rows` (the scroller): `room(width)` gives
 * it for the rows' width (the scroller's content box, so without its scrollbar), the text
 * is in `fontSize` and the scroller's font family. Updated when the scroller is resized.
 */
export function useColumnRoom(rows: RefObject<HTMLElement | null>, fontSize: string, room: (width: number) => number[]): ColumnRoom | null {
  const [columns, setColumns] = useState<ColumnRoom | null>(null);
  useEffect(() => {
    const element = rows.current;
    if (!element) return;
    const fit = new CellFit(`${fontSize} ${getComputedStyle(element).fontFamily}`);
    const observer = new ResizeObserver(([entry]) => setColumns({ fit, room: room(entry.contentRect.width) }));
    observer.observe(element);
    return () => observer.disconnect();
  }, [rows, fontSize, room]);
  return columns;
}
