import { randomBytes } from 'node:crypto';

/**
 * The renderer's Content Security Policy: scripts and workers only from the app itself,
 * no eval, no remote content, and no 'unsafe-inline' in style-src. Style sheets come from
 * the app's files; the only <style> elements allowed (style-src-elem) are those carrying
 * the page's nonce, which the renderer gives to the style elements Monaco creates at run
 * time (renderer/style-nonce.ts), so injected markup cannot bring style rules (selectors,
 * @import, fonts: the ways CSS reads a page out). Style *attributes* stay allowed
 * (style-src-attr 'unsafe-inline'): Monaco renders its view lines as HTML with
 * style="top:…" attributes, and an attribute styles only its own element. React's style
 * props go through the CSSOM, which CSP does not restrict either way.
 *
 * renderer/index.html carries the policy as a meta tag with a placeholder nonce (a test
 * keeps the two equal); whoever serves the page (Electron's app:// protocol, the bridge)
 * puts a fresh nonce in both the page and the header, and adds frame-ancestors, which a
 * meta tag cannot express.
 */
export const STYLE_NONCE_PLACEHOLDER = 'MIGWB_STYLE_NONCE';

function policy(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self'",
    `style-src-elem 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The policy as renderer/index.html carries it (nonce not filled in). */
export const CONTENT_SECURITY_POLICY = policy(STYLE_NONCE_PLACEHOLDER);

/** The header for a page served with `nonce`. */
export function contentSecurityPolicyHeader(nonce: string): string {
  return `${policy(nonce)}; frame-ancestors 'none'`;
}

/** index.html as served: a fresh style nonce in its meta tags, and the header that goes with it. */
export function servedPage(html: string): { html: string; header: string } {
  const nonce = randomBytes(18).toString('base64');
  return { html: html.replaceAll(STYLE_NONCE_PLACEHOLDER, nonce), header: contentSecurityPolicyHeader(nonce) };
}
