import { Worker } from 'node:worker_threads';

/**
 * The worker: hashes each block it is sent, says how far it has got, gives the digest when
 * asked. Inline (eval) so the one-file CLI bundle needs no second file.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
let done = 0;
parentPort.on('message', (m) => {
  if (m === 'digest') return parentPort.postMessage({ digest: hash.digest('hex') });
  hash.update(new Uint8Array(m.buffer, m.offset, m.length));
  done += m.length;
  parentPort.postMessage({ done });
});
`;

/**
 * SHA-256 of a byte sequence on a second thread, so that hashing (as costly as reading and
 * writing the bytes) runs beside the copy instead of after it. Blocks in a SharedArrayBuffer
 * are shared with the worker, not copied: the caller must not overwrite a block before
 * `hashed` has passed it. Others are copied when sent. At most `maxAhead` bytes wait for the
 * worker; `update` waits beyond that, so memory stays bounded however slow the worker is.
 */
export class ThreadedSha256 {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private sent = 0;
  private done = 0;
  private failure?: Error;
  private wake?: () => void;
  private digestWaiter?: (hex: string) => void;
  private closed = false;

  constructor(private readonly maxAhead = 16 << 20) {
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.digest !== undefined) this.digestWaiter?.(m.digest);
      else this.done = m.done!;
      this.wake?.();
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      this.wake?.();
    });
    this.worker.on('exit', (code) => {
      if (this.closed) return;
      this.failure ??= new Error(`the hashing thread stopped (exit code ${code})`);
      this.wake?.();
    });
  }

  /** Bytes hashed so far: blocks before this offset may be reused. */
  get hashed(): number {
    return this.done;
  }

  async update(block: Uint8Array): Promise<void> {
    this.check();
    const shared = block.buffer instanceof SharedArrayBuffer;
    this.worker.postMessage({ buffer: shared ? block.buffer : block.slice().buffer, offset: shared ? block.byteOffset : 0, length: block.length });
    this.sent += block.length;
    while (this.sent - this.done > this.maxAhead) await this.progress();
  }

  /** Waits until every byte sent is hashed. */
  async caughtUp(): Promise<void> {
    while (this.done < this.sent) await this.progress();
  }

  async digest(): Promise<string> {
    await this.caughtUp();
    const hex = new Promise<string>((resolve) => (this.digestWaiter = resolve));
    this.worker.postMessage('digest');
    while (!this.failure) {
      const got = await Promise.race([hex, this.progress().then(() => undefined)]);
      if (got !== undefined) return got;
    }
    throw this.failure;
  }

  close(): void {
    this.closed = true;
    void this.worker.terminate();
  }

  private progress(): Promise<void> {
    this.check();
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  private check(): void {
    if (this.failure) throw new Error(`hashing failed: ${this.failure.message}`);
  }
}
