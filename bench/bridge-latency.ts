import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as vm from 'node:vm';
import * as path from 'node:path';
import { fmtMs, printTable, SHARED } from './lib';

/**
 * The bridge under load (issue 11): 2,000 API calls in 20 s from one tab, one in ten heavy
 * (opening an image: a worker scan; searching a whole stream for bytes it does not hold),
 * the rest light (bytes for the hex view, tree nodes, host info). Light calls must not wait
 * for heavy ones: their p50/p95 latency is the measure. The tab is a browser's: its calls go
 * through the build's own web preload (served by the bridge, run here in a VM context) over
 * at most six connections to the server, one of them held by the event stream, as a
 * browser allows. MIGWB_BRIDGE_BEFORE=BUILD_DIR also measures another build (e.g. of the
 * commit before) in the same run.
 */
/** Connections a browser opens to one server (HTTP/1.1). */
const BROWSER_CONNECTIONS = 6;
export async function bridgeLatency(): Promise<void> {
  const builds: [string, string][] = [['this build', path.resolve(__dirname, '..')]];
  if (process.env.MIGWB_BRIDGE_BEFORE) builds.unshift(['before', path.resolve(process.env.MIGWB_BRIDGE_BEFORE)]);
  const rows: string[][] = [];
  for (const [label, build] of builds) {
    const r = await measureBuild(build);
    rows.push([label, `${r.count}`, fmtMs(r.light.p50), fmtMs(r.light.p95), fmtMs(r.heavy.p50), fmtMs(r.heavy.p95), `${r.errors}`]);
  }
  printTable('Bridge: 2,000 calls in 20 s, one in ten heavy (open, whole-stream search); latency', ['build', 'calls', 'light p50', 'light p95', 'heavy p50', 'heavy p95', 'errors'], rows);
}

async function measureBuild(build: string): Promise<{ count: number; errors: number; light: { p50: number; p95: number }; heavy: { p50: number; p95: number } }> {
  const corpus = path.join(SHARED, 'corpus');
  const child = spawn(process.execPath, [path.join(__dirname, 'bridge-child.js'), build, corpus], { stdio: ['pipe', 'pipe', 'inherit'] });
  let exit: string | undefined;
  child.on('exit', (code, signal) => (exit = `the server exited (${signal ?? code})`));
  const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const { link, origin } = JSON.parse(first) as { link: string; origin: string };
  const agent = new http.Agent({ keepAlive: true, maxSockets: BROWSER_CONNECTIONS });
  const get = (url: string, headers: http.OutgoingHttpHeaders = {}) =>
    new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, { agent, headers }, resolve).on('error', reject));
  const login = await get(link);
  login.resume();
  const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0];
  // The page's event stream holds one of the connections for as long as the tab is open.
  const events = await get(`${origin}/api/events`, { cookie });
  const api = await tabPreload(origin, cookie, agent, get);
  const small = path.join(corpus, 'qemu', 'x86_64-pc-minimal-paused-16M.mig');
  const big = path.join(corpus, 'qemu', 'x86_64-pc-smp2-running-32M.mig');
  const handle = ((await api.openImage(small)) as { handle: string }).handle;
  const bigHandle = ((await api.openImage(big)) as { handle: string }).handle;
  const light: number[] = [];
  const heavy: number[] = [];
  let errors = 0;
  const opened: string[] = [];
  const pending: Promise<void>[] = [];
  const started = Date.now();
  for (let i = 0; i < 2000; i++) {
    const due = started + i * 10;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const isHeavy = i % 10 === 5;
    const [channel, args] = isHeavy
      ? i % 20 === 5
        ? (['openImage', [small]] as const)
        : (['search', [bigHandle, { kind: 'text', pattern: `not-in-the-image-${i}`, from: 0 }]] as const)
      : ([['readBytes', [handle, (i * 4096) % 400_000, 4096, 'stream']], ['treeChildren', [handle, null]], ['hostInfo', []]] as const)[i % 3];
    const t0 = Date.now();
    pending.push(
      api[channel](...args).then(
        (result) => {
          (isHeavy ? heavy : light).push(Date.now() - t0);
          if (channel === 'openImage') {
            // Keep a tab's worth of images open: close the oldest, as a user closing tabs would.
            opened.push((result as { handle: string }).handle);
            if (opened.length > 8) api.closeImage(opened.shift()).catch(() => void errors++);
          }
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(pending);
  events.destroy();
  child.stdin.end();
  agent.destroy();
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? 0;
  if (exit) console.log(`${build}: ${exit} during the run`);
  return { count: light.length + heavy.length, errors, light: { p50: pct(light, 50), p95: pct(light, 95) }, heavy: { p50: pct(heavy, 50), p95: pct(heavy, 95) } };
}

type TabApi = Record<string, (...args: unknown[]) => Promise<unknown>>;

/**
 * The build's web preload (what a browser tab loads from the bridge), run in a VM context
 * whose fetch goes through `agent` with the tab's cookie: calls queue as the tab's would.
 */
async function tabPreload(origin: string, cookie: string, agent: http.Agent, get: (url: string, headers: http.OutgoingHttpHeaders) => Promise<http.IncomingMessage>): Promise<TabApi> {
  let code = '';
  for await (const chunk of await get(`${origin}/bridge-preload.js`, { cookie })) code += chunk;
  const fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string }) =>
    new Promise((resolve, reject) => {
      const req = http.request(`${origin}${url}`, { method: init.method, agent, headers: { ...init.headers, cookie, 'content-length': Buffer.byteLength(init.body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ ok: (res.statusCode ?? 0) < 300, status: res.statusCode, json: async () => JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(init.body);
    });
  const window: { workbench?: TabApi } = {};
  vm.runInNewContext(code, { window, fetch, EventSource: class {} });
  return window.workbench!;
}
