/**
 * Index of the last item whose key is at or before `value` in a list sorted by key
 * (0 when every key is after it, or the list is empty): which piece, element or extent
 * holds an offset, given their start offsets.
 */
export function lastAtOrBefore<T>(items: readonly T[], value: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (key(items[mid]) <= value) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}
