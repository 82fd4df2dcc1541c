import * as monaco from 'monaco-editor/editor/editor.api';
// Every editor feature with its services (folding, find, …); editor.api alone lacks them.
import 'monaco-editor/features/register.all';
import 'monaco-editor/language/json/monaco.contribution';
// Colouring for the libvirt domain XML and save cookie.
import 'monaco-editor/languages/definitions/xml/register';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';

/**
 * Monaco, set up once for every editor of the app (the code tab, the transform's vmdesc
 * diff, the chunk note editor): its language services and the diff computation run in workers served by the app
 * itself (CSP worker-src 'self'); its run-time <style> elements get the page's nonce
 * (style-nonce.ts).
 */
(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
  getWorker: (_: string, label: string) => (label === 'json' ? new JsonWorker() : new EditorWorker()),
};

export { monaco };

export type CodeLanguage = 'json' | 'xml';

/** Options every read-only editor of the app shares. */
export const READ_ONLY_OPTIONS = {
  readOnly: true,
  automaticLayout: true,
  minimap: { enabled: false },
  scrollBeyondLastLine: false,
  fontSize: 12,
} as const;

export function themeFor(dark: boolean): string {
  return dark ? 'vs-dark' : 'vs';
}
