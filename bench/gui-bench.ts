import * as path from 'node:path';
import * as fs from 'node:fs';
import { openThroughPicker, startWorkbench } from '../test/helpers/browser';
import { BIG_IMAGES, fmtMs, median, printTable, sealedCopy, verdict } from './lib';

/**
 * Responsiveness of the app in Chromium through the bridge: from the open request to the
 * structure tree painted, and the worst frame while the hex view scrolls from start to end.
 */
export async function guiBenchmark(): Promise<void> {
  // The sealed 1 GiB image: it opens through its section directory, so the tree can paint at once.
  const image = sealedCopy(BIG_IMAGES.random1G);
  const wb = await startWorkbench({ folders: [path.dirname(image)] });
  try {
    const page = await wb.newPage();
    const opens: number[] = [];
    for (let i = 0; i < 4; i++) {
      await page.evaluate(() => performance.clearMarks());
      await openThroughPicker(page, image);
      await page.waitForFunction(() => performance.getEntriesByName('migwb:tree-painted').length > 0);
      opens.push(await page.evaluate(() => performance.getEntriesByName('migwb:tree-painted')[0].startTime - performance.getEntriesByName('migwb:open-requested')[0].startTime));
      if (i < 3) await page.keyboard.press('Control+w');
    }
    const open = median(opens.slice(1)); // the first open also warms the worker and JIT

    // Drag the scrollbar thumb from the top of the track to the bottom in 200 steps.
    // These callbacks run in the page (bench/ compiles for Node, hence globalThis).
    await page.evaluate(() => {
      performance.clearMeasures();
      const w = globalThis as unknown as { frames_: number[]; stop_: boolean; requestAnimationFrame(f: (t: number) => void): void };
      w.frames_ = [];
      w.stop_ = false;
      let last = performance.now();
      const tick = (t: number) => {
        w.frames_.push(t - last);
        last = t;
        if (!w.stop_) w.requestAnimationFrame(tick);
      };
      w.requestAnimationFrame(tick);
    });
    const track = (await page.getByTestId('hex-scrollbar').boundingBox())!;
    await page.mouse.move(track.x + track.width / 2, track.y + 5);
    await page.mouse.down();
    await page.mouse.move(track.x + track.width / 2, track.y + track.height - 2, { steps: 200 });
    await page.mouse.up();
    await page.waitForTimeout(500);
    const result = await page.evaluate(() => {
      const w = globalThis as unknown as { frames_: number[]; stop_: boolean; document: { querySelector(s: string): { getAttribute(a: string): string } } };
      w.stop_ = true;
      const work = performance.getEntriesByName('migwb:hex-frame').map((e) => e.duration);
      const rows = w.document.querySelector('.hex-rows');
      return { work, intervals: w.frames_.slice(1), topRow: Number(rows.getAttribute('data-top-row')), totalRows: Number(rows.getAttribute('data-total-rows')) };
    });
    const sorted = [...result.work].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)];
    const worstWork = sorted[sorted.length - 1];
    const worstInterval = Math.max(...result.intervals);
    const reachedEnd = result.topRow >= result.totalRows - 100;
    printTable(
      `Responsiveness in Chromium through the bridge (${image.split('/').pop()}, ${fs.statSync(image).size.toLocaleString('en-US')} bytes)`,
      ['measure', 'value', 'target'],
      [
        ['open (sealed) → structure tree painted (median of 3, after one warm-up)', fmtMs(open), `< 300 ms: ${verdict(open < 300)}`],
        [`hex view work per frame, worst of ${result.work.length} frames while dragging start → end`, fmtMs(worstWork), `< 16 ms: ${verdict(worstWork < 16)}`],
        ['hex view work per frame, median / 95th percentile', `${fmtMs(median(result.work))} / ${fmtMs(p95)}`, ''],
        ['longest interval between animation frames during the drag', fmtMs(worstInterval), `(60 Hz = 16.7 ms; larger means a dropped frame)`],
        ['scrolled to the end', reachedEnd ? 'yes' : `no (row ${result.topRow} of ${result.totalRows})`, ''],
      ],
    );
  } finally {
    await wb.close();
  }
}
