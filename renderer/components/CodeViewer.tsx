import { memo, useEffect, useRef } from 'react';
import { monaco, READ_ONLY_OPTIONS, themeFor, type CodeLanguage } from './monaco';

export type { CodeLanguage };

/** A read-only Monaco editor for JSON (section fields, vmdesc) and XML (domain XML), with folding and search. */
export const CodeViewer = memo(function CodeViewer({ text, language, dark }: { text: string; language: CodeLanguage; dark: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  // Created once, empty; the effects below (which run right after, in order) set its text, language and theme.
  useEffect(() => {
    editor.current = monaco.editor.create(host.current!, { ...READ_ONLY_OPTIONS, folding: true });
    return () => editor.current?.dispose();
  }, []);
  useEffect(() => {
    const model = editor.current?.getModel();
    if (!model) return;
    if (model.getValue() !== text) model.setValue(text);
    if (model.getLanguageId() !== language) monaco.editor.setModelLanguage(model, language);
  }, [text, language]);
  useEffect(() => monaco.editor.setTheme(themeFor(dark)), [dark]);
  return <div className="editor-host" ref={host} data-testid="code-viewer" data-language={language} />;
});
