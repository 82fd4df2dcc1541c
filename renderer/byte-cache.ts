import type { ByteSpace, GuestMemorySpan } from '../shared/api/contract';
import { base64ToBytes, workbench } from './api';

const BLOCK = 64 * 1024;
const KEEP = 96;

/** One fetched block: its bytes, and for guest memory where each stretch of them came from. */
export interface FetchedBlock {
  bytes: Uint8Array;
  /** Guest memory: the pages and holes of the block, in order (offsets relative to the block). */
  spans?: readonly GuestMemorySpan[];
}

/**
 * Bytes of an open image (or of its guest memory), fetched in 64 KiB blocks on demand and
 * kept in a small LRU, so scrolling a multi-gigabyte space never holds more than a few
 * megabytes. Only the hex view subscribes to block arrivals (useSyncExternalStore), so a
 * block arriving re-renders the hex view and nothing else.
 */
export class ByteCache {
  private readonly blocks = new Map<number, FetchedBlock>();
  private readonly inflight = new Map<number, Promise<FetchedBlock>>();
  private readonly listeners = new Set<() => void>();
  version = 0;

  constructor(
    readonly size: number,
    private readonly fetchBlock: (offset: number, length: number) => Promise<FetchedBlock>,
  ) {}

  /** The bytes of one space of an open image. */
  static ofImage(handle: string, size: number, space: ByteSpace): ByteCache {
    return new ByteCache(size, async (offset, length) => ({ bytes: base64ToBytes(await workbench().readBytes(handle, offset, length, space)) }));
  }

  /** Guest memory of an open image: guest-physical addresses (`block` null) or one RAM block's offsets. */
  static ofGuestMemory(handle: string, size: number, block: string | null): ByteCache {
    return new ByteCache(size, async (offset, length) => {
      const window = await workbench().readGuestMemory(handle, block, offset, length);
      return { bytes: base64ToBytes(window.bytes), spans: window.spans };
    });
  }

  /** The cached byte at `offset`, or undefined while it loads. */
  get = (offset: number): number | undefined => this.blocks.get(Math.floor(offset / BLOCK))?.bytes[offset % BLOCK];

  /** Where the byte at `offset` came from (guest memory), once its block is loaded. */
  spanAt = (offset: number): GuestMemorySpan | undefined => {
    const inBlock = offset % BLOCK;
    return this.blocks.get(Math.floor(offset / BLOCK))?.spans?.find((s) => inBlock >= s.at && inBlock < s.at + s.length);
  };

  /** Whether nothing is mapped at `offset` (guest memory), once its block is loaded. */
  isHole = (offset: number): boolean => this.spanAt(offset)?.hole === true;

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
      const part = (await this.block(Math.floor(at / BLOCK))).bytes.subarray(at % BLOCK, (at % BLOCK) + out.length - done);
      out.set(part, done);
      done += part.length;
    }
    return out;
  };

  /** Where the byte at `offset` came from, loading its block if needed. */
  origin = async (offset: number): Promise<GuestMemorySpan | undefined> => {
    await this.block(Math.floor(offset / BLOCK));
    return this.spanAt(offset);
  };

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  private block(b: number): Promise<FetchedBlock> {
    const cached = this.blocks.get(b);
    if (cached) {
      this.blocks.delete(b); // refresh its LRU position
      this.blocks.set(b, cached);
      return Promise.resolve(cached);
    }
    let pending = this.inflight.get(b);
    if (!pending) {
      pending = this.fetchBlock(b * BLOCK, Math.min(BLOCK, this.size - b * BLOCK))
        .then((fetched) => {
          this.blocks.set(b, fetched);
          if (this.blocks.size > KEEP) this.blocks.delete(this.blocks.keys().next().value!);
          this.version++;
          this.listeners.forEach((l) => l());
          return fetched;
        })
        .finally(() => this.inflight.delete(b));
      this.inflight.set(b, pending);
    }
    return pending;
  }
}
