/**
 * The page's Content Security Policy allows no inline styles except <style> elements that
 * carry the page's nonce (electron/content-security-policy.ts). Monaco creates <style>
 * elements at run time (its theme's token colours, decorations); this gives every <style>
 * element the page creates the nonce, so they apply while an injected one would not.
 * Imported first, before anything that creates style elements.
 */
const nonce = document.querySelector<HTMLMetaElement>('meta[name="style-nonce"]')?.content;

if (nonce) {
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (this: Document, tagName: string, options?: ElementCreationOptions): HTMLElement {
    const element = create.call(this, tagName, options);
    if (element instanceof HTMLStyleElement) element.nonce = nonce;
    return element;
  } as typeof Document.prototype.createElement;
}

export {};
