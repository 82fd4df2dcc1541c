import * as fs from 'node:fs';
import * as path from 'node:path';
import { servedPage } from '../content-security-policy';

/** The origin the renderer is served from: a privileged custom scheme, not file://, so Monaco's workers run. */
export const APP_SCHEME = 'app';
export const APP_ORIGIN = 'app://workbench';
export const APP_URL = `${APP_ORIGIN}/index.html`;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.json': 'application/json',
};

/** What the app:// protocol answers for a request URL: a file of the renderer bundle, or 404. */
export function rendererResponse(rendererDir: string, requestUrl: string): { status: number; headers: Record<string, string>; file?: string; html?: string } {
  const url = new URL(requestUrl);
  if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return { status: 404, headers: {} };
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html');
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return { status: 404, headers: {} };
  const type = MIME[path.extname(file)] ?? 'application/octet-stream';
  const headers: Record<string, string> = { 'content-type': type, 'x-content-type-options': 'nosniff' };
  if (type.startsWith('text/html')) {
    // The page gets a fresh style nonce, in its meta tags and in the header alike.
    const page = servedPage(fs.readFileSync(file, 'utf8'));
    headers['content-security-policy'] = page.header;
    return { status: 200, headers, file, html: page.html };
  }
  return { status: 200, headers, file };
}
