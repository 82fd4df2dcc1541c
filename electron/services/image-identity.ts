import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { ImageIdentity } from '../../shared/formats/section-directory/section-directory';

/** Bytes hashed at each end of the file for a fingerprint. */
const FINGERPRINT_SPAN = 1 << 20;

/**
 * Size, mtime and a fingerprint of an image file: sha256 of its size and its first and last
 * MiB. Cheap at any size (a sidecar must not cost a full hash on every open), and it changes
 * whenever a tool rewrites the stream's header, its end, or its length.
 */
export function imageIdentity(path: string): ImageIdentity {
  const st = fs.statSync(path);
  return { size: st.size, mtimeMs: Math.trunc(st.mtimeMs), fingerprint: fingerprint(path, st.size) };
}

export function fingerprint(path: string, size: number): string {
  const hash = createHash('sha256').update(`migwb-fingerprint-v1 ${size}\n`);
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(FINGERPRINT_SPAN, size));
    hash.update(buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)));
    if (size > FINGERPRINT_SPAN) {
      const tail = Math.min(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN);
      hash.update(buf.subarray(0, fs.readSync(fd, buf, 0, tail, size - tail)));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Why a sidecar written for `recorded` does not describe the file at `path` now, or
 * undefined if it does (same size, and the same mtime or else the same fingerprint).
 */
export function identityMismatch(path: string, recorded: ImageIdentity | undefined): { expected: string; found: string } | undefined {
  if (!recorded) return { expected: 'the identity (size, mtime, fingerprint) of the image the sidecar was written for', found: 'none' };
  const st = fs.statSync(path);
  if (st.size !== recorded.size) return { expected: `an image of ${recorded.size} bytes`, found: `${st.size} bytes` };
  if (Math.trunc(st.mtimeMs) === recorded.mtimeMs) return undefined;
  const now = fingerprint(path, st.size);
  return now === recorded.fingerprint ? undefined : { expected: `fingerprint ${recorded.fingerprint.slice(0, 16)}…`, found: `${now.slice(0, 16)}… (the image changed after the sidecar was written)` };
}
