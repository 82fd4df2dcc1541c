import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeHostileInputs } from '../test/helpers/hostile-inputs';
import { measureMigwb } from '../test/helpers/measured-run';
import { fmtMs, printTable, SHARED, verdict } from './lib';
import { bridgeLatency } from './bridge-latency';

/**
 * Hostile inputs (issue 11): the decompression bombs (8 GiB of zeros behind a real stream,
 * in every libvirt compression, and a gzip one whose XML declares no memory) and the
 * vmdesc and qcow2 bombs, each through `migwb validate` and `migwb info` as a whole
 * process: wall time and peak RSS against the 20 s / 500 MB target. Then the bridge under
 * 2,000 requests in 20 s: latency of light requests while heavy ones run.
 */
export async function hostileBenchmark(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-bench-hostile-'));
  try {
    const inputs = makeHostileInputs(path.join(SHARED, 'corpus'), path.join(dir, 'in')).filter((i) => i.family === 'bomb' || /bomb|huge-l1|shared-l2/.test(i.name));
    const env = { ...process.env, MIGWB_CACHE_DIR: path.join(dir, 'cache') };
    const rows: string[][] = [];
    for (const input of inputs) {
      for (const command of ['validate', 'info']) {
        const r = await measureMigwb([command, input.file], { env, timeoutMs: 120_000, maxRssMB: 4096 });
        const ok = !r.killed && r.ms < 20_000 && r.peakRssMB < 500 && (r.code === 0 || r.code === 1);
        rows.push([input.name, `${(fs.statSync(input.file).size / 1024 ** 2).toFixed(1)} MiB`, command, fmtMs(r.ms), `${r.peakRssMB} MB`, `exit ${r.code}${r.killed ? ` (killed: ${r.killed})` : ''}`, verdict(ok)]);
      }
    }
    printTable('Hostile inputs as whole processes (target: < 20 s, < 500 MB peak RSS, diagnostics not a crash)', ['input', 'size', 'command', 'time', 'peak RSS', 'result', 'target'], rows);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await bridgeLatency();
}
