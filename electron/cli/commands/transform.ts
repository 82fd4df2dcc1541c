import type { Command } from 'commander';
import { isXenFile } from '../../formats/xen/xen-file';
import { isXenTarget, runXenTransform, XEN_TARGETS } from '../../formats/xen/xen-transform';
import { UserError } from '../../services/user-error';
import type { CliIO } from '../output';

/**
 * migwb transform IMAGE --to TARGET -o OUT [--dry-run] [--json]: rewrites an image so another
 * version reads it. Targets come in families: Xen streams (xen-v2: a legacy stream to
 * Migration v2; xen-v3: a libxc v2 image to version 3). The original is never written.
 */
export function registerTransform(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('transform')
    .description(`convert an image for another version: ${XEN_TARGETS.join(', ')} (Xen streams); the image is never written`)
    .argument('<image>', 'the image (never written)')
    .option('--to <target>', `the target: ${XEN_TARGETS.join(' or ')}`)
    .option('-o, --output <file>', 'where to write the transformed image')
    .option('--dry-run', 'print the plan and the predicted result; write nothing')
    .option('--json', 'machine-readable output')
    .option('--format <layer>', 'xen-v2 from a legacy stream: libxl (default, what xl restore reads) or libxc')
    .option('--drop-tmem', 'xen-v2: leave tmem chunks out (Migration v2 cannot carry them; their pages are lost)')
    .option('--force', 'save even if the result has errors')
    .action(async (image: string, opts: { to?: string; output?: string; dryRun?: boolean; json?: boolean; format?: string; dropTmem?: boolean; force?: boolean }) => {
      if (isXenTarget(opts.to) || isXenFile(image)) {
        setExit(await runXenTransform(image, opts, io));
        return;
      }
      throw new UserError(`--to ${opts.to ?? '(missing)'}: this build transforms Xen streams (${XEN_TARGETS.join(', ')}); ${image} is not one`);
    });
}
