import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { tempFolder } from '../helpers/evidence';
import { corpusPath } from '../helpers/corpus';
import { haveQemu, migrateToFile, QEMU, saveInQemu, withGuest, type Qmp } from '../helpers/qemu';

/**
 * Three saves of one running guest, made with QEMU at test time a second apart. The guest
 * is a boot sector that disables interrupts and counts in two dwords, at guest-physical
 * 0x20000 and 0x31000, forever: nothing else runs (no timer interrupt, no firmware), so
 * between two saves exactly those two pages change. Any page the firmware or a device
 * touched anyway is listed from the second pair of saves and allowed in the first.
 */
const COUNTERS = [0x20000, 0x31000];

/** 16-bit real mode at 0x7c00: cli; ds=0x2000; es=0x3100; loop: inc dword [ds:0]; inc dword [es:0]; jmp loop. */
function countingBootSector(): Buffer {
  const code = [0xfa, 0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xb8, 0x00, 0x31, 0x8e, 0xc0, 0x66, 0xff, 0x06, 0x00, 0x00, 0x26, 0x66, 0xff, 0x06, 0x00, 0x00, 0xeb, 0xf3];
  const disk = Buffer.alloc(64 * 1024);
  Buffer.from(code).copy(disk, 0);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}

async function counter(qmp: Qmp, gpa: number): Promise<number> {
  const text = await qmp.hmp(`xp /1wx 0x${gpa.toString(16)}`);
  const m = /:\s*0x([0-9a-f]+)\s*$/.exec(text.trim());
  if (!m) throw new Error(`unexpected xp output: ${text}`);
  return parseInt(m[1], 16);
}

function littleEndianHex(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
}

interface WireRun {
  block: string;
  gpa?: number;
  pages: number;
  record_a: string;
  record_b: string;
  bytes?: { offset: number; a: string; b: string }[];
}

async function ramRuns(a: string, b: string): Promise<{ code: number; runs: WireRun[]; pagesDiffering: number }> {
  const r = await migwb('diff', a, b, '--ram', '--bytes', '--json');
  expect(r.code, r.err).toBeLessThan(2);
  const d = JSON.parse(r.out) as { ram: { runs: WireRun[]; blocks: { pages_differing: number }[] } };
  return { code: r.code, runs: d.ram.runs, pagesDiffering: d.ram.blocks.reduce((n, x) => n + x.pages_differing, 0) };
}

function pagesOf(runs: WireRun[]): number[] {
  return runs.flatMap((r) => Array.from({ length: r.pages }, (_, i) => (r.gpa ?? -1) + i * 4096));
}

describe('migwb diff: saves made with QEMU at test time', () => {
  const tmp = tempFolder('migwb-diff-qemu-');

  it.skipIf(!haveQemu('7.2'))('reports exactly the pages the guest program wrote, with both counter values (needs QEMU 7.2)', { timeout: 180_000 }, async () => {
    const disk = path.join(tmp(), 'counting-boot.raw');
    fs.writeFileSync(disk, countingBootSector());
    const saves = ['a', 'b', 'c'].map((n) => path.join(tmp(), `save-${n}.mig`));
    const counters: number[][] = [];
    const args = ['-M', 'pc', '-m', '16M', '-serial', 'null', '-monitor', 'none', '-rtc', 'base=2020-01-01T00:00:00,clock=vm', '-drive', 'file=counting-boot.raw,format=raw,if=ide,index=0'];
    await withGuest({ binary: QEMU['7.2'], args, files: [disk], running: true }, async ({ qmp }) => {
      const deadline = Date.now() + 60_000;
      while ((await counter(qmp, COUNTERS[0])) === 0) {
        if (Date.now() > deadline) throw new Error('the boot sector did not start counting within 60 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const save of saves) {
        await new Promise((r) => setTimeout(r, 1000));
        await qmp.execute('stop');
        counters.push(await Promise.all(COUNTERS.map((g) => counter(qmp, g))));
        await migrateToFile(qmp, save);
        await qmp.execute('cont');
      }
    });
    // The program ran between the saves: both counters moved.
    for (const k of [0, 1]) expect(counters[1][k]).not.toBe(counters[0][k]);

    const noise = pagesOf((await ramRuns(saves[1], saves[2])).runs).filter((p) => !COUNTERS.includes(p));
    const { code, runs } = await ramRuns(saves[0], saves[1]);
    expect(code).toBe(1);
    expect(pagesOf(runs).sort((x, y) => x - y)).toEqual([...new Set([...COUNTERS, ...noise])].sort((x, y) => x - y));
    COUNTERS.forEach((gpa, k) => {
      const run = runs.find((r) => r.gpa === gpa)!;
      expect(run).toMatchObject({ block: 'pc.ram', pages: 1, record_a: 'page', record_b: 'page' });
      // The differing bytes are the counter's: from offset 0, a prefix of its little-endian value on each side.
      expect(run.bytes).toHaveLength(1);
      expect(run.bytes![0].offset).toBe(0);
      expect(littleEndianHex(counters[0][k]).startsWith(run.bytes![0].a)).toBe(true);
      expect(littleEndianHex(counters[1][k]).startsWith(run.bytes![0].b)).toBe(true);
    });
    // A save against itself: nothing differs.
    expect((await ramRuns(saves[0], saves[0])).runs).toEqual([]);
  });

  it.skipIf(!haveQemu('7.2') || !haveQemu('10.0'))(
    'the same configuration saved by QEMU 7.2 and 10.0 differs as ../shared/docs/qemu-versions.md lists, each difference named by its transform rule (needs QEMU 7.2 and 10.0)',
    { timeout: 180_000 },
    async () => {
      const payload = corpusPath('qemu', 'payload-1M.bin');
      const args = ['-M', 'pc', '-m', '16M', '-display', 'none', '-monitor', 'none', '-serial', 'null', '-nic', 'none', '-rtc', 'base=2020-01-01T00:00:00,clock=vm', '-device', 'loader,file=payload-1M.bin,addr=0x100000,force-raw=on'];
      const old = path.join(tmp(), 'pc-7.2.mig');
      const current = path.join(tmp(), 'pc-10.0.mig');
      await saveInQemu({ version: '7.2', args, files: [payload], image: old });
      await saveInQemu({ version: '10.0', args, files: [payload], image: current });
      const r = await migwb('diff', old, current, '--json');
      expect(r.code, r.err).toBe(1);
      const d = JSON.parse(r.out) as {
        header: { what: string; a: string; b: string }[];
        sections_added: unknown[];
        sections_removed: unknown[];
        sections_moved: unknown[];
        sections_changed: { name: string; version_changed?: unknown; fields: { path: string; change: string; value_b?: string }[] }[];
        vmdesc: { section: string; path: string; a?: string; b?: string }[];
        ram: { blocks: { block: string; size_a?: number; size_b?: number; pages_differing: number }[] };
        framing: { what: string; a: string; b: string }[];
        releases: { a: string; b: string };
        known_differences: { rule: string; subject: string }[];
      };
      // qemu-versions.md §2, pc column. CONFIGURATION: the machine name only.
      expect(d.header.map((h) => [h.what, h.a, h.b])).toEqual([['machine type', 'pc-i440fx-7.2', 'pc-i440fx-10.0']]);
      // FULL sections: identical set, different order; section versions equal.
      expect(d.sections_added).toEqual([]);
      expect(d.sections_removed).toEqual([]);
      expect(d.sections_moved.length).toBeGreaterThan(0);
      expect(d.sections_changed.filter((s) => s.version_changed)).toEqual([]);
      // QEMU_VM_COMMAND: 10.x machine types add SWITCHOVER_START.
      expect(d.framing.find((f) => f.what === 'commands')).toEqual({ what: 'commands', a: '(none)', b: 'SWITCHOVER_START' });
      // vmdesc: 10.0 describes the configuration; hpet num_timers → num_timers_save (same bytes, so no field difference).
      expect(d.vmdesc).toContainEqual({ section: 'configuration', path: '', b: 'described' });
      expect(d.vmdesc).toContainEqual({ section: 'hpet:0', path: 'num_timers', a: 'uint8, 1 bytes' });
      expect(d.vmdesc).toContainEqual({ section: 'hpet:0', path: 'num_timers_save', b: 'uint8, 1 bytes' });
      expect(d.sections_changed.map((s) => s.name)).not.toContain('hpet:0');
      // globalstate.runstate: 100 bytes → 32 + has_vm_was_suspended (10.0 writes 1) + vm_was_suspended + 66 unused.
      const globalstate = d.sections_changed.find((s) => s.name === 'globalstate:0')!;
      expect(globalstate.fields.map((f) => [f.path, f.change])).toEqual([
        ['runstate', 'layout'],
        ['has_vm_was_suspended', 'added'],
        ['vm_was_suspended', 'added'],
        ['unused', 'added'],
      ]);
      expect(globalstate.fields[1].value_b).toBe('0x01 (1)');
      // RAM: identical block list and sizes; the guest RAM itself (the payload) is equal, firmware pages may differ.
      expect(d.ram.blocks.every((b) => b.size_a === b.size_b)).toBe(true);
      expect(d.ram.blocks.find((b) => b.block === 'pc.ram')!.pages_differing).toBe(0);
      // Each known difference named by the rule that encodes it (the rules README's matrix lists for 7.2 → pc-i440fx-10.0).
      expect(d.releases).toEqual({ a: 'qemu-7.2', b: 'qemu-10.0' });
      expect(d.known_differences.map((k) => k.rule).sort()).toEqual(['field-renames', 'globalstate-runstate', 'machine-type', 'switchover-start', 'vmdesc-configuration', 'vmdesc-last-index']);
    },
  );
});
