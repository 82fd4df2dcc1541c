import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANNELS, DROP_CHANNEL, type DirectoryListing } from '../../shared/api/contract';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicyHeader, STYLE_NONCE_PLACEHOLDER } from '../../electron/content-security-policy';
import { rendererResponse } from '../../electron/app/renderer-protocol';
import { imageArguments } from '../../electron/app/hardening';
import { menuTemplate } from '../../electron/app/menu';
import { RENDERER_DIR } from '../../electron/build-paths';
import { corpusPath } from '../helpers/corpus';
import { REPO } from '../helpers/cli';

/** What main's ipcMain.on listeners get: the sender, and returnValue for a synchronous reply. */
interface IpcEvent {
  sender: { id: number };
  senderFrame: { url: string };
  returnValue?: unknown;
}

/** A minimal stand-in for the parts of Electron main.ts uses, recording what it is asked to do. */
const electron = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  /** Main-process listeners (ipcMain.on): the preload's drop channel. */
  const listeners = new Map<string, (event: IpcEvent, ...args: unknown[]) => void>();
  /** What the mocked dialogs answer next. */
  const dialogAnswers: { open: string[]; save: string | undefined } = { open: [], save: undefined };
  const windows: BrowserWindow[] = [];
  const appEvents = new Map<string, (...a: unknown[]) => void>();
  let protocolHandler: ((req: { url: string }) => Promise<Response>) | undefined;
  let permissionHandler: ((wc: unknown, p: string, cb: (ok: boolean) => void, details?: { requestingUrl?: string }) => void) | undefined;
  let permissionCheck: ((wc: unknown, p: string, origin?: string) => boolean) | undefined;
  let requestFilter: ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | undefined;
  /** What the next message box answers (the index of the button the user clicks). */
  const answers = { messageBox: 0, messageBoxSync: 0 };
  const messageBoxes: { message: string; buttons: string[] }[] = [];
  class BrowserWindow {
    options: { webPreferences: { preload?: string; [option: string]: unknown } };
    webContents: { id: number; send(): void; on(e: string, f: (event: { preventDefault(): void }) => void): void; events: Map<string, (event: { preventDefault(): void }) => void> };
    events = new Map<string, (event: { preventDefault(): void }) => void>();
    destroyed = false;
    constructor(options: BrowserWindow['options']) {
      this.options = options;
      const contentsEvents = new Map<string, (event: { preventDefault(): void }) => void>();
      this.webContents = { id: windows.length + 1, send: () => undefined, on: (e, f) => contentsEvents.set(e, f), events: contentsEvents };
      windows.push(this);
    }
    on(e: string, f: (event: { preventDefault(): void }) => void) {
      this.events.set(e, f);
    }
    once(e: string, f: () => void) {
      this.events.set(e, f);
    }
    destroy() {
      this.destroyed = true;
      this.events.get('closed')?.({ preventDefault: () => undefined });
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
    listeners,
    dialogAnswers,
    windows,
    appEvents,
    answers,
    messageBoxes,
    getProtocolHandler: () => protocolHandler,
    getPermissionHandler: () => permissionHandler,
    getPermissionCheck: () => permissionCheck,
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
      ipcMain: {
        handle: (channel: string, f: (event: unknown, ...args: unknown[]) => unknown) => handlers.set(channel, f),
        on: (channel: string, f: (event: IpcEvent, ...args: unknown[]) => void) => listeners.set(channel, f),
      },
      protocol: { registerSchemesAsPrivileged: vi.fn(), handle: (_s: string, f: typeof protocolHandler) => (protocolHandler = f) },
      Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: vi.fn() },
      dialog: {
        showOpenDialog: async () => ({ filePaths: dialogAnswers.open.splice(0) }),
        showSaveDialog: async () => ({ filePath: dialogAnswers.save }),
        showMessageBox: async (_win: unknown, o: { message: string; buttons: string[] }) => (messageBoxes.push(o), { response: answers.messageBox }),
        showMessageBoxSync: (_win: unknown, o: { message: string; buttons: string[] }) => (messageBoxes.push(o), answers.messageBoxSync),
      },
      net: { fetch: async (url: string) => new Response(fs.readFileSync(new URL(url))) },
      session: {
        defaultSession: {
          setPermissionRequestHandler: (f: typeof permissionHandler) => (permissionHandler = f),
          setPermissionCheckHandler: (f: typeof permissionCheck) => (permissionCheck = f),
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
    // Not packaged here (the mock says so): devTools follows app.isPackaged.
    expect(win.options.webPreferences.devTools).toBe(true);
    expect(win.options.webPreferences.preload).toMatch(/preload\.js$/);
    expect(win.url).toBe('app://workbench/index.html');
  });

  it('validates arguments and accepts calls only from the app page', async () => {
    const call = (channel: string, url: string, ...args: unknown[]) => electron.handlers.get(channel)!({ sender: { id: 1 }, senderFrame: { url } }, ...args);
    await expect(call('readBytes', 'app://workbench/index.html', 'h', -5, 10, 'stream')).rejects.toThrow(/invalid arguments for readBytes: argument 2/);
    await expect(call('openImage', 'app://workbench/index.html', 42)).rejects.toThrow(/invalid arguments for openImage/);
    await expect(call('hostInfo', 'https://evil.example/')).rejects.toThrow(/only accepted from the workbench window/);
    await expect(call('hostInfo', 'app://workbench/index.html')).resolves.toMatchObject({ host: 'electron', nativeDialogs: true });
  });

  it('acts only on paths the user gave: dialogs, drops, the library; write targets only from the save dialog', async () => {
    const APP = 'app://workbench/index.html';
    const call = (channel: string, ...args: unknown[]) => electron.handlers.get(channel)!({ sender: { id: 1 }, senderFrame: { url: APP } }, ...args);
    const folder = corpusPath('qemu');
    const image = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
    // Before the user chose anything, nothing is reachable, and no message quotes a file.
    await expect(call('listDirectory', folder)).rejects.toThrow(/not chosen by you/);
    await expect(call('listDirectory', '/etc')).rejects.toThrow(/not chosen by you/);
    await expect(call('openImage', '/etc/passwd')).rejects.toThrow(/^(?!.*root:).*not chosen by you/);
    await expect(call('borrowVmdesc', 'h', image)).rejects.toThrow(/not chosen by you/);
    await expect(call('libraryIndex', [folder])).rejects.toThrow(/not chosen by you/);
    // A folder chosen in the folder dialog can be listed (the in-app picker) and read.
    electron.dialogAnswers.open = [folder];
    await expect(call('pickFolder')).resolves.toBe(folder);
    const listing = (await call('listDirectory', folder)) as DirectoryListing;
    expect(listing.entries.map((e) => e.name)).toContain('x86_64-pc-minimal-paused-16M.mig');
    await expect(call('listDirectory', path.dirname(folder))).rejects.toThrow(/not chosen by you/);
    // A dropped file: the preload reports its path on its own channel first.
    const dropped = path.join(os.tmpdir(), 'dropped-but-missing.mig');
    await expect(call('openImage', dropped)).rejects.toThrow(/not chosen by you/);
    const event: IpcEvent = { sender: { id: 1 }, senderFrame: { url: APP } };
    electron.listeners.get(DROP_CHANNEL)!(event, dropped);
    expect(event.returnValue).toBe(true);
    await expect(call('openImage', dropped)).rejects.toThrow(/does not exist/); // let through: it is the user's
    // A page that is not the app cannot grant itself a path.
    const forged: IpcEvent = { sender: { id: 1 }, senderFrame: { url: 'https://evil.example/' } };
    electron.listeners.get(DROP_CHANNEL)!(forged, '/etc/shadow');
    expect(forged.returnValue).toBe(false);
    await expect(call('openImage', '/etc/shadow')).rejects.toThrow(/not chosen by you/);
    // Writing: only where the save dialog said.
    const target = path.join(os.tmpdir(), 'chosen-in-dialog.json');
    await expect(call('editSaveJournal', 'h', target)).rejects.toThrow(/not chosen as a place to save/);
    electron.dialogAnswers.save = target;
    await expect(call('pickSavePath', 'x.json')).resolves.toBe(target);
    await expect(call('editSaveJournal', 'h', target)).rejects.toThrow(/no longer open/); // past the check: the handle is fake
    await expect(call('editSave', 'h', '/etc/cron.d/evil', { force: true, streamOnly: false })).rejects.toThrow(/not chosen as a place to save/);
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
    expect(electron.getPermissionCheck()!({}, 'clipboard-read', 'app://workbench')).toBe(false);
    // Writing to the clipboard (the copy buttons) is the one permission, for the app's own pages only.
    expect(electron.getPermissionCheck()!({}, 'clipboard-sanitized-write', 'app://workbench')).toBe(true);
    expect(electron.getPermissionCheck()!({}, 'clipboard-sanitized-write', 'https://example.com')).toBe(false);
    electron.getPermissionHandler()!({}, 'clipboard-sanitized-write', (ok) => (allowed = ok), { requestingUrl: 'app://workbench/index.html' });
    expect(allowed).toBe(true);
    electron.getPermissionHandler()!({}, 'clipboard-read', (ok) => (allowed = ok), { requestingUrl: 'app://workbench/index.html' });
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
    const nonce = /'nonce-([^']+)'/.exec(index.headers.get('content-security-policy')!)![1];
    expect(index.headers.get('content-security-policy')).toBe(contentSecurityPolicyHeader(nonce));
    const html = await index.text();
    expect(html).toContain('<div id="root">');
    expect(html).toContain(`<meta name="style-nonce" content="${nonce}" />`);
    expect(html).not.toContain(STYLE_NONCE_PLACEHOLDER);
    expect((await electron.getProtocolHandler()!({ url: 'app://workbench/../../package.json' })).status).toBe(404);
    expect(rendererResponse(RENDERER_DIR, 'app://elsewhere/index.html').status).toBe(404);
  });

  it('offers the developer tools only in a development build', () => {
    const items = (packaged: boolean) => JSON.stringify(menuTemplate({ command: () => {}, newWindow: () => {}, openRecent: () => {}, about: () => {} }, [], false, packaged));
    expect(items(false)).toContain('toggleDevTools');
    expect(items(true)).not.toContain('toggleDevTools');
  });

  it('closing a window with unsaved edits asks first: Cancel keeps it open, Close keeps the edits to restore later', async () => {
    const call = (channel: string, ...args: unknown[]) => electron.handlers.get(channel)!({ sender: { id: 1 }, senderFrame: { url: 'app://workbench/index.html' } }, ...args);
    const [win] = electron.windows;
    const close = () => {
      const event = { preventDefault: vi.fn() };
      win.events.get('close')!(event);
      return event.preventDefault.mock.calls.length > 0;
    };
    // Nothing unsaved: the window just closes.
    expect(close()).toBe(false);
    const { handle } = (await call('openImage', corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'))) as { handle: string };
    await call('editApply', handle, { op: 'set-field', field: 'cpu.env.eip', value: '0x1234' });
    // Cancel: the close is stopped and the window stays.
    electron.answers.messageBox = 0;
    expect(close()).toBe(true);
    await vi.waitFor(() => expect(electron.messageBoxes.length).toBe(1));
    expect(electron.messageBoxes[0].message).toMatch(/unsaved edits: x86_64-pc-minimal-paused-16M\.mig \(1 edit\)/);
    expect(electron.messageBoxes[0].buttons).toEqual(['Cancel', 'Close and keep the edits', 'Discard the edits and close']);
    await new Promise((r) => setTimeout(r, 50));
    expect(win.destroyed).toBe(false);
    // A reload asks too: Stay keeps the page (the unload stays prevented).
    const unload = { preventDefault: vi.fn() };
    electron.answers.messageBoxSync = 0;
    win.webContents.events.get('will-prevent-unload')!(unload);
    expect(unload.preventDefault).not.toHaveBeenCalled();
    // Close and keep the edits: the window goes, and its images are closed.
    electron.answers.messageBox = 1;
    expect(close()).toBe(true);
    await vi.waitFor(() => expect(win.destroyed).toBe(true));
    await expect(call('readBytes', handle, 0, 4, 'stream')).rejects.toThrow(/no longer open|only accepted/);
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
    expect(/style-src ([^;]*)/.exec(CONTENT_SECURITY_POLICY)![1]).toBe("'self'");
    expect(/style-src-elem ([^;]*)/.exec(CONTENT_SECURITY_POLICY)![1]).not.toMatch(/unsafe-inline/);
  });
});
