import * as path from 'node:path';

/**
 * Child process of the bridge latency benchmark: serves the app over the bridge of a build
 * (this one, or another given as the first argument, to compare before and after) with the
 * corpus folder allowed, prints a login link, and serves until its stdin closes.
 */
async function main(): Promise<void> {
  const [buildDir = path.resolve(__dirname, '..'), corpus] = process.argv.slice(2);
  const load = (p: string) => require(path.join(buildDir, p));
  const { startBridge } = load('electron/bridge/server.js');
  const { Library } = load('electron/index/library.js');
  const { ImageSessions } = load('electron/workbench/image-sessions.js');
  let grants: unknown;
  try {
    const { PathGrants } = load('electron/api/path-grants.js');
    const g = new PathGrants();
    g.grantFolder(corpus);
    grants = g;
  } catch {
    // a build from before path grants: everything is reachable
  }
  const library = Library.open(path.join(require('node:os').tmpdir(), `migwb-bench-bridge-${process.pid}.sqlite`));
  const bridge = await startBridge({ rendererDir: path.join(buildDir, 'renderer'), deps: { sessions: new ImageSessions(), library, grants, version: 'bench', initialPaths: [] } });
  process.stdout.write(JSON.stringify({ link: bridge.newLink(), origin: bridge.origin }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => void bridge.close().then(() => process.exit(0)));
}

void main();
