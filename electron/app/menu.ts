import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../../shared/api/contract';

export interface MenuActions {
  command(command: MenuCommand): void;
  newWindow(): void;
  openRecent(path: string): void;
  about(): void;
}

/**
 * The native menus. Commands that act on the workspace go to the focused window's
 * renderer as events; the shortcuts match the ones the renderer handles itself.
 */
export function menuTemplate(actions: MenuActions, recent: string[], isMac: boolean, isPackaged = true): MenuItemConstructorOptions[] {
  return [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open Image…', accelerator: 'CmdOrCtrl+O', click: () => actions.command('open-image') },
        {
          label: 'Open Recent',
          submenu: recent.length ? recent.map((p) => ({ label: p, click: () => actions.openRecent(p) })) : [{ label: 'No recent images', enabled: false }],
        },
        { type: 'separator' },
        { label: 'New Window', accelerator: 'CmdOrCtrl+Shift+N', click: () => actions.newWindow() },
        { label: 'Close Image', accelerator: 'CmdOrCtrl+W', click: () => actions.command('close-image') },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { label: '&Edit', submenu: [{ role: 'copy' }, { role: 'selectAll' }] },
    {
      label: '&Image',
      submenu: [
        { label: 'Transform for Another QEMU…', accelerator: 'CmdOrCtrl+Shift+X', click: () => actions.command('transform') },
        { label: 'Load in QEMU…', accelerator: 'CmdOrCtrl+Shift+L', click: () => actions.command('load-in-qemu') },
      ],
    },
    {
      label: '&View',
      submenu: [
        { label: 'Go to Offset…', accelerator: 'CmdOrCtrl+G', click: () => actions.command('go-to') },
        { label: 'Find…', accelerator: 'CmdOrCtrl+F', click: () => actions.command('find') },
        { label: 'Back', accelerator: 'Alt+Left', click: () => actions.command('back') },
        { label: 'Forward', accelerator: 'Alt+Right', click: () => actions.command('forward') },
        { type: 'separator' },
        { label: 'Toggle Light/Dark Theme', click: () => actions.command('toggle-theme') },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
        // Developer tools only in a development build: a packaged app offers no way into its renderer.
        ...(isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    { label: '&Help', submenu: [{ label: 'About Migration Image Workbench', click: () => actions.about() }] },
  ];
}
