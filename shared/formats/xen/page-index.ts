import { XEN_PAGE_SIZE } from './constants';

/**
 * Every pfn entry of the stream's page data (PAGE_DATA records, legacy page batches) as runs:
 * consecutive pfns of one type whose pages sit back to back in one record form one run, so a
 * 1024-page batch is one run of five numbers and an 8 GiB guest costs kilobytes.
 *
 * A pfn may be sent several times (live migration re-sends dirty pages; checkpoints send
 * them again): the last entry wins, as on the restoring side. `finish()` resolves the runs
 * into disjoint segments ordered by pfn for lookups, extraction and search.
 */
export const NO_DATA = -1;
export const DELTA_PAGE = -2;

export interface PageRun {
  firstPfn: number;
  count: number;
  /** XEN_DOMCTL_PFINFO type (0 NOTAB … 0xf XTAB). */
  type: number;
  /**
   * File offset of the first run page's data; NO_DATA for types that carry none (BROKEN,
   * XALLOC, XTAB) and pages cut off by the end of the file; DELTA_PAGE for legacy Remus
   * pages sent as deltas (legacy-deltas.ts rebuilds them).
   */
  dataOffset: number;
  /** Index of the record (v2) or chunk (legacy) holding it. */
  record: number;
}

/** A stretch of pfns whose final entry comes from one run. */
export interface ResolvedSegment {
  /** First pfn and the pfn after the last. */
  start: number;
  end: number;
  run: number;
}

export interface PageIndexTransfer {
  firstPfn: Float64Array;
  counts: Uint32Array;
  types: Uint8Array;
  offsets: Float64Array;
  records: Uint32Array;
  cut: number;
  entries: number;
  pagesWithData: number;
  pfnLimit: number;
}

export class XenPageIndex {
  private firstPfn = new Float64Array(64);
  private counts = new Uint32Array(64);
  private types = new Uint8Array(64);
  private offsets = new Float64Array(64);
  private records = new Uint32Array(64);
  private n = 0;
  private segments: ResolvedSegment[] | undefined;
  /** Runs at or after this index are left out of the final state (an unfinished checkpoint). */
  private cut = Infinity;
  entries = 0;
  pagesWithData = 0;
  /** Highest pfn + 1. */
  pfnLimit = 0;

  get runCount(): number {
    return this.n;
  }

  run(i: number): PageRun {
    return { firstPfn: this.firstPfn[i], count: this.counts[i], type: this.types[i], dataOffset: this.offsets[i], record: this.records[i] };
  }

  /** Adds one pfn entry; `dataOffset` is NO_DATA or DELTA_PAGE when no page bytes sit in the file for it. */
  add(pfn: number, type: number, dataOffset: number, record: number): void {
    this.segments = undefined;
    this.entries++;
    if (dataOffset !== NO_DATA) this.pagesWithData++;
    this.pfnLimit = Math.max(this.pfnLimit, pfn + 1);
    const last = this.n - 1;
    if (
      last >= 0 &&
      this.records[last] === record &&
      this.types[last] === type &&
      this.firstPfn[last] + this.counts[last] === pfn &&
      (dataOffset < 0 ? this.offsets[last] === dataOffset : this.offsets[last] >= 0 && this.offsets[last] + this.counts[last] * XEN_PAGE_SIZE === dataOffset)
    ) {
      this.counts[last]++;
      return;
    }
    if (this.n === this.counts.length) this.grow();
    this.firstPfn[this.n] = pfn;
    this.counts[this.n] = 1;
    this.types[this.n] = type;
    this.offsets[this.n] = dataOffset;
    this.records[this.n] = record;
    this.n++;
  }

  /** The index as plain data (typed arrays), to hand it to another thread. */
  toTransfer(): PageIndexTransfer {
    const n = this.n;
    return { firstPfn: this.firstPfn.slice(0, n), counts: this.counts.slice(0, n), types: this.types.slice(0, n), offsets: this.offsets.slice(0, n), records: this.records.slice(0, n), cut: this.cut, entries: this.entries, pagesWithData: this.pagesWithData, pfnLimit: this.pfnLimit };
  }

  static fromTransfer(t: PageIndexTransfer): XenPageIndex {
    const index = new XenPageIndex();
    Object.assign(index, { firstPfn: t.firstPfn, counts: t.counts, types: t.types, offsets: t.offsets, records: t.records, n: t.counts.length, cut: t.cut, entries: t.entries, pagesWithData: t.pagesWithData, pfnLimit: t.pfnLimit });
    return index;
  }

  /** Leaves runs from `run` on out of the final state (their checkpoint never completed). */
  excludeFrom(run: number): void {
    this.cut = run;
    this.segments = undefined;
  }

  /** Runs that count for the final state. */
  get effectiveRuns(): number {
    return Math.min(this.n, this.cut);
  }

  /** The final entry of every pfn that has one, as disjoint segments in pfn order. */
  resolved(): readonly ResolvedSegment[] {
    return (this.segments ??= resolveLastWins(this.firstPfn, this.counts, this.effectiveRuns));
  }

  /** The run holding the final entry of `pfn`, or -1. */
  runOf(pfn: number): number {
    const segs = this.resolved();
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = segs[mid];
      if (pfn < s.start) hi = mid - 1;
      else if (pfn >= s.end) lo = mid + 1;
      else return s.run;
    }
    return -1;
  }

  /** File offset of the final data of `pfn` (or NO_DATA, DELTA_PAGE), undefined when never sent. */
  dataOffsetOf(pfn: number): number | undefined {
    const r = this.runOf(pfn);
    if (r < 0) return undefined;
    const off = this.offsets[r];
    return off < 0 ? off : off + (pfn - this.firstPfn[r]) * XEN_PAGE_SIZE;
  }

  private grow(): void {
    const size = this.counts.length * 2;
    const g = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.firstPfn = g(this.firstPfn, (k) => new Float64Array(k));
    this.counts = g(this.counts, (k) => new Uint32Array(k));
    this.types = g(this.types, (k) => new Uint8Array(k));
    this.offsets = g(this.offsets, (k) => new Float64Array(k));
    this.records = g(this.records, (k) => new Uint32Array(k));
  }
}

/**
 * Paints runs in order, later over earlier, and returns the visible pieces: a sweep over the
 * run boundaries with a max-heap of the runs covering the current pfn (lazy deletion).
 * O(R log R) for R runs, whatever their overlap.
 */
function resolveLastWins(first: Float64Array, counts: Uint32Array, n: number): ResolvedSegment[] {
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => first[a] - first[b] || a - b);
  const all = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    all[2 * i] = first[i];
    all[2 * i + 1] = first[i] + counts[i];
  }
  all.sort();
  const points: number[] = [];
  for (const p of all) if (points[points.length - 1] !== p) points.push(p);
  const heap: number[] = [];
  const out: ResolvedSegment[] = [];
  let next = 0;
  for (let p = 0; p + 1 < points.length; p++) {
    const at = points[p];
    while (next < order.length && first[order[next]] <= at) heapPush(heap, order[next++]);
    while (heap.length && first[heap[0]] + counts[heap[0]] <= at) heapPop(heap);
    if (!heap.length) continue;
    const top = heap[0];
    const last = out[out.length - 1];
    if (last && last.run === top && last.end === at) last.end = points[p + 1];
    else out.push({ start: at, end: points[p + 1], run: top });
  }
  return out;
}

function heapPush(h: number[], v: number): void {
  h.push(v);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (h[parent] >= h[i]) break;
    [h[parent], h[i]] = [h[i], h[parent]];
    i = parent;
  }
}

function heapPop(h: number[]): void {
  const last = h.pop()!;
  if (!h.length) return;
  h[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let big = i;
    if (l < h.length && h[l] > h[big]) big = l;
    if (r < h.length && h[r] > h[big]) big = r;
    if (big === i) return;
    [h[big], h[i]] = [h[i], h[big]];
    i = big;
  }
}
