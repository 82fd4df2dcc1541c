import { utf8Encode } from '../util/text-bytes';
import type { SearchHit, SearchQuery } from '../api/contract';
import type { ByteSource } from '../io/byte-source';
import { readBytes } from '../io/byte-source';

const CHUNK = 4 << 20;

/** The bytes a query looks for: pairs of hex digits, or text as UTF-8. */
export function patternBytes(q: Pick<SearchQuery, 'kind' | 'pattern'>): Uint8Array {
  if (q.kind === 'hex') {
    const digits = q.pattern.replace(/\s+/g, '');
    return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
  }
  return utf8Encode(q.pattern);
}

/** How far a search has come: bytes looked at, of the bytes it may look at. */
export interface SearchStep {
  done: number;
  total: number;
}

/**
 * The next occurrence of the pattern at or after `from` (or the last one before `from`
 * when searching backwards), reading the source in 4 MiB chunks that overlap by the
 * pattern length so no match is lost at a chunk boundary. It yields after each chunk, so a
 * caller on a busy thread can report progress, let other work run, or stop; it returns the hit.
 */
export function* searchSteps(source: ByteSource, q: SearchQuery): Generator<SearchStep, SearchHit | null> {
  const needle = patternBytes(q);
  if (needle.length === 0 || needle.length > source.size) return null;
  if (!q.backwards) {
    const total = Math.max(0, source.size - q.from);
    for (let base = q.from; base < source.size; base += CHUNK) {
      const hay = readBytes(source, base, CHUNK + needle.length - 1);
      const i = indexOf(hay, needle, 0);
      if (i >= 0) return { offset: base + i, length: needle.length };
      yield { done: Math.min(total, base + CHUNK - q.from), total };
    }
    return null;
  }
  const from = Math.min(q.from, source.size);
  for (let end = from; end > 0; end -= CHUNK) {
    const start = Math.max(0, end - CHUNK);
    const hay = readBytes(source, start, end - start + needle.length - 1);
    const i = lastIndexOf(hay, needle, end - start - 1);
    if (i >= 0) return { offset: start + i, length: needle.length };
    yield { done: from - start, total: from };
  }
  return null;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    if (matchesAt(hay, needle, i)) return i;
  }
  return -1;
}

function lastIndexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = hay.lastIndexOf(first, from); i >= 0; i = i > 0 ? hay.lastIndexOf(first, i - 1) : -1) {
    if (i + needle.length <= hay.length && matchesAt(hay, needle, i)) return i;
  }
  return -1;
}

function matchesAt(hay: Uint8Array, needle: Uint8Array, at: number): boolean {
  for (let k = 1; k < needle.length; k++) if (hay[at + k] !== needle[k]) return false;
  return true;
}
