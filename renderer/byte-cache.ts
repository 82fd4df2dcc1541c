import type { ByteSpace } from '../shared/api/contract';
import { base64ToBytes, workbench } from './api';

const BLOCK = 64 * 1024;
const KEEP = 96;

/**
 * Bytes of an open image, fetched in 64 KiB blocks on demand and kept in a small LRU, so
 * scrolling a multi-gigabyte file never holds more than a few megabytes. Only the hex
 * view subscribes to block arrivals (useSyncExternalStore), so a block arriving re-renders
 * the hex view and nothing else.
 */
export class ByteCache {
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly inflight = new Map<number, Promise<Uint8Array>>();
  private readonly listeners = new Set<() => void>();
  version = 0;

  constructor(
    private readonly handle: string,
    readonly size: number,
    private readonly space: ByteSpace,
  ) {}

  /** The cached byte at `offset`, or undefined while it loads. */
  get = (offset: number): number | undefined => this.blocks.get(Math.floor(offset / BLOCK))?.[offset % BLOCK];

  /** Starts loading the blocks covering [offset, offset + length). */
  request = (offset: number, length: number): void => {
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((Math.min(this.size, offset + length) - 1) / BLOCK);
    for (let b = first; b <= last; b++) if (!this.blocks.has(b)) void this.block(b).catch(() => undefined);
  };

  /** Reads a range, loading what is missing. */
  read = async (offset: number, length: number): Promise<Uint8Array> => {
    const out = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    for (let done = 0; done < out.length; ) {
      const at = offset + done;
      const part = (await this.block(Math.floor(at / BLOCK))).subarray(at % BLOCK, (at % BLOCK) + out.length - done);
      out.set(part, done);
      done += part.length;
    }
    return out;
  };

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  private block(b: number): Promise<Uint8Array> {
    const cached = this.blocks.get(b);
    if (cached) {
      this.blocks.delete(b); // refresh its LRU position
      this.blocks.set(b, cached);
      return Promise.resolve(cached);
    }
    let pending = this.inflight.get(b);
    if (!pending) {
      pending = workbench()
        .readBytes(this.handle, b * BLOCK, Math.min(BLOCK, this.size - b * BLOCK), this.space)
        .then((text) => {
          const bytes = base64ToBytes(text);
          this.blocks.set(b, bytes);
          if (this.blocks.size > KEEP) this.blocks.delete(this.blocks.keys().next().value!);
          this.version++;
          this.listeners.forEach((l) => l());
          return bytes;
        })
        .finally(() => this.inflight.delete(b));
      this.inflight.set(b, pending);
    }
    return pending;
  }
}
