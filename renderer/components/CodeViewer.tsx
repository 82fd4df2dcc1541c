import { memo, useEffect, useRef } from 'react';
import { monaco } from './monaco-setup';

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
