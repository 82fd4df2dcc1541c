import * as monaco from 'monaco-editor/editor/editor.api';
// Every editor feature with its services (folding, find, …); editor.api alone lacks them.
import 'monaco-editor/features/register.all';
import 'monaco-editor/language/json/monaco.contribution';
// Colouring for the libvirt domain XML and save cookie.
import 'monaco-editor/languages/definitions/xml/register';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';

// Monaco's language services run in workers, served by the app itself (CSP worker-src 'self').
(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
  getWorker: (_: string, label: string) => (label === 'json' ? new JsonWorker() : new EditorWorker()),
};

/** Monaco, set up once for the app: its features, languages and workers (the code viewer and the note editor use it). */
export { monaco };
