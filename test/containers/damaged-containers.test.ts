import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBytes } from '../../shared/io/byte-source';
import { openImage } from '../../electron/services/open-image';
import { UserError } from '../../electron/services/user-error';
import { corpusPath, metaOf } from '../helpers/corpus';

/**
 * Damaged wrappers never crash the open: every cut and every flipped byte of the libvirt
 * header area and of the qcow2 metadata either opens (with diagnostics) or is refused with
 * a one-line UserError, and reading the whole stream afterwards never throws.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-damaged-containers-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function opensOrRefuses(bytes: Buffer, name: string): 'opened' | 'refused' {
  const file = path.join(work, name);
  fs.writeFileSync(file, bytes);
  try {
    const img = openImage(file);
    readBytes(img.source, 0, 16 << 20);
    img.close();
    return 'opened';
  } catch (e) {
    if (e instanceof UserError) {
      expect(e.message).not.toMatch(/\n/);
      return 'refused';
    }
    throw new Error(`${name}: ${(e as Error).stack}`);
  }
}

describe('damaged containers are diagnosed, never crash', () => {
  it('libvirt save: cuts anywhere and flipped bytes in the header, XML and stream start', () => {
    const raw = fs.readFileSync(corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'));
    const next = random(4);
    const outcomes = new Set<string>();
    for (const cut of [1, 16, 20, 40, 91, 92, 500, 66675, 66680, 100_000, raw.length - 1]) outcomes.add(opensOrRefuses(raw.subarray(0, cut), `cut-${cut}.sav`));
    for (let i = 0; i < 60; i++) {
      const copy = Buffer.from(raw);
      const at = i < 40 ? Math.floor(next() * 92) : 66675 + Math.floor(next() * 64);
      copy[at] ^= 1 + Math.floor(next() * 255);
      outcomes.add(opensOrRefuses(copy, `flip-${i}.sav`));
    }
    expect(outcomes).toContain('opened');
  });

  it('qcow2: cuts and flipped bytes in the header, snapshot table, L1 and L2 tables', () => {
    const qcow2 = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'));
    const extraction = metaOf(corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.vmstate.mig')).vmstate_extraction!;
    const snapshots = Number(qcow2.readBigUInt64BE(64));
    const l1 = extraction.l1_table_offset;
    const l2 = Number(qcow2.readBigUInt64BE(l1 + 8 * (extraction.vm_state_offset / (65536 * 8192))) & 0x00fffffffffffe00n);
    const regions = [
      [0, 112],
      [snapshots, 80],
      [l1, 16],
      [l2, 256],
    ];
    const next = random(7);
    for (const cut of [3, 50, 100, snapshots + 10, l1 + 4, l2 + 100, qcow2.length - 70_000]) opensOrRefuses(qcow2.subarray(0, cut), `cut-${cut}.qcow2`);
    for (let i = 0; i < 80; i++) {
      const [start, length] = regions[i % regions.length];
      const copy = Buffer.from(qcow2);
      copy[start + Math.floor(next() * length)] ^= 1 + Math.floor(next() * 255);
      opensOrRefuses(copy, `flip-${i}.qcow2`);
    }
  });
});
