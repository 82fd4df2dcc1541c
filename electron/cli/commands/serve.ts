import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PathGrants } from '../../api/path-grants';
import { packageVersion, RENDERER_DIR } from '../../build-paths';
import { checkOutputs } from '../../io/output-paths';
import { UsageError, UserError } from '../../services/user-error';
import type { CliIO } from '../output';
import { databasePath, withDbOption } from './library-options';

/**
 * migwb serve: the whole app in a local browser, for review where Electron cannot be
 * installed. Prints a loopback URL with a one-time token and serves until interrupted.
 * Images given are opened; folders are added to the library (indexed with visible progress).
 */
export function registerServe(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withDbOption(program.command('serve').description('serve the workbench to a local browser (loopback only, one-time link)'))
    .argument('[paths...]', 'images to open and folders to add to the library at start')
    .option('--port <n>', 'port to listen on (default: any free port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0 to 65535, not ${v}`);
      return n;
    })
    .action(async (paths: string[], opts: { port?: number; db?: string }) => {
      const resolved = paths.map((p) => {
        if (!fs.existsSync(p)) throw new UserError(`${p} does not exist`);
        return path.resolve(p);
      });
      checkOutputs(resolved.filter((p) => fs.statSync(p).isFile()).map((p) => ({ path: p, role: 'an image to serve' })), [{ path: databasePath(opts), role: '--db' }]);
      // The server, the sessions and the library load only for this command.
      const [{ startBridge }, { Library }, { ImageSessions }] = await Promise.all([import('../../bridge/server'), import('../../index/library'), import('../../workbench/image-sessions')]);
      const library = Library.open(databasePath(opts));
      // Nothing beyond what it was started with: the folders given (read, list, save into),
      // the images given (read), and their folders (save new files into).
      const grants = new PathGrants();
      for (const p of resolved) {
        if (fs.statSync(p).isDirectory()) grants.grantFolder(p);
        else {
          grants.grantFile(p);
          grants.grantSaveFolder(path.dirname(p));
        }
      }
      const bridge = await startBridge({
        rendererDir: RENDERER_DIR,
        port: opts.port,
        deps: {
          sessions: new ImageSessions(),
          library,
          grants,
          version: packageVersion(),
          initialPaths: resolved.filter((p) => !fs.statSync(p).isDirectory()),
          initialFolders: resolved.filter((p) => fs.statSync(p).isDirectory()),
        },
      });
      io.out(`Migration Image Workbench is served at\n\n  ${bridge.newLink()}\n\nOpen that link in a browser on this machine (it works once). Library: ${library.file}. Press Ctrl+C to stop.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void bridge.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      library.close();
      setExit(0);
    });
}
