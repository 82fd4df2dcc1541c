import { useEffect, useRef } from 'react';
import { monaco } from './monaco';

interface Props {
  title: string;
  text: string;
  dark: boolean;
  /** The edited text (empty removes the note), or null when cancelled. */
  onDone(text: string | null): void;
}

/**
 * A chunk's note (a text chunk of the container) edited in Monaco, in a dialog. Saving
 * makes one edit of the journal; the container stores it when the image is saved.
 */
export default function NoteEditor({ title, text, dark, onDone }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  // The text is the editor's from here on; the dialog is made anew for each note.
  const initial = useRef(text);
  useEffect(() => {
    editor.current = monaco.editor.create(host.current!, {
      value: initial.current,
      language: 'plaintext',
      automaticLayout: true,
      minimap: { enabled: false },
      wordWrap: 'on',
      lineNumbers: 'off',
      scrollBeyondLastLine: false,
      fontSize: 13,
    });
    editor.current.focus();
    return () => editor.current?.dispose();
  }, []);
  useEffect(() => monaco.editor.setTheme(dark ? 'vs-dark' : 'vs'), [dark]);
  const save = () => onDone(editor.current?.getValue() ?? text);
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && onDone(null)}>
      <div className="modal note-editor" role="dialog" aria-modal="true" aria-labelledby="note-title" data-testid="note-editor">
        <header>
          <h2 id="note-title">{title}</h2>
        </header>
        <div className="note-editor-host" ref={host} data-testid="note-text" />
        <footer>
          <span className="hint">Empty removes the note. Saved into the container with Save as (other formats keep it in the journal).</span>
          <button onClick={() => onDone(null)}>Cancel</button>
          <button className="primary" onClick={save}>
            Save note
          </button>
        </footer>
      </div>
    </div>
  );
}
