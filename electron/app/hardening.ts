import type { WebContents } from 'electron';
import { APP_ORIGIN } from './renderer-protocol';

/**
 * No navigation away from the app, no new windows, no <webview>: the renderer only ever
 * shows the app's own bundle. Applied to every web contents Electron creates.
 */
export function harden(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!url.startsWith(APP_ORIGIN + '/')) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!url.startsWith(APP_ORIGIN + '/')) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/**
 * The one permission the app uses: writing text to the clipboard (the copy buttons of
 * "Load in QEMU…"), asked by the app's own pages. Everything else (reading the clipboard,
 * the network, devices) is refused.
 */
export function isAllowedPermission(permission: string, requestingUrl: string | undefined): boolean {
  return permission === 'clipboard-sanitized-write' && !!requestingUrl && (requestingUrl === APP_ORIGIN || requestingUrl.startsWith(APP_ORIGIN + '/'));
}

/** Only the app's own pages may call the backend. */
export function isTrustedSender(frameUrl: string | undefined): boolean {
  return !!frameUrl && frameUrl.startsWith(APP_ORIGIN + '/');
}

/** Command-line arguments that name images to open (not flags, not the app itself). */
export function imageArguments(argv: string[], isPackaged: boolean, exists: (p: string) => boolean): string[] {
  return argv.slice(isPackaged ? 1 : 2).filter((a) => !a.startsWith('-') && exists(a));
}
