import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CHANNELS, type WorkbenchApi, type WorkbenchEvent } from '../../shared/api/contract';
import { ApiArgumentError } from '../../shared/api/validate';
import { createHandlers, type HandlerDeps } from '../api/handlers';
import { dispatch } from '../api/dispatch';
import { UserError } from '../services/user-error';
import { servedPage } from '../content-security-policy';

/**
 * The bridge: serves the real renderer bundle to a local browser and answers the API by
 * calling the same handlers Electron's main process registers. Used by `migwb serve` (for
 * review where Electron cannot be installed) and by the end-to-end tests.
 *
 * Security: loopback only; only its own Host header (no DNS rebinding); a one-time token
 * in the printed URL is exchanged for an HttpOnly SameSite=Strict session cookie; API
 * calls also need a custom header (no simple cross-site requests); arguments are
 * validated by dispatch(); the page gets a strict CSP.
 */
export interface BridgeOptions {
  deps: Omit<HandlerDeps, 'host'>;
  rendererDir: string;
  port?: number;
  /** How long a tab may be gone (no event stream) before its images are closed; default 10 s. */
  tabClosedAfterMs?: number;
}

export interface Bridge {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** A URL with a fresh one-time token; each call mints a new one. */
  newLink(): string;
  close(): Promise<void>;
}

const COOKIE = 'migwb_session';
const API_HEADER = 'x-workbench';
const MAX_BODY = 1 << 20;
/**
 * A browser opens at most six connections to one server, and the event stream holds one.
 * Calls that can take seconds (opening, searching, saving, indexing) go at most
 * LONG_AT_ONCE at a time from a tab, so tree nodes, the hex view and every other short call
 * always find a free connection instead of waiting behind them.
 */
export const LONG_CHANNELS: readonly (typeof CHANNELS)[number][] = ['openImage', 'openEvidence', 'search', 'memorySearch', 'editRepair', 'editSave', 'editSaveJournal', 'borrowVmdesc', 'transformPlan', 'transformApply', 'qemuPreflight', 'libraryIndex', 'libraryReindex', 'libraryExport'];
const LONG_AT_ONCE = 2;
/** Longest a long call waits for the tab's event stream to connect before it goes without (its progress events would be lost). */
const EVENTS_CONNECT_WAIT_MS = 5_000;
/** A tab that reloads reconnects its event stream within this time; after it, a closed tab's images are closed. */
const TAB_CLOSED_AFTER_MS = 10_000;
/** Browser sessions kept (each link opened once makes one); the oldest without an open tab goes first. */
const MAX_SESSIONS = 16;

/** A request the bridge refuses before calling a handler. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

interface Session {
  id: string;
  api: WorkbenchApi;
  streams: Set<http.ServerResponse>;
  /** Pending close of the images of a tab whose event stream went away. */
  closing?: NodeJS.Timeout;
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const deps: HandlerDeps = { ...options.deps, host: 'bridge' };
  const tokens = new Set<string>();
  const sessions = new Map<string, Session>();
  const rendererDir = path.resolve(options.rendererDir);
  if (!fs.existsSync(path.join(rendererDir, 'index.html'))) throw new UserError(`the renderer is not built (${rendererDir}); run "npm run build" first`);

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (res.headersSent) return void res.destroy();
      // A malformed URI is the client's mistake (400), not ours.
      if (e instanceof URIError || (e as NodeJS.ErrnoException).code === 'ERR_INVALID_URL') return send(res, 400, 'text/plain; charset=utf-8', 'malformed URI');
      send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(e as Error).message}`);
    });
  });
  let origin = '';
  /** The names a page of this server is served under: the two the Host check accepts. */
  let origins: string[] = [];

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const port = (server.address() as AddressInfo).port;
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) {
      return send(res, 421, 'text/plain; charset=utf-8', 'wrong host');
    }
    const url = new URL(req.url ?? '/', origin);
    decodeURIComponent(url.pathname); // a malformed escape is refused here, whatever the route
    const token = url.searchParams.get('token');
    if (token !== null && req.method === 'GET') return exchangeToken(token, res);
    const session = sessionOf(req);
    if (!session) return send(res, 403, 'text/html; charset=utf-8', '<!doctype html><title>Link expired</title><p>This workbench link has expired or was already used. Run <code>migwb serve</code> again and open the new link it prints.</p>');
    if (url.pathname === '/api/events' && req.method === 'GET') return openEventStream(session, req, res);
    if (url.pathname.startsWith('/api/') && req.method === 'POST') return callApi(session, url.pathname.slice(5), req, res);
    if (req.method === 'GET') return serveStatic(url.pathname, res);
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
  }

  function exchangeToken(token: string, res: http.ServerResponse): void {
    const known = [...tokens].find((t) => safeEqual(t, token));
    if (!known) return send(res, 403, 'text/html; charset=utf-8', '<!doctype html><title>Link expired</title><p>This workbench link has expired or was already used. Run <code>migwb serve</code> again.</p>');
    tokens.delete(known); // one-time
    const id = randomBytes(32).toString('hex');
    const session: Session = { id, api: undefined as unknown as WorkbenchApi, streams: new Set() };
    session.api = createHandlers(deps, `bridge:${id}`, (event) => broadcast(session, event));
    sessions.set(id, session);
    if (sessions.size > MAX_SESSIONS) {
      const idle = [...sessions.values()].find((s) => s.streams.size === 0 && s !== session);
      if (idle) dropSession(idle);
    }
    res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' });
    res.end();
  }

  function sessionOf(req: http.IncomingMessage): Session | undefined {
    const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')).find(([k]) => k === COOKIE);
    return cookie ? sessions.get(cookie[1] ?? '') : undefined;
  }

  function dropSession(s: Session): void {
    clearTimeout(s.closing);
    for (const r of s.streams) r.end();
    deps.sessions.closeOwner(`bridge:${s.id}`);
    sessions.delete(s.id);
  }

  async function callApi(session: Session, channel: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.headers[API_HEADER] !== '1' || (req.headers.origin !== undefined && !origins.includes(req.headers.origin))) {
      return send(res, 403, 'application/json', JSON.stringify({ error: 'cross-origin API calls are not allowed' }));
    }
    let args: unknown;
    try {
      args = JSON.parse(await readBody(req));
    } catch (e) {
      if (e instanceof HttpError) {
        // Answer, then drop the connection: the rest of the body is not read.
        res.once('finish', () => req.destroy());
        return send(res, e.status, 'application/json', JSON.stringify({ error: e.message }), { connection: 'close' });
      }
      return send(res, 400, 'application/json', JSON.stringify({ error: `bad request body: ${(e as Error).message}` }));
    }
    try {
      const result = await dispatch(session.api, channel, args);
      send(res, 200, 'application/json', JSON.stringify({ result: result ?? null }));
    } catch (e) {
      const status = e instanceof ApiArgumentError ? 400 : e instanceof UserError ? 422 : 500;
      send(res, status, 'application/json', JSON.stringify({ error: (e as Error).message }));
    }
  }

  function openEventStream(session: Session, req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    session.streams.add(res);
    clearTimeout(session.closing);
    req.on('close', () => {
      session.streams.delete(res);
      // The tab closed (or reloads): its images are closed unless it is back soon.
      if (session.streams.size === 0) {
        session.closing = setTimeout(() => {
          if (session.streams.size === 0) deps.sessions.closeOwner(`bridge:${session.id}`);
        }, options.tabClosedAfterMs ?? TAB_CLOSED_AFTER_MS);
        session.closing.unref();
      }
    });
  }

  function broadcast(session: Session, event: WorkbenchEvent): void {
    for (const s of session.streams) s.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  function serveStatic(pathname: string, res: http.ServerResponse): void {
    if (pathname === '/bridge-preload.js') return send(res, 200, MIME['.js'], webPreload());
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = path.resolve(rendererDir, relative);
    if (!file.startsWith(rendererDir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
    const type = MIME[path.extname(file)] ?? 'application/octet-stream';
    if (relative === 'index.html') {
      // The web preload defines window.workbench before the app's module script runs.
      const page = servedPage(fs.readFileSync(file, 'utf8').replace('<head>', '<head>\n    <script src="/bridge-preload.js"></script>'));
      return send(res, 200, type, page.html, { 'content-security-policy': page.header });
    }
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    fs.createReadStream(file).pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  origins = [origin, `http://localhost:${(server.address() as AddressInfo).port}`];
  return {
    origin,
    newLink() {
      const token = randomBytes(24).toString('hex');
      tokens.add(token);
      return `${origin}/?token=${token}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...sessions.values()]) dropSession(s);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The browser's stand-in for Electron's preload: the same channels, over fetch. */
function webPreload(): string {
  return `(() => {
  'use strict';
  const CHANNELS = ${JSON.stringify(CHANNELS)};
  const LONG = new Set(${JSON.stringify(LONG_CHANNELS)});
  let longRunning = 0;
  const longWaiting = [];
  async function call(channel, args) {
    if (!LONG.has(channel)) return request(channel, args);
    if (longRunning >= ${LONG_AT_ONCE}) await new Promise((go) => longWaiting.push(go));
    longRunning++;
    // Long calls report progress on the event stream, and the server sends an event only to
    // the streams connected at that moment: a call sent before the stream is up would lose
    // its first events (all of them, for a short run).
    await eventsConnected();
    try {
      return await request(channel, args);
    } finally {
      longRunning--;
      const next = longWaiting.shift();
      if (next) next();
    }
  }
  async function request(channel, args) {
    const r = await fetch('/api/' + channel, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', '${API_HEADER}': '1' }, body: JSON.stringify(args) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error);
    return body.result;
  }
  const api = {};
  for (const channel of CHANNELS) api[channel] = (...args) => call(channel, args);
  const listeners = new Set();
  let events;
  function eventsConnected() {
    if (!events || events.readyState === EventSource.OPEN) return Promise.resolve();
    return new Promise((go) => {
      const done = () => (events.removeEventListener('open', done), clearTimeout(timer), go());
      events.addEventListener('open', done);
      // A stream that cannot connect must not hold calls back: they go without their progress.
      const timer = setTimeout(done, ${EVENTS_CONNECT_WAIT_MS});
    });
  }
  api.onEvent = (listener) => {
    listeners.add(listener);
    if (!events) {
      events = new EventSource('/api/events');
      events.onmessage = (m) => { const e = JSON.parse(m.data); for (const l of listeners) l(e); };
    }
    return () => listeners.delete(listener);
  };
  api.pathForDroppedFile = () => null;
  window.workbench = Object.freeze(api);
})();
`;
}

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  const tooLarge = () => new HttpError(413, `request body too large (at most ${MAX_BODY} bytes)`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.pause();
        reject(tooLarge());
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
