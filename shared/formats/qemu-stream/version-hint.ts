import type { QemuStreamModel } from './model';
import { PageKind } from './page-index';

/**
 * Which QEMU versions could have written a stream, from what the stream itself shows. A
 * hint, not a verdict: each rule gives a bound that holds for every stream showing its
 * evidence, and the hint is their intersection. Rules as data, each citing the QEMU
 * behaviour it encodes.
 */
export interface VersionHint {
  /** Oldest and newest release ("7.2", "9.0") that fit; absent where nothing bounds it. */
  atLeast?: string;
  atMost?: string;
  /** The evidence, one line per rule that applied. */
  because: string[];
  /** The bounds contradict each other (a hand-made or damaged stream). */
  inconsistent: boolean;
}

interface VersionRule {
  /** The bound the evidence gives, or undefined when the stream does not show it. */
  bound(model: QemuStreamModel): { atLeast?: string; atMost?: string; because: string } | undefined;
  /** Where QEMU does this. */
  source: string;
}

/** Versioned machine types name the release that introduced them ("pc-q35-7.2"). */
const VERSIONED_MACHINE = /^(?:pc-i440fx|pc-q35|pc|virt|s390-ccw-virtio|pseries|spapr)-(\d+)\.(\d+)/;

export const VERSION_RULES: readonly VersionRule[] = [
  {
    source: 'hw/core/machine.c and hw/i386/pc_piix.c, pc_q35.c, hw/arm/virt.c: a release adds the versioned machine type of its own version (DEFINE_*_MACHINE for X.Y)',
    bound(model) {
      const m = VERSIONED_MACHINE.exec(model.machineType ?? '');
      return m ? { atLeast: `${Number(m[1])}.${Number(m[2])}`, because: `machine type ${model.machineType}` } : undefined;
    },
  },
  {
    source: 'migration/savevm.c MIG_CMD_SWITCHOVER_START, sent from QEMU 10.0 with its 10.0 machine types (hw_compat_9_2 turns it off for older ones)',
    bound(model) {
      return model.elements.some((e) => e.cmdName === 'SWITCHOVER_START') ? { atLeast: '10.0', because: 'a SWITCHOVER_START command' } : undefined;
    },
  },
  {
    source: 'the mapped-ram migration capability, added in QEMU 9.0 (migration/ram.c mapped_ram_setup_ramblock)',
    bound(model) {
      return model.ramBlocks.some((b) => b.mappedRam) || model.capabilities.includes('mapped-ram') ? { atLeast: '9.0', because: 'mapped-ram RAM blocks' } : undefined;
    },
  },
  {
    source: 'RAM_SAVE_FLAG_COMPRESS_PAGE: the compress capability was removed in QEMU 9.1 (docs/about/removed-features.rst)',
    bound(model) {
      for (const r of model.pages.runs()) if (r.kind === PageKind.COMPRESS) return { atMost: '9.0', because: 'compressed page records (COMPRESS_PAGE)' };
      return undefined;
    },
  },
];

/** The releases that fit a stream, by every rule that applies. */
export function versionHint(model: QemuStreamModel): VersionHint {
  const hint: VersionHint = { because: [], inconsistent: false };
  for (const rule of VERSION_RULES) {
    const b = rule.bound(model);
    if (!b) continue;
    hint.because.push(b.because);
    if (b.atLeast && (!hint.atLeast || compareVersions(b.atLeast, hint.atLeast) > 0)) hint.atLeast = b.atLeast;
    if (b.atMost && (!hint.atMost || compareVersions(b.atMost, hint.atMost) < 0)) hint.atMost = b.atMost;
  }
  hint.inconsistent = !!hint.atLeast && !!hint.atMost && compareVersions(hint.atLeast, hint.atMost) > 0;
  return hint;
}

/** "≥ 7.2", "7.2–9.0", "≤ 9.0"; null without evidence. */
export function formatVersionHint(h: VersionHint): string | null {
  if (h.inconsistent) return `inconsistent (≥ ${h.atLeast}, ≤ ${h.atMost})`;
  if (h.atLeast && h.atMost) return h.atLeast === h.atMost ? h.atLeast : `${h.atLeast}–${h.atMost}`;
  if (h.atLeast) return `≥ ${h.atLeast}`;
  if (h.atMost) return `≤ ${h.atMost}`;
  return null;
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || (x[1] ?? 0) - (y[1] ?? 0);
}
