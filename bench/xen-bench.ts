import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, fmtMs, printTable, REPO, runChild, timeCommand, verdict, warm } from './lib';

const XEN = path.join(REPO, 'build', 'tools', 'xen-4.17', 'usr', 'lib', 'xen-4.17');
const GUEST_PAGES = 1 << 18; // 1 GiB of guest memory
const BATCH = 1024;

/**
 * Xen: validating a 1 GiB HVM libxl stream (256 PAGE_DATA records of 1024 pages, the shape
 * xc_domain_save writes) with migwb versus Xen's verify-stream-v2, and the parser's peak RSS
 * (bounded: records are indexed, pages are never held).
 */
export function xenBenchmark(): void {
  if (!fs.existsSync(path.join(XEN, 'bin', 'verify-stream-v2'))) execFileSync('bash', [path.join(REPO, '.ci', 'get-xen-tools.sh')], { stdio: 'inherit' });
  const file = path.join(BENCH_DIR, 'xen-hvm-1G.libxl');
  if (!fs.existsSync(file)) writeStream(file);
  warm(file);
  const parse = runChild<{ ms: number; records: number; pages: number; peakRssMB: number }>('xen-child.js', [file, '5']);
  const cli = timeCommand(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), 'validate', file], 3);
  const reference = timeCommand('env', [`PYTHONPATH=${path.join(XEN, 'lib', 'python')}`, 'python3', path.join(XEN, 'bin', 'verify-stream-v2'), '-f', 'libxl', '-i', file], 3);
  printTable(
    'Xen: a 1 GiB HVM libxl stream, migwb validate vs verify-stream-v2 (Python 3), warm cache, medians',
    ['stream', 'records', 'verify-stream-v2', 'migwb parse', 'ratio', 'migwb validate (whole process)', 'ratio', 'peak RSS (< 200 MB)'],
    [[path.basename(file), `${parse.records} (${parse.pages.toLocaleString('en-US')} pages)`, fmtMs(reference), fmtMs(parse.ms), `${(reference / parse.ms).toFixed(1)}x`, fmtMs(cli), `${(reference / cli).toFixed(1)}x`, `${parse.peakRssMB.toFixed(0)} MB (${verdict(parse.peakRssMB < 200)})`]],
  );
}

/** libxl header, LIBXC_CONTEXT, a v3 HVM image: STATIC_DATA_END, the pages, TSC, params, context, END; EMULATOR_CONTEXT, END. */
function writeStream(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(`${file}.tmp`, 'w');
  const w = (b: Buffer) => fs.writeSync(fd, b);
  const record = (type: number, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(body.length, 4);
    w(head);
    w(body);
    if (body.length % 8) w(Buffer.alloc(8 - (body.length % 8)));
  };
  w(Buffer.concat([Buffer.from('LibxlFmt'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])]));
  record(1, Buffer.alloc(0));
  const ihdr = Buffer.alloc(24, 0);
  ihdr.fill(0xff, 0, 8);
  ihdr.writeUInt32BE(0x58454e46, 8);
  ihdr.writeUInt32BE(3, 12);
  w(ihdr);
  const dhdr = Buffer.alloc(16);
  dhdr.writeUInt32LE(2, 0);
  dhdr.writeUInt16LE(12, 4);
  dhdr.writeUInt32LE(4, 8);
  dhdr.writeUInt32LE(17, 12);
  w(dhdr);
  record(0x10, Buffer.alloc(0));
  for (let first = 0; first < GUEST_PAGES; first += BATCH) {
    const body = Buffer.alloc(8 + BATCH * 8 + BATCH * 4096);
    body.writeUInt32LE(BATCH, 0);
    for (let k = 0; k < BATCH; k++) {
      const pfn = first + k;
      body.writeBigUInt64LE(BigInt(pfn), 8 + 8 * k);
      const page = 8 + BATCH * 8 + k * 4096;
      body.fill(pfn & 0xff, page, page + 4096);
      body.write(`XENPFN${pfn.toString(16).padStart(10, '0')}`, page, 'latin1');
    }
    record(0x01, body);
  }
  const tsc = Buffer.alloc(24);
  tsc.writeUInt32LE(2_000_000, 4);
  record(0x08, tsc);
  const params = Buffer.alloc(24);
  params.writeUInt32LE(1, 0);
  params.writeBigUInt64LE(1n, 8);
  params.writeBigUInt64LE(0xfeffcn, 16);
  record(0x0a, params);
  const ctx = Buffer.alloc(24 + 8 + 8);
  ctx.writeUInt16LE(1, 0);
  ctx.writeUInt32LE(24, 4);
  ctx.writeUInt32LE(0x54381286, 8);
  ctx.writeUInt32LE(1, 12);
  record(0x09, ctx);
  record(0x00, Buffer.alloc(0));
  record(3, Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('QEVM'), Buffer.from([0, 0, 0, 3, 0])]));
  record(0, Buffer.alloc(0));
  fs.closeSync(fd);
  fs.renameSync(`${file}.tmp`, file);
}
