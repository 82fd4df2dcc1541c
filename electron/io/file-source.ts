import * as fs from 'node:fs';
import type { ByteSource } from '../../shared/io/byte-source';

/** A read-only ByteSource over a file; the file is opened read-only and never written. */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    try {
      const st = fs.fstatSync(this.fd);
      if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTFILE' });
      this.size = st.size;
    } catch (e) {
      fs.closeSync(this.fd);
      this.fd = undefined;
      throw e;
    }
  }

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    if (position >= this.size || length <= 0) return 0;
    return fs.readSync(this.fd, target, targetOffset, Math.min(length, this.size - position), position);
  }

  /** readInto on libuv's thread pool: the copy out of the page cache runs beside the caller's thread. */
  readIntoAsync(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number> {
    if (this.fd === undefined) return Promise.reject(new Error(`${this.path} is closed`));
    if (position >= this.size || length <= 0) return Promise.resolve(0);
    const fd = this.fd;
    return new Promise((resolve, reject) => fs.read(fd, target, targetOffset, Math.min(length, this.size - position), position, (e, n) => (e ? reject(e) : resolve(n))));
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
