import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../electron/services/open-image';
import { RamFlag, SectionType } from '../../shared/formats/qemu-stream/constants';
import { migwb } from '../helpers/cli';
import { tempDir } from '../helpers/chunked';
import { corpusPath } from '../helpers/corpus';
import { measureMigwb } from '../helpers/measured-run';

/**
 * `migwb pack` and `migwb unpack` stream in bounded memory (issue #16 §2): a QEMU stream of
 * 512 MiB, made at test time piece by piece (a corpus image with RAM sections added before
 * its END), is packed from its file and unpacked to a pipe by the real CLI, each under a
 * ceiling of peak RSS far below the stream's size; the bytes come back identical. A writer
 * that kept the stream (the packer once kept every 4 MiB block it had read from a file)
 * passes the ceiling and is killed by the watchdog.
 */
const BASE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const PAGE = 4096;
const PAGES_PER_PART = 1024;
const PARTS = 128;
const MAX_RSS_MB = 200;

/** One RAM PART section (section `id`): PAGES_PER_PART full pages of pc.ram, EOS, footer. */
function ramPart(id: number, page: Uint8Array): Buffer {
  const record = 8 + PAGE;
  const b = Buffer.alloc(5 + 1 + 'pc.ram'.length + PAGES_PER_PART * record + 8 + 5);
  let at = b.writeUInt8(SectionType.PART, 0);
  at = b.writeUInt32BE(id, at);
  for (let i = 0; i < PAGES_PER_PART; i++) {
    const flags = RamFlag.PAGE | (i > 0 ? RamFlag.CONTINUE : 0);
    at = b.writeBigUInt64BE(BigInt(i * PAGE + flags), at);
    if (i === 0) {
      at = b.writeUInt8('pc.ram'.length, at);
      at += b.write('pc.ram', at, 'latin1');
    }
    b.set(page, at);
    at += PAGE;
  }
  at = b.writeBigUInt64BE(BigInt(RamFlag.EOS), at);
  at = b.writeUInt8(SectionType.FOOTER, at);
  b.writeUInt32BE(id, at);
  return b;
}

/** The big stream, written to `file` piece by piece; returns its sha256 and size. */
function writeBigStream(file: string): { sha: string; size: number } {
  const img = openImage(BASE);
  const ram = img.model.elements.find((e) => e.type === 'START' && e.idstr === 'ram')!;
  const end = img.model.elements.find((e) => e.type === 'END' && e.sectionId === ram.sectionId)!;
  img.close();
  const base = fs.readFileSync(BASE);
  const page = Buffer.alloc(PAGE, 0x5a);
  const pieces = [base.subarray(0, end.offset), ...Array.from({ length: PARTS }, () => ramPart(ram.sectionId!, page)), base.subarray(end.offset)];
  const hash = createHash('sha256');
  let size = 0;
  const fd = fs.openSync(file, 'w');
  try {
    for (const p of pieces) {
      hash.update(p);
      size += p.length;
      fs.writeSync(fd, p);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { sha: hash.digest('hex'), size };
}

describe('pack and unpack hold a bounded amount of memory, whatever the stream size', () => {
  const t = tempDir('chunked-memory');
  afterAll(() => t.remove());
  const stream = path.join(t.dir, 'big.mig');
  const container = path.join(t.dir, 'big.migc');
  let written = { sha: '', size: 0 };
  beforeAll(() => void (written = writeBigStream(stream)));

  it(`packs a ${(PARTS * PAGES_PER_PART * PAGE) >> 20} MiB stream under ${MAX_RSS_MB} MB of peak RSS`, async () => {
    const r = await measureMigwb(['pack', stream, '-o', container], { maxRssMB: MAX_RSS_MB, timeoutMs: 300_000 });
    expect(r.killed, `peak RSS ${r.peakRssMB} MB`).toBeUndefined();
    expect(r.code, r.err).toBe(0);
    expect(r.peakRssMB).toBeGreaterThan(0);
    expect(r.peakRssMB).toBeLessThan(MAX_RSS_MB);
    const { sha, size } = written;
    expect(size).toBeGreaterThan(PARTS * PAGES_PER_PART * PAGE);
    const info = JSON.parse((await migwb('info', container, '--json')).out).container.layers[0];
    expect(info.origin.stream_sha256).toBe(sha);
    expect(info.origin.stream_size).toBe(size);
  });

  it(`unpacks it to a pipe under ${MAX_RSS_MB} MB of peak RSS, byte for byte`, async () => {
    expect(fs.existsSync(container), 'the container of the test before').toBe(true);
    const hash = createHash('sha256');
    let size = 0;
    const r = await measureMigwb(['unpack', container, '-o', '-'], {
      maxRssMB: MAX_RSS_MB,
      timeoutMs: 300_000,
      onStdout: (b) => {
        hash.update(b);
        size += b.length;
      },
    });
    expect(r.killed, `peak RSS ${r.peakRssMB} MB`).toBeUndefined();
    expect(r.code, r.err).toBe(0);
    expect(r.peakRssMB).toBeLessThan(MAX_RSS_MB);
    const { sha, size: expected } = written;
    expect(size).toBe(expected);
    expect(hash.digest('hex')).toBe(sha);
  });
});
