import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';

/**
 * The main thread's work for one frame, in milliseconds. `cpu` and its parts are the
 * thread's own CPU time: on a shared machine the scheduler may keep the thread waiting, and
 * `wall` counts that wait too.
 */
export interface FrameWork {
  /** Every task the page's main thread ran since the previous frame's rendering ended, this frame's rendering included: elapsed time. */
  wall: number;
  /** The same tasks: the thread's CPU time. */
  cpu: number;
  /** Style recalculation and layout (forced layouts inside scripts included), CPU time. */
  styleLayout: number;
  /** Pre-paint, paint (recording the display list), layerizing and the commit to the compositor, CPU time. */
  paint: number;
}

const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame'];
const STYLE_LAYOUT = new Set(['UpdateLayoutTree', 'Layout']);
const PAINT = new Set(['PrePaint', 'Paint', 'Layerize', 'Commit', 'UpdateLayer']);

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  /** CPU time of the thread during the event. */
  tdur?: number;
  args?: { name?: string };
}

/**
 * Runs `drive` while Chromium traces `page` (its own DevTools timeline, as the Performance
 * panel records), and returns the main thread's work for every frame it rendered meanwhile.
 * A frame's work is the time the renderer's main thread was busy since the previous frame
 * was rendered, up to the end of this frame's rendering task: events, script, React, style,
 * layout, paint. Idle time is not work: a key pressed early in a frame does not count the
 * wait for the next one, and a render React defers to a later task counts in the frame it
 * delays. Over 16.7 ms, the frame could not be ready by the next display refresh.
 * With MIGWB_TRACE_DIR set, the trace is also written there as `name`.json, to open in
 * the DevTools Performance panel and see what a slow frame did.
 */
export async function traceFrames(browser: Browser, page: Page, drive: () => Promise<void>, name = 'trace'): Promise<FrameWork[]> {
  await browser.startTracing(page, { categories: CATEGORIES });
  const driven = drive().then(() => page.waitForTimeout(300));
  const trace = await driven.then(
    () => browser.stopTracing(),
    async (e: unknown) => {
      await browser.stopTracing();
      throw e;
    },
  );
  const keepIn = process.env.MIGWB_TRACE_DIR;
  if (keepIn) {
    fs.mkdirSync(keepIn, { recursive: true });
    fs.writeFileSync(path.join(keepIn, `${name}.json`), trace);
  }
  return framesOf((JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents);
}

function framesOf(events: TraceEvent[]): FrameWork[] {
  const mainThreads = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  // The page's renderer is the main thread that worked the most (others are idle or absent).
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const thread = `${e.pid}:${e.tid}`;
    if (!mainThreads.has(thread)) continue;
    if (!byThread.has(thread)) byThread.set(thread, []);
    byThread.get(thread)!.push(e);
  }
  const busy = (es: TraceEvent[]) => es.reduce((n, e) => n + (e.name === 'RunTask' ? (e.dur ?? 0) : 0), 0);
  const main = [...byThread.values()].sort((a, b) => busy(b) - busy(a))[0] ?? [];
  const tasks = main.filter((e) => e.name === 'RunTask' && e.ph === 'X').sort((a, b) => a.ts - b.ts);
  const inside = (e: TraceEvent, task: TraceEvent) => e.ts >= task.ts && e.ts <= task.ts + (task.dur ?? 0);
  const frameStarts = main.filter((e) => e.name === 'BeginMainThreadFrame');
  if (!frameStarts.length) throw new Error('the trace has no BeginMainThreadFrame event on the page\'s main thread: cannot tell its frames apart');
  const timed = main.filter((e) => e.ph === 'X' && (STYLE_LAYOUT.has(e.name) || PAINT.has(e.name)));

  const frames: FrameWork[] = [];
  let pending: TraceEvent[] = [];
  let f = 0;
  for (const task of tasks) {
    pending.push(task);
    while (f < frameStarts.length && frameStarts[f].ts < task.ts) f++;
    if (f < frameStarts.length && inside(frameStarts[f], task)) {
      const from = pending[0].ts;
      const to = task.ts + (task.dur ?? 0);
      const within = timed.filter((e) => e.ts >= from && e.ts <= to);
      const cpu = (es: TraceEvent[]) => ms(es.reduce((n, e) => n + (e.tdur ?? e.dur ?? 0), 0));
      frames.push({
        wall: ms(pending.reduce((n, t) => n + (t.dur ?? 0), 0)),
        cpu: cpu(pending),
        styleLayout: cpu(within.filter((e) => STYLE_LAYOUT.has(e.name))),
        paint: cpu(within.filter((e) => PAINT.has(e.name))),
      });
      pending = [];
    }
  }
  return frames;
}

function ms(microseconds: number): number {
  return microseconds / 1000;
}
