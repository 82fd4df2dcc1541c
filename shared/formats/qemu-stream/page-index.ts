/**
 * Where every guest RAM page record of a stream lives, as runs of consecutive pages.
 *
 * A paused 8 GiB guest has two million page records; storing one object each would cost
 * hundreds of megabytes. Consecutive records of the same kind for consecutive pages of a
 * block, at a constant file stride, collapse into one run, and runs live in typed arrays.
 * Pages sent more than once (running guests, XBZRLE) simply appear in several runs; the
 * last one in stream order holds the page's final content.
 */
export const enum PageKind {
  ZERO = 1,
  PAGE = 2,
  XBZRLE = 3,
  COMPRESS = 4,
  /** mapped-ram: page data at a fixed file offset outside the sequential stream. */
  MAPPED = 5,
}

export const PAGE_KIND_NAMES: Readonly<Record<number, string>> = {
  1: 'zero',
  2: 'page',
  3: 'xbzrle',
  4: 'compress',
  5: 'mapped',
};

export interface PageRun {
  block: number;
  firstPage: number;
  count: number;
  kind: PageKind;
  /** File offset of the first record's data (page bytes, fill byte or encoded payload). */
  dataOffset: number;
  /** Bytes between the data of consecutive records in the run. */
  stride: number;
  /** Encoded length of each record's data (page size, 1 for zero pages, or the encoded size). */
  dataLength: number;
  /** Fill byte of ZERO records. */
  fill: number;
  /** Index of the stream element that holds the first record. */
  element: number;
}

interface ResolvedSegments {
  starts: Float64Array;
  ends: Float64Array;
  runs: Int32Array;
}

/** Binary max-heap of run indexes. */
class MaxHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  top(): number {
    return this.a[0];
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p] >= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] > a[m]) m = l;
        if (r < a.length && a[r] > a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

class GrowableF64 {
  a = new Float64Array(64);
  ensure(n: number): void {
    if (n > this.a.length) {
      const b = new Float64Array(Math.max(n, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
  }
}

class GrowableI32 {
  a = new Int32Array(64);
  ensure(n: number): void {
    if (n > this.a.length) {
      const b = new Int32Array(Math.max(n, this.a.length * 2));
      b.set(this.a);
      this.a = b;
    }
  }
}

/** The runs of a PageIndex as plain typed arrays (structured-clone and transfer friendly). */
export interface PageIndexData {
  count: number;
  block: Int32Array<ArrayBuffer>;
  firstPage: Float64Array<ArrayBuffer>;
  runLength: Int32Array<ArrayBuffer>;
  kind: Int32Array<ArrayBuffer>;
  dataOffset: Float64Array<ArrayBuffer>;
  stride: Int32Array<ArrayBuffer>;
  dataLength: Int32Array<ArrayBuffer>;
  fill: Int32Array<ArrayBuffer>;
  element: Int32Array<ArrayBuffer>;
}

export class PageIndex {
  private count = 0;
  private readonly blockOf = new GrowableI32();
  private readonly firstPageOf = new GrowableF64();
  private readonly countOf = new GrowableI32();
  private readonly kindOf = new GrowableI32();
  private readonly offsetOf = new GrowableF64();
  private readonly strideOf = new GrowableI32();
  private readonly lengthOf = new GrowableI32();
  private readonly fillOf = new GrowableI32();
  private readonly elementOf = new GrowableI32();
  /** Per block, disjoint page ranges with the last run (in stream order) holding them; built on first lookup. */
  private resolved: (ResolvedSegments | undefined)[] = [];

  // The run being extended lives in plain fields: the scan adds a million records a second
  // and touching nine typed arrays per record would dominate it.
  private openCount = 0;
  private openBlock = 0;
  private openFirst = 0;
  private openKind = 0;
  private openOffset = 0;
  private openStride = 0;
  private openLength = 0;
  private openFill = 0;
  private openElement = 0;

  get runCount(): number {
    this.commit();
    return this.count;
  }

  /** Records one page record, extending the open run when it continues it. */
  add(block: number, page: number, kind: PageKind, dataOffset: number, dataLength: number, fill: number, element: number): void {
    const c = this.openCount;
    if (
      c > 0 &&
      page === this.openFirst + c &&
      block === this.openBlock &&
      kind === this.openKind &&
      fill === this.openFill &&
      dataLength === this.openLength &&
      element === this.openElement
    ) {
      const stride = dataOffset - (this.openOffset + (c - 1) * this.openStride);
      if (c === 1 ? stride > 0 && stride <= 0x7fffffff : stride === this.openStride) {
        this.openStride = stride;
        this.openCount = c + 1;
        return;
      }
    }
    this.commit();
    this.openCount = 1;
    this.openBlock = block;
    this.openFirst = page;
    this.openKind = kind;
    this.openOffset = dataOffset;
    this.openStride = 0;
    this.openLength = dataLength;
    this.openFill = fill;
    this.openElement = element;
  }

  /** Adds a whole run at once (mapped-ram bitmaps). */
  addRun(run: PageRun): void {
    this.commit();
    this.push(run.block, run.firstPage, run.count, run.kind, run.dataOffset, run.stride, run.dataLength, run.fill, run.element);
  }

  private commit(): void {
    if (this.openCount === 0) return;
    const n = this.openCount;
    this.openCount = 0;
    this.push(this.openBlock, this.openFirst, n, this.openKind, this.openOffset, this.openStride, this.openLength, this.openFill, this.openElement);
  }

  private push(block: number, page: number, count: number, kind: PageKind, offset: number, stride: number, length: number, fill: number, element: number): void {
    const n = this.count + 1;
    this.blockOf.ensure(n);
    this.firstPageOf.ensure(n);
    this.countOf.ensure(n);
    this.kindOf.ensure(n);
    this.offsetOf.ensure(n);
    this.strideOf.ensure(n);
    this.lengthOf.ensure(n);
    this.fillOf.ensure(n);
    this.elementOf.ensure(n);
    const i = this.count;
    this.blockOf.a[i] = block;
    this.firstPageOf.a[i] = page;
    this.countOf.a[i] = count;
    this.kindOf.a[i] = kind;
    this.offsetOf.a[i] = offset;
    this.strideOf.a[i] = stride;
    this.lengthOf.a[i] = length;
    this.fillOf.a[i] = fill;
    this.elementOf.a[i] = element;
    this.count = n;
    this.resolved = [];
  }

  run(i: number): PageRun {
    this.commit();
    return {
      block: this.blockOf.a[i],
      firstPage: this.firstPageOf.a[i],
      count: this.countOf.a[i],
      kind: this.kindOf.a[i] as PageKind,
      dataOffset: this.offsetOf.a[i],
      stride: this.strideOf.a[i],
      dataLength: this.lengthOf.a[i],
      fill: this.fillOf.a[i],
      element: this.elementOf.a[i],
    };
  }

  *runs(): IterableIterator<PageRun> {
    const n = this.runCount;
    for (let i = 0; i < n; i++) yield this.run(i);
  }

  /** File offset of the data of page `page` inside run `i`. */
  dataOffsetIn(i: number, page: number): number {
    this.commit();
    return this.offsetOf.a[i] + (page - this.firstPageOf.a[i]) * this.strideOf.a[i];
  }

  /** Index of the last run (in stream order) holding `page` of `block`, or -1 if the page was never sent. */
  latestRun(block: number, page: number): number {
    const seg = this.segments(block);
    let lo = 0;
    let hi = seg.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (page < seg.starts[mid]) hi = mid - 1;
      else if (page >= seg.ends[mid]) lo = mid + 1;
      else return seg.runs[mid];
    }
    return -1;
  }

  /**
   * The pages of `block` that some record holds, as disjoint ascending ranges [start, end)
   * with the run (in stream order, the last) that gives their final content.
   */
  *resolvedRanges(block: number): IterableIterator<{ start: number; end: number; run: number }> {
    const seg = this.segments(block);
    for (let i = 0; i < seg.starts.length; i++) yield { start: seg.starts[i], end: seg.ends[i], run: seg.runs[i] };
  }

  /** Number of distinct pages below `limit` that some record holds. */
  presentPages(block: number, limit: number): number {
    const seg = this.segments(block);
    let n = 0;
    for (let i = 0; i < seg.starts.length; i++) n += Math.max(0, Math.min(seg.ends[i], limit) - seg.starts[i]);
    return n;
  }

  /**
   * Resolves overlapping runs into disjoint segments, the later run winning (a skyline
   * sweep with a max-heap of run indexes): O(runs log runs) time and O(runs) memory, never
   * proportional to the block size, which damaged input can make absurd.
   */
  private segments(block: number): ResolvedSegments {
    this.commit();
    const cached = this.resolved[block];
    if (cached) return cached;
    const mine: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.blockOf.a[i] === block) mine.push(i);
    const events: [number, number][] = [];
    for (const i of mine) {
      events.push([this.firstPageOf.a[i], i + 1], [this.firstPageOf.a[i] + this.countOf.a[i], -(i + 1)]);
    }
    events.sort((a, b) => a[0] - b[0]);
    const heap = new MaxHeap();
    const ended = new Set<number>();
    const starts: number[] = [];
    const ends: number[] = [];
    const runs: number[] = [];
    let current = -1;
    let currentStart = 0;
    for (let k = 0; k < events.length; ) {
      const at = events[k][0];
      for (; k < events.length && events[k][0] === at; k++) {
        const e = events[k][1];
        if (e > 0) heap.push(e - 1);
        else ended.add(-e - 1);
      }
      while (heap.size > 0 && ended.has(heap.top())) ended.delete(heap.pop());
      const top = heap.size > 0 ? heap.top() : -1;
      if (top !== current) {
        if (current >= 0) {
          starts.push(currentStart);
          ends.push(at);
          runs.push(current);
        }
        current = top;
        currentStart = at;
      }
    }
    const seg: ResolvedSegments = { starts: Float64Array.from(starts), ends: Float64Array.from(ends), runs: Int32Array.from(runs) };
    this.resolved[block] = seg;
    return seg;
  }

  /** All runs holding `page` of `block`, in stream order (to replay XBZRLE deltas). */
  runsHolding(block: number, page: number): number[] {
    this.commit();
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      if (this.blockOf.a[i] !== block) continue;
      const first = this.firstPageOf.a[i];
      if (page >= first && page < first + this.countOf.a[i]) out.push(i);
    }
    return out;
  }

  /** The runs as typed arrays trimmed to their length, e.g. to post them from a worker. */
  export(): PageIndexData {
    this.commit();
    const n = this.count;
    return {
      count: n,
      block: this.blockOf.a.slice(0, n),
      firstPage: this.firstPageOf.a.slice(0, n),
      runLength: this.countOf.a.slice(0, n),
      kind: this.kindOf.a.slice(0, n),
      dataOffset: this.offsetOf.a.slice(0, n),
      stride: this.strideOf.a.slice(0, n),
      dataLength: this.lengthOf.a.slice(0, n),
      fill: this.fillOf.a.slice(0, n),
      element: this.elementOf.a.slice(0, n),
    };
  }

  static from(d: PageIndexData): PageIndex {
    const index = new PageIndex();
    index.count = d.count;
    index.blockOf.a = d.block;
    index.firstPageOf.a = d.firstPage;
    index.countOf.a = d.runLength;
    index.kindOf.a = d.kind;
    index.offsetOf.a = d.dataOffset;
    index.strideOf.a = d.stride;
    index.lengthOf.a = d.dataLength;
    index.fillOf.a = d.fill;
    index.elementOf.a = d.element;
    return index;
  }

  /** Approximate heap bytes used, for the memory benchmark. */
  get byteSize(): number {
    const arrays = [this.blockOf, this.firstPageOf, this.countOf, this.kindOf, this.offsetOf, this.strideOf, this.lengthOf, this.fillOf, this.elementOf];
    let total = arrays.reduce((sum, g) => sum + g.a.byteLength, 0);
    for (const r of this.resolved) total += r ? r.starts.byteLength + r.ends.byteLength + r.runs.byteLength : 0;
    return total;
  }
}
