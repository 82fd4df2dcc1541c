import type { Command } from 'commander';
import { engineOf, NODE_ENGINES } from '../../formats/engines';
import { UserError } from '../../services/user-error';
import type { CliIO } from '../output';

/** Every transform target, by engine: each engine brings its own family (Xen: xen-v2, xen-v3). */
const TARGETS = Object.values(NODE_ENGINES).flatMap((e) => e?.transformTargets ?? []);

/**
 * migwb transform IMAGE --to TARGET -o OUT [--dry-run] [--json]: rewrites an image so another
 * version reads it. Targets come in families, one per engine; the family of the target (or
 * the engine of the image) does the work. The original is never written.
 */
export function registerTransform(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('transform')
    .description(`convert an image for another version (${TARGETS.join(', ')}); the image is never written`)
    .argument('<image>', 'the image (never written)')
    .option('--to <target>', `the target: ${TARGETS.join(' or ')}`)
    .option('-o, --output <file>', 'where to write the transformed image')
    .option('--dry-run', 'print the plan and the predicted result; write nothing')
    .option('--json', 'machine-readable output')
    .option('--format <layer>', 'xen-v2 from a legacy stream: libxl (default, what xl restore reads) or libxc')
    .option('--drop-tmem', 'xen-v2: leave tmem chunks out (Migration v2 cannot carry them; their pages are lost)')
    .option('--force', 'save even if the result has errors')
    .action(async (image: string, opts: { to?: string; [option: string]: unknown }) => {
      const engine = Object.values(NODE_ENGINES).find((e) => e?.transformTargets.includes(opts.to ?? '')) ?? engineOf(image)?.engine;
      if (!engine) throw new UserError(`--to ${opts.to ?? '(missing)'}: the targets are ${TARGETS.join(', ')}; ${image} is not an image any of them applies to`);
      setExit(await engine.transform(image, opts, io));
    });
}
