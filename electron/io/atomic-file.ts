import * as fs from 'node:fs';

/**
 * Writes a new file so that it is either absent or complete, never half written: a temporary
 * name beside it, fsync, then rename over the target.
 */
export function writeFileAtomically(target: string, content: string): void {
  const temp = `${target}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(temp, target);
}

/** The error a cancelled long operation throws (same name as an aborted fetch or stream). */
export function cancelled(what: string): Error {
  return Object.assign(new Error(`${what} cancelled`), { name: 'AbortError' });
}
