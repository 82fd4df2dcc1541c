import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, session } from 'electron';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHANNELS, DROP_CHANNEL, EVENT_CHANNEL, type MenuCommand, type WorkbenchApi } from '../shared/api/contract';
import { PathGrants } from './api/path-grants';
import { dispatch } from './api/dispatch';
import { autosaveBeside, createHandlers, type HandlerDeps } from './api/handlers';
import { harden, imageArguments, isAllowedPermission, isTrustedSender } from './app/hardening';
import { menuTemplate } from './app/menu';
import { RecentImages } from './app/recent-images';
import { DATABASE_FILE } from './index/database';
import { Library } from './index/library';
import { APP_SCHEME, APP_URL, rendererResponse } from './app/renderer-protocol';
import { RENDERER_DIR } from './build-paths';
import type { WorkbenchImage } from './workbench/image-session';
import { ImageSessions } from './workbench/image-sessions';
import type { JournalAutosave } from './workbench/journal-autosave';

/**
 * Electron main process: windows, menus, the app:// protocol, and the IPC channels of the
 * contract wired to the same handlers the bridge serves. Everything else lives in modules
 * that run (and are tested) without Electron.
 */
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }]);

const sessions = new ImageSessions();
const apis = new Map<number, WorkbenchApi>();
let recent: RecentImages;
let library: Library;
/** Paths the user gave (dialogs, drops, command line, recent list, library folders): the only ones handlers act on. */
let grants: PathGrants;
let autosave: JournalAutosave;

function createWindow(initialPaths: string[]): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    show: false,
    title: 'Migration Image Workbench',
    icon: path.join(RENDERER_DIR, 'icon.svg'),
    webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false, devTools: !app.isPackaged },
  });
  const id = win.webContents.id;
  for (const p of initialPaths) grants.grantFile(p);
  const deps: HandlerDeps = {
    sessions,
    library,
    grants,
    autosave,
    host: 'electron',
    version: app.getVersion(),
    initialPaths,
    dialogs: {
      pickImage: async () => (await dialog.showOpenDialog(win, { title: 'Open image', properties: ['openFile'] })).filePaths[0] ?? null,
      pickFolder: async () => (await dialog.showOpenDialog(win, { title: 'Add library folder', properties: ['openDirectory'] })).filePaths[0] ?? null,
      pickSavePath: async (suggestedName: string) => (await dialog.showSaveDialog(win, { title: 'Save edited image as', defaultPath: suggestedName, properties: ['createDirectory', 'showOverwriteConfirmation'] })).filePath || null,
    },
    onImageOpened: (p) => {
      recent.add(p);
      app.addRecentDocument(p);
      buildMenu();
    },
  };
  const owner = `window:${id}`;
  apis.set(id, createHandlers(deps, owner, (event) => win.webContents.send(EVENT_CHANNEL, event)));
  win.on('close', (event) => {
    const unsaved = sessions.unsaved(owner);
    if (!unsaved.length) return;
    // Asked here, not by the page's beforeunload (which Electron would only obey silently).
    event.preventDefault();
    void confirmClose(win, unsaved).then(async (choice) => {
      if (choice === 'cancel') return;
      // Written now, before the images close: a pending write would find them closed.
      await Promise.all(unsaved.map((s) => (choice === 'discard' ? autosave.discard(s.path) : autosave.flush(s))));
      win.destroy();
    });
  });
  // A reload with unsaved edits (the page's beforeunload asked to stay): the user decides.
  win.webContents.on('will-prevent-unload', (event) => {
    const response = dialog.showMessageBoxSync(win, {
      type: 'warning',
      title: 'Unsaved edits',
      message: 'Reload the window? Images with unsaved edits close.',
      detail: 'Their journals are kept beside the library: opening an image again offers to restore its edits.',
      buttons: ['Stay', 'Reload'],
      defaultId: 0,
      cancelId: 0,
    });
    if (response === 1) event.preventDefault();
  });
  win.on('closed', () => {
    sessions.closeOwner(owner);
    apis.delete(id);
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(APP_URL);
  return win;
}

/** Asks what to do with the unsaved edits of a window being closed. */
async function confirmClose(win: BrowserWindow, unsaved: WorkbenchImage[]): Promise<'cancel' | 'keep' | 'discard'> {
  const names = unsaved.map((s) => `${path.basename(s.path)} (${s.opened.edits} edit${s.opened.edits === 1 ? '' : 's'})`);
  const { response } = await dialog.showMessageBox(win, {
    type: 'warning',
    title: 'Unsaved edits',
    message: `${unsaved.length === 1 ? 'An image has' : `${unsaved.length} images have`} unsaved edits: ${names.join(', ')}`,
    detail: 'Save them with Save as… first, or close: the edits are kept beside the library and opening the image again offers to restore them, unless you discard them.',
    buttons: ['Cancel', 'Close and keep the edits', 'Discard the edits and close'],
    defaultId: 0,
    cancelId: 0,
  });
  return (['cancel', 'keep', 'discard'] as const)[response] ?? 'cancel';
}

function sendToFocused(command: MenuCommand): void {
  (BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0])?.webContents.send(EVENT_CHANNEL, { type: 'menu', command });
}

function focusedWindow(): BrowserWindow | undefined {
  const win = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  if (win?.isMinimized()) win.restore();
  win?.focus();
  return win;
}

function openInWindow(imagePath: string): void {
  // From the OS (file association, second instance) or the recent list: the user's choice.
  grants.grantFile(imagePath);
  const win = focusedWindow();
  if (!win) return void createWindow([imagePath]);
  win.webContents.send(EVENT_CHANNEL, { type: 'open-path', path: imagePath });
}

function buildMenu(): void {
  const template = menuTemplate(
    {
      command: sendToFocused,
      newWindow: () => createWindow([]),
      openRecent: openInWindow,
      about: () => void dialog.showMessageBox({ title: 'About', message: `Migration Image Workbench ${app.getVersion()}`, detail: `Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node ${process.versions.node}` }),
    },
    recent.items,
    process.platform === 'darwin',
    app.isPackaged,
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function registerChannels(): void {
  // The preload reports the path of a file dropped on the window (only it can read a real
  // File's path), before the renderer asks to open it.
  ipcMain.on(DROP_CHANNEL, (event, dropped: unknown) => {
    const trusted = apis.has(event.sender.id) && isTrustedSender(event.senderFrame?.url);
    if (trusted && typeof dropped === 'string' && dropped.length > 0) grants.grantFile(dropped);
    event.returnValue = trusted;
  });
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      const api = apis.get(event.sender.id);
      if (!api || !isTrustedSender(event.senderFrame?.url)) throw new Error('calls are only accepted from the workbench window');
      return dispatch(api, channel, args);
    });
  }
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', (_event, argv) => {
    const paths = imageArguments(argv, app.isPackaged, fs.existsSync);
    if (paths.length === 0) focusedWindow();
    paths.forEach(openInWindow);
  });
  app.on('open-file', (event, filePath) => {
    event.preventDefault();
    if (app.isReady()) openInWindow(filePath);
  });
  app.on('web-contents-created', (_event, contents) => harden(contents));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => library?.close());
  void app.whenReady().then(() => {
    recent = new RecentImages(path.join(app.getPath('userData'), 'recent-images.json'));
    library = Library.open(path.join(app.getPath('userData'), DATABASE_FILE));
    grants = new PathGrants({ folders: () => library.folders().map((f) => f.path), hasImage: (p) => library.hasImage(p) });
    autosave = autosaveBeside(library);
    protocol.handle(APP_SCHEME, async (request) => {
      const r = rendererResponse(RENDERER_DIR, request.url);
      if (!r.file) return new Response('not found', { status: r.status });
      if (r.html !== undefined) return new Response(r.html, { status: r.status, headers: r.headers });
      const file = await net.fetch(pathToFileURL(r.file).toString());
      return new Response(file.body, { status: r.status, headers: r.headers });
    });
    // The app never needs the network, the camera or any other permission but writing to the clipboard.
    session.defaultSession.setPermissionRequestHandler((_wc, permission, callback, details) => callback(isAllowedPermission(permission, details?.requestingUrl)));
    // Checks (navigator.permissions.query, clipboard reads, …) are answered no as well, not only requests.
    session.defaultSession.setPermissionCheckHandler((_wc, permission, requestingOrigin) => isAllowedPermission(permission, requestingOrigin));
    session.defaultSession.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !/^(app|devtools):/.test(details.url) }));
    registerChannels();
    buildMenu();
    createWindow(imageArguments(process.argv, app.isPackaged, fs.existsSync));
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow([]);
    });
  });
}
