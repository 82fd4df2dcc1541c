import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startBridge } from '../../bridge/server';
import { RENDERER_DIR } from '../../build-paths';
import { UserError } from '../../services/user-error';
import { ImageSessions } from '../../workbench/image-sessions';
import type { CliIO } from '../output';
import { packageVersion } from '../package-version';

/**
 * migwb serve: the whole app in a local browser, for review where Electron cannot be
 * installed. Prints a loopback URL with a one-time token and serves until interrupted.
 */
export function registerServe(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('serve the workbench to a local browser (loopback only, one-time link)')
    .argument('[images...]', 'images to open at start')
    .option('--port <n>', 'port to listen on (default: any free port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`--port must be 0 to 65535, not ${v}`);
      return n;
    })
    .action(async (images: string[], opts: { port?: number }) => {
      for (const image of images) {
        if (!fs.existsSync(image)) throw new UserError(`${image} does not exist`);
      }
      const sessions = new ImageSessions();
      const bridge = await startBridge({
        rendererDir: RENDERER_DIR,
        port: opts.port,
        deps: { sessions, version: packageVersion(), initialPaths: images.map((i) => path.resolve(i)) },
      });
      io.out(`Migration Image Workbench is served at\n\n  ${bridge.newLink()}\n\nOpen that link in a browser on this machine (it works once). Press Ctrl+C to stop.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void bridge.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      setExit(0);
    });
}
