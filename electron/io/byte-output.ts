import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../services/user-error';
import { syncFolder, tempPathBeside } from './atomic-file';
import { checkOutputs } from './output-paths';

/**
 * Where a streaming command writes its bytes: standard output (`-`), or a file written
 * atomically (a temp file beside it, renamed over it on commit, removed on abort). Writes
 * wait for a pipe to drain, so memory stays bounded however fast the producer is.
 */
export interface ByteOutput {
  /** The target as given ("-" for standard output). */
  readonly target: string;
  /**
   * Writes `parts` in order after what came before. `from` is the caller's own offset of the
   * first byte these parts may reference (an input offset): `pendingFrom` reports it until
   * the write is done, so the caller reuses no memory the write still reads.
   */
  write(parts: readonly Uint8Array[], from?: number): Promise<void>;
  /** Bytes written so far. */
  readonly written: number;
  /** The output keeps the arrays it was given after write() returns (a pipe's queue): the caller must not reuse them. */
  readonly keepsParts: boolean;
  /** The `from` of a write still in progress (its memory must stay as it is), or Infinity when none is. */
  readonly pendingFrom: number;
  /** Makes the output final (fsync and rename for a file). */
  commit(): Promise<void>;
  /** Leaves nothing behind (a file); a pipe cannot take bytes back, so it is only ended. */
  abort(): void;
}

export interface ByteOutputOptions {
  /** Files that must never be the target (the input). */
  protect: string[];
  /** Replace an existing file. */
  overwrite?: boolean;
  /** Standard output for "-" (tests pass their own). */
  stdout?: NodeJS.WritableStream;
}

export function openByteOutput(target: string, options: ByteOutputOptions): ByteOutput {
  return target === '-' ? new PipeOutput(options.stdout ?? process.stdout) : new AtomicFileOutput(target, options);
}

class PipeOutput implements ByteOutput {
  readonly target = '-';
  readonly keepsParts = true;
  readonly pendingFrom = Infinity;
  written = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  async write(parts: readonly Uint8Array[]): Promise<void> {
    let drained = true;
    for (const p of parts) {
      if (p.length === 0) continue;
      drained = this.stream.write(p);
      this.written += p.length;
    }
    if (!drained) await new Promise<void>((resolve, reject) => {
      const done = () => (this.stream.off('error', fail), resolve());
      const fail = (e: Error) => (this.stream.off('drain', done), reject(e));
      this.stream.once('drain', done);
      this.stream.once('error', fail);
    });
  }

  async commit(): Promise<void> {
    if (this.stream === process.stdout) return;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }

  abort(): void {
    if (this.stream !== process.stdout) this.stream.end();
  }
}

class AtomicFileOutput implements ByteOutput {
  written = 0;
  /** Arrays are let go when the write is done, which pendingFrom tells. */
  readonly keepsParts = false;
  pendingFrom = Infinity;
  private readonly temp: string;
  private fd: number | undefined;
  /**
   * The write in progress. A write goes on in the background (libuv's thread pool) while the
   * caller reads and checks the next bytes: the copy into the page cache, the costliest step
   * of a pack or unpack, overlaps the rest on a second core. One at a time keeps memory bounded.
   */
  private pending?: Promise<void>;
  private failure?: Error;

  constructor(
    readonly target: string,
    options: ByteOutputOptions,
  ) {
    const resolved = path.resolve(target);
    if (fs.statSync(resolved, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`${target} is a folder; give the path of the file to write`);
    // The output is never one of the inputs, by path or by identity (a hard link or another spelling).
    checkOutputs(options.protect.map((p) => ({ path: p, role: 'the input' })), [{ path: resolved, role: 'the output' }]);
    if (fs.existsSync(resolved) && !options.overwrite) throw new UserError(`${target} already exists; use --force to replace it`);
    const dir = path.dirname(resolved);
    if (!fs.existsSync(dir)) throw new UserError(`${dir} does not exist; create it first or choose another output path`);
    this.temp = tempPathBeside(resolved);
    this.fd = fs.openSync(this.temp, 'wx', 0o644);
  }

  async write(parts: readonly Uint8Array[], from = 0): Promise<void> {
    await this.settled();
    const list = parts.filter((p) => p.length > 0);
    if (list.length === 0) return;
    this.pendingFrom = from;
    this.pending = this.writeAll(this.fd!, list).then(
      () => {
        this.pending = undefined;
        this.pendingFrom = Infinity;
      },
      (e: Error) => {
        this.pending = undefined;
        this.failure = e;
      },
    );
  }

  private async writeAll(fd: number, list: Uint8Array[]): Promise<void> {
    while (list.length) {
      const n = await writev(fd, list);
      this.written += n;
      list = dropWritten(list, n);
    }
  }

  /** Waits for the write in progress; throws what it failed with. */
  private async settled(): Promise<void> {
    if (this.pending) await this.pending;
    if (this.failure) throw this.failure;
  }

  async commit(): Promise<void> {
    await this.settled();
    fs.fsyncSync(this.fd!);
    fs.closeSync(this.fd!);
    this.fd = undefined;
    fs.renameSync(this.temp, path.resolve(this.target));
    syncFolder(path.dirname(path.resolve(this.target)));
  }

  abort(): void {
    fs.rmSync(this.temp, { force: true });
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    // A write in progress still uses the descriptor: closing it now could let another file
    // take its number and get those bytes. It is closed once the write is over.
    if (this.pending) void this.pending.finally(() => fs.closeSync(fd));
    else fs.closeSync(fd);
  }
}

function writev(fd: number, list: Uint8Array[]): Promise<number> {
  return new Promise((resolve, reject) => fs.writev(fd, list, (e, n) => (e ? reject(e) : resolve(n))));
}

/** What is left of `parts` after the first `n` bytes were written. */
function dropWritten(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < parts.length && n >= parts[i].length) n -= parts[i++].length;
  const rest = parts.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}
