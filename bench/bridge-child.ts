import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Child process of the bridge latency benchmark: serves the app over the bridge of a build
 * (this one, or another given as the first argument, to compare before and after) with the
 * corpus folder allowed, prints a login link, and serves until its stdin closes.
 */
async function main(): Promise<void> {
  const [buildDir = path.resolve(__dirname, '..'), corpus] = process.argv.slice(2);
  // Loaded by path, so the same script can serve an earlier build for a before/after comparison.
  const load = createRequire(__filename);
  const fromBuild = (p: string) => load(path.join(buildDir, p));
  const { startBridge } = fromBuild('electron/bridge/server.js');
  const { Library } = fromBuild('electron/index/library.js');
  const { ImageSessions } = fromBuild('electron/workbench/image-sessions.js');
  let grants: unknown;
  try {
    const { PathGrants } = fromBuild('electron/api/path-grants.js');
    const g = new PathGrants();
    g.grantFolder(corpus);
    grants = g;
  } catch {
    // a build from before path grants: everything is reachable
  }
  const library = Library.open(path.join(os.tmpdir(), `migwb-bench-bridge-${process.pid}.sqlite`));
  const bridge = await startBridge({ rendererDir: path.join(buildDir, 'renderer'), deps: { sessions: new ImageSessions(), library, grants, version: 'bench', initialPaths: [] } });
  process.stdout.on('error', () => process.exit(0)); // the benchmark went away
  process.stdout.write(JSON.stringify({ link: bridge.newLink(), origin: bridge.origin }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => void bridge.close().then(() => process.exit(0)));
}

void main();
