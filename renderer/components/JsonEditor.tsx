import * as monaco from 'monaco-editor/editor/editor.api';
// Every editor feature with its services (folding, find, …); editor.api alone lacks them.
import 'monaco-editor/features/register.all';
import 'monaco-editor/language/json/monaco.contribution';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';
import { memo, useEffect, useRef } from 'react';

// Monaco's language services run in workers, served by the app itself (CSP worker-src 'self').
(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
  getWorker: (_: string, label: string) => (label === 'json' ? new JsonWorker() : new EditorWorker()),
};

/** A read-only Monaco editor for JSON, with folding and search (Ctrl+F inside it). */
export const JsonEditor = memo(function JsonEditor({ text, dark }: { text: string; dark: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  useEffect(() => {
    editor.current = monaco.editor.create(host.current!, {
      value: text,
      language: 'json',
      readOnly: true,
      automaticLayout: true,
      minimap: { enabled: false },
      folding: true,
      scrollBeyondLastLine: false,
      fontSize: 12,
    });
    return () => editor.current?.dispose();
    // Created once; text and theme update below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    if (editor.current && editor.current.getValue() !== text) editor.current.setValue(text);
  }, [text]);
  useEffect(() => monaco.editor.setTheme(dark ? 'vs-dark' : 'vs'), [dark]);
  return <div className="editor-host" ref={host} data-testid="json-editor" />;
});
