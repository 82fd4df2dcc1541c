import { useCallback, useEffect, useRef, useState } from 'react';
import { base64ToBytes, workbench } from '../api';

const BLOCK = 64 * 1024;
const KEEP = 96;

/**
 * Bytes of an open image, fetched in 64 KiB blocks on demand and kept in a small LRU,
 * so scrolling a multi-gigabyte file never holds more than a few megabytes.
 * `get` returns what is cached (undefined while loading); components re-render when
 * blocks arrive (the returned `version` changes).
 */
export function useByteCache(handle: string, size: number): { get(offset: number): number | undefined; request(offset: number, length: number): void; read(offset: number, length: number): Promise<Uint8Array>; version: number } {
  const blocks = useRef(new Map<number, Uint8Array>());
  const inflight = useRef(new Set<number>());
  const [version, setVersion] = useState(0);

  useEffect(() => {
    blocks.current.clear();
    inflight.current.clear();
  }, [handle]);

  const fetchBlock = useCallback(
    async (b: number): Promise<Uint8Array> => {
      const cached = blocks.current.get(b);
      if (cached) {
        blocks.current.delete(b);
        blocks.current.set(b, cached);
        return cached;
      }
      const bytes = base64ToBytes(await workbench().readBytes(handle, b * BLOCK, Math.min(BLOCK, size - b * BLOCK)));
      blocks.current.set(b, bytes);
      if (blocks.current.size > KEEP) blocks.current.delete(blocks.current.keys().next().value!);
      return bytes;
    },
    [handle, size],
  );

  const request = useCallback(
    (offset: number, length: number) => {
      const first = Math.floor(offset / BLOCK);
      const last = Math.floor((Math.min(size, offset + length) - 1) / BLOCK);
      for (let b = first; b <= last; b++) {
        if (blocks.current.has(b) || inflight.current.has(b)) continue;
        inflight.current.add(b);
        fetchBlock(b)
          .then(() => setVersion((v) => v + 1))
          .catch(() => undefined)
          .finally(() => inflight.current.delete(b));
      }
    },
    [fetchBlock, size],
  );

  const get = useCallback((offset: number) => blocks.current.get(Math.floor(offset / BLOCK))?.[offset % BLOCK], []);

  const read = useCallback(
    async (offset: number, length: number) => {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      for (let done = 0; done < out.length; ) {
        const at = offset + done;
        const block = await fetchBlock(Math.floor(at / BLOCK));
        const part = block.subarray(at % BLOCK, at % BLOCK + out.length - done);
        out.set(part, done);
        done += part.length;
      }
      return out;
    },
    [fetchBlock, size],
  );

  return { get, request, read, version };
}
