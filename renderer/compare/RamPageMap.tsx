import { useEffect, useMemo, useRef } from 'react';
import type { RamDiff, RamDifferenceRun } from '../../shared/api/image-diff';
import { hexOffset } from '../api';
import { useStore } from '../state/store';
import type { CompareView } from './compare-view';

const COLUMNS = 128;
const ROWS = 32;
const CELL = 6;
/** Runs listed under the picture (all are counted per block above it). */
const LISTED = 500;

/** The guest-physical span the picture covers: up to the last differing page or the largest block, in whole MiB. */
function spanOf(ram: RamDiff): number {
  let top = 0;
  for (const r of ram.runs) if (r.gpa !== undefined) top = Math.max(top, r.gpa + r.pages * ram.pageSize);
  for (const b of ram.blocks) top = Math.max(top, b.sizeA ?? 0, b.sizeB ?? 0);
  return Math.max(1 << 20, Math.ceil(top / (1 << 20)) * (1 << 20));
}

/** Which cells of the picture hold a differing page, and the first run in each. */
function cellsOf(ram: RamDiff, span: number): (RamDifferenceRun | undefined)[] {
  const cells: (RamDifferenceRun | undefined)[] = new Array(COLUMNS * ROWS);
  const perCell = span / cells.length;
  for (const r of ram.runs) {
    if (r.gpa === undefined) continue;
    const first = Math.floor(r.gpa / perCell);
    const last = Math.min(cells.length - 1, Math.floor((r.gpa + r.pages * ram.pageSize - 1) / perCell));
    for (let c = first; c <= last; c++) cells[c] ??= r;
  }
  return cells;
}

/**
 * Guest RAM's differing pages as a picture of guest-physical memory (each cell a slice of
 * the address space, coloured where a page differs), with the counts per RAM block and the
 * runs as a list. Clicking a cell or a run shows its pages on both sides.
 */
export function RamPageMap({ compare }: { compare: CompareView }) {
  const diff = useStore(compare.store, (s) => s.diff);
  const ram = diff?.ram;
  const canvas = useRef<HTMLCanvasElement>(null);
  const span = useMemo(() => (ram ? spanOf(ram) : 0), [ram]);
  const cells = useMemo(() => (ram ? cellsOf(ram, span) : []), [ram, span]);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx || !canvas.current) return;
    const style = getComputedStyle(canvas.current);
    const background = style.getPropertyValue('--border').trim() || '#ddd';
    const differs = style.getPropertyValue('--error').trim() || '#d1242f';
    ctx.clearRect(0, 0, COLUMNS * CELL, ROWS * CELL);
    cells.forEach((run, i) => {
      ctx.fillStyle = run ? differs : background;
      ctx.fillRect((i % COLUMNS) * CELL, Math.floor(i / COLUMNS) * CELL, CELL - 1, CELL - 1);
    });
  }, [cells]);

  if (!diff) return <div className="pad hint">Comparing…</div>;
  if (!ram) return <div className="pad hint">Guest RAM was not compared.</div>;
  const differing = ram.blocks.reduce((n, b) => n + b.pagesDiffering + b.pagesOnlyA + b.pagesOnlyB, 0);
  const unmapped = ram.runs.filter((r) => r.gpa === undefined).length;

  const onClick = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const cell = Math.floor((e.clientY - box.top) / CELL) * COLUMNS + Math.floor((e.clientX - box.left) / CELL);
    const run = cells[cell];
    if (run) compare.showRun(run);
    else compare.setStatus(`No differing page at ${hexOffset(Math.floor((cell * span) / cells.length))}`);
  };

  return (
    <div className="ram-diff" data-testid="ram-page-map">
      <div className="ram-diff-summary">
        {differing ? `${differing.toLocaleString()} differing page${differing === 1 ? '' : 's'} in ${ram.runs.length + ram.runsOmitted} run${ram.runs.length + ram.runsOmitted === 1 ? '' : 's'}` : 'No page of guest RAM differs'}
        {ram.blocks
          .filter((b) => b.pagesDiffering || b.pagesOnlyA || b.pagesOnlyB)
          .map((b) => (
            <span key={b.block} className="hint">
              {' '}
              · {b.block}: {b.pagesDiffering} of {b.pagesCompared}
              {b.pagesOnlyA ? `, ${b.pagesOnlyA} only in A` : ''}
              {b.pagesOnlyB ? `, ${b.pagesOnlyB} only in B` : ''}
            </span>
          ))}
        {ram.problems.map((p) => (
          <div key={p} className="error">
            {p}
          </div>
        ))}
      </div>
      <div className="ram-diff-body">
        <figure className="ram-picture">
          <canvas ref={canvas} width={COLUMNS * CELL} height={ROWS * CELL} onClick={onClick} role="img" aria-label={`Guest-physical memory from 0 to ${hexOffset(span)}; differing pages in red`} data-span={span} />
          <figcaption className="hint">
            0 … {hexOffset(span)}, each cell {(span / cells.length / 1024).toLocaleString()} KiB{unmapped ? `; ${unmapped} runs in blocks the machine does not map are listed only` : ''}
          </figcaption>
        </figure>
        <div className="ram-runs">
          {ram.runs.slice(0, LISTED).map((r) => (
            <div key={`${r.block}:${r.blockOffset}`} className="ram-run" data-testid="ram-run" onClick={() => compare.showRun(r)}>
              <span className="mono">{r.gpa !== undefined ? hexOffset(r.gpa) : 'unmapped'}</span>
              <span className="mono">
                {r.block}+{hexOffset(r.blockOffset)}
              </span>
              <span>
                {r.pages} page{r.pages === 1 ? '' : 's'}
              </span>
              <span>
                {r.recordA} / {r.recordB}
              </span>
            </div>
          ))}
          {ram.runs.length > LISTED || ram.runsOmitted ? <div className="hint pad">{(ram.runs.length - Math.min(LISTED, ram.runs.length) + ram.runsOmitted).toLocaleString()} more runs not listed</div> : null}
        </div>
      </div>
    </div>
  );
}
