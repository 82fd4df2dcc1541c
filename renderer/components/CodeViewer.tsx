import * as monaco from 'monaco-editor/editor/editor.api';
// Every editor feature with its services (folding, find, …); editor.api alone lacks them.
import 'monaco-editor/features/register.all';
import 'monaco-editor/language/json/monaco.contribution';
// Colouring for the libvirt domain XML and save cookie.
import 'monaco-editor/languages/definitions/xml/register';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';
import { memo, useEffect, useRef } from 'react';

// Monaco's language services run in workers, served by the app itself (CSP worker-src 'self').
(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
  getWorker: (_: string, label: string) => (label === 'json' ? new JsonWorker() : new EditorWorker()),
};

export type CodeLanguage = 'json' | 'xml';

/** A read-only Monaco editor for JSON (section fields, vmdesc) and XML (domain XML), with folding and search. */
export const CodeViewer = memo(function CodeViewer({ text, language, dark }: { text: string; language: CodeLanguage; dark: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  // Created once, empty; the effects below (which run right after, in order) set its text, language and theme.
  useEffect(() => {
    editor.current = monaco.editor.create(host.current!, {
      readOnly: true,
      automaticLayout: true,
      minimap: { enabled: false },
      folding: true,
      scrollBeyondLastLine: false,
      fontSize: 12,
    });
    return () => editor.current?.dispose();
  }, []);
  useEffect(() => {
    const model = editor.current?.getModel();
    if (!model) return;
    if (model.getValue() !== text) model.setValue(text);
    if (model.getLanguageId() !== language) monaco.editor.setModelLanguage(model, language);
  }, [text, language]);
  useEffect(() => monaco.editor.setTheme(dark ? 'vs-dark' : 'vs'), [dark]);
  return <div className="editor-host" ref={host} data-testid="code-viewer" data-language={language} />;
});
