/**
 * The renderer's Content Security Policy: scripts and workers only from the app itself,
 * no eval, no remote content. Monaco injects <style> elements, hence 'unsafe-inline' for
 * styles only. renderer/index.html carries it as a meta tag (a test keeps the two equal);
 * Electron and the bridge also send it as a header, adding frame-ancestors, which a meta
 * tag cannot express.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export const CONTENT_SECURITY_POLICY_HEADER = `${CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`;
