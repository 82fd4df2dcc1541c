import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANNELS, type DirectoryListing } from '../../shared/api/contract';
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_HEADER } from '../../electron/content-security-policy';
import { rendererResponse } from '../../electron/app/renderer-protocol';
import { imageArguments } from '../../electron/app/hardening';
import { RENDERER_DIR } from '../../electron/build-paths';
import { corpusPath } from '../helpers/corpus';
import { REPO } from '../helpers/cli';

/** A minimal stand-in for the parts of Electron main.ts uses, recording what it is asked to do. */
const electron = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  const windows: BrowserWindow[] = [];
  const appEvents = new Map<string, (...a: unknown[]) => void>();
  let protocolHandler: ((req: { url: string }) => Promise<Response>) | undefined;
  let permissionHandler: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | undefined;
  let requestFilter: ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | undefined;
  class BrowserWindow {
    options: { webPreferences: { preload?: string; [option: string]: unknown } };
    webContents: { id: number; send(): void };
    events = new Map<string, () => void>();
    constructor(options: BrowserWindow['options']) {
      this.options = options;
      this.webContents = { id: windows.length + 1, send: () => undefined };
      windows.push(this);
    }
    on(e: string, f: () => void) {
      this.events.set(e, f);
    }
    once(e: string, f: () => void) {
      this.events.set(e, f);
    }
    loadURL(url: string) {
      this.url = url;
      return Promise.resolve();
    }
    url = '';
    static getAllWindows = () => windows;
    static getFocusedWindow = () => windows[0];
  }
  return {
    handlers,
    windows,
    appEvents,
    getProtocolHandler: () => protocolHandler,
    getPermissionHandler: () => permissionHandler,
    getRequestFilter: () => requestFilter,
    module: {
      app: {
        requestSingleInstanceLock: () => true,
        on: (e: string, f: (...a: unknown[]) => void) => appEvents.set(e, f),
        whenReady: () => Promise.resolve(),
        getVersion: () => '0.1.0',
        getPath: () => fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-userdata-')),
        isPackaged: false,
        isReady: () => true,
        addRecentDocument: () => undefined,
        quit: () => undefined,
      },
      BrowserWindow,
      ipcMain: { handle: (channel: string, f: (event: unknown, ...args: unknown[]) => unknown) => handlers.set(channel, f) },
      protocol: { registerSchemesAsPrivileged: vi.fn(), handle: (_s: string, f: typeof protocolHandler) => (protocolHandler = f) },
      Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: vi.fn() },
      dialog: { showOpenDialog: async () => ({ filePaths: [] }), showMessageBox: async () => undefined },
      net: { fetch: async (url: string) => new Response(fs.readFileSync(new URL(url))) },
      session: {
        defaultSession: {
          setPermissionRequestHandler: (f: typeof permissionHandler) => (permissionHandler = f),
          webRequest: { onBeforeRequest: (f: typeof requestFilter) => (requestFilter = f) },
        },
      },
    },
  };
});
vi.mock('electron', () => electron.module);

describe('main: the Electron glue', () => {
  beforeAll(async () => {
    await import('../../electron/main');
    await new Promise((r) => setTimeout(r, 20)); // let whenReady() run
  });

  it('registers every channel of the contract with ipcMain.handle', () => {
    expect([...electron.handlers.keys()].sort()).toEqual([...CHANNELS].sort());
  });

  it('opens a sandboxed, context-isolated window without Node, served from app://', () => {
    const [win] = electron.windows;
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(win.options.webPreferences.preload).toMatch(/preload\.js$/);
    expect(win.url).toBe('app://workbench/index.html');
  });

  it('validates arguments and accepts calls only from the app page', async () => {
    const call = (channel: string, url: string, ...args: unknown[]) => electron.handlers.get(channel)!({ sender: { id: 1 }, senderFrame: { url } }, ...args);
    await expect(call('readBytes', 'app://workbench/index.html', 'h', -5, 10, 'stream')).rejects.toThrow(/invalid arguments for readBytes: argument 2/);
    await expect(call('openImage', 'app://workbench/index.html', 42)).rejects.toThrow(/invalid arguments for openImage/);
    await expect(call('hostInfo', 'https://evil.example/')).rejects.toThrow(/only accepted from the workbench window/);
    await expect(call('hostInfo', 'app://workbench/index.html')).resolves.toMatchObject({ host: 'electron', nativeDialogs: true });
    const listing = (await call('listDirectory', 'app://workbench/index.html', corpusPath('qemu'))) as DirectoryListing;
    expect(listing.entries.map((e) => e.name)).toContain('x86_64-pc-minimal-paused-16M.mig');
  });

  it('blocks navigation away from the app, new windows, webviews, permissions and network requests', () => {
    const listeners = new Map<string, (event: { preventDefault(): void }, url?: string) => void>();
    let openHandler: (() => { action: string }) | undefined;
    electron.appEvents.get('web-contents-created')!({}, { on: (e: string, f: (event: { preventDefault(): void }, url?: string) => void) => listeners.set(e, f), setWindowOpenHandler: (f: () => { action: string }) => (openHandler = f) });
    const attempt = (event: string, url?: string) => {
      const e = { preventDefault: vi.fn() };
      listeners.get(event)!(e, url);
      return e.preventDefault.mock.calls.length > 0;
    };
    expect(attempt('will-navigate', 'https://example.com/')).toBe(true);
    expect(attempt('will-navigate', 'app://workbench/index.html')).toBe(false);
    expect(attempt('will-redirect', 'file:///etc/passwd')).toBe(true);
    expect(attempt('will-attach-webview')).toBe(true);
    expect(openHandler!()).toEqual({ action: 'deny' });
    let allowed: boolean | undefined;
    electron.getPermissionHandler()!({}, 'media', (ok) => (allowed = ok));
    expect(allowed).toBe(false);
    const cancelled = (url: string) => {
      let r: { cancel: boolean } | undefined;
      electron.getRequestFilter()!({ url }, (x) => (r = x));
      return r!.cancel;
    };
    expect(cancelled('https://example.com/x.js')).toBe(true);
    expect(cancelled('app://workbench/assets/index.js')).toBe(false);
  });

  it.skipIf(!fs.existsSync(path.join(RENDERER_DIR, 'index.html')))('serves the built renderer on app:// with the CSP header, nothing outside it', async () => {
    const index = await electron.getProtocolHandler()!({ url: 'app://workbench/index.html' });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY_HEADER);
    expect(await index.text()).toContain('<div id="root">');
    expect((await electron.getProtocolHandler()!({ url: 'app://workbench/../../package.json' })).status).toBe(404);
    expect(rendererResponse(RENDERER_DIR, 'app://elsewhere/index.html').status).toBe(404);
  });

  it('takes image paths from the command line, skipping flags and the app path', () => {
    const exists = (p: string) => p.endsWith('.mig');
    expect(imageArguments(['electron', '.', '--inspect', 'a.mig', 'missing.txt'], false, exists)).toEqual(['a.mig']);
    expect(imageArguments(['/opt/app/workbench', 'b.mig'], true, exists)).toEqual(['b.mig']);
  });
});

describe('the renderer CSP', () => {
  it('index.html carries the same policy as the header (minus frame-ancestors, which a meta tag cannot express)', () => {
    const html = fs.readFileSync(path.join(REPO, 'renderer', 'index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval/);
  });
});
