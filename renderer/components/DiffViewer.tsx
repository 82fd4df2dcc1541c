import { memo, useEffect, useRef, useState } from 'react';
import { monaco, READ_ONLY_OPTIONS, themeFor, type CodeLanguage } from './monaco';

interface Props {
  before: string;
  after: string;
  language: CodeLanguage;
  dark: boolean;
  /** What the two sides are, for screen readers ("the vmdesc before and after the transform"). */
  label: string;
}

/**
 * Monaco's diff editor, read-only, side by side, with unchanged stretches folded away so
 * the changes are what is in sight. How many stretches changed is announced (and given as
 * data-changes once the diff is computed, in its worker).
 */
export const DiffViewer = memo(function DiffViewer({ before, after, language, dark, label }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const [changes, setChanges] = useState<number | null>(null);
  useEffect(() => {
    const original = monaco.editor.createModel(before, language);
    const modified = monaco.editor.createModel(after, language);
    const editor = monaco.editor.createDiffEditor(host.current!, {
      ...READ_ONLY_OPTIONS,
      originalEditable: false,
      renderSideBySide: true,
      useInlineViewWhenSpaceIsLimited: false,
      hideUnchangedRegions: { enabled: true, contextLineCount: 3 },
      ariaLabel: label,
    });
    editor.setModel({ original, modified });
    setChanges(null);
    const updated = editor.onDidUpdateDiff(() => setChanges(editor.getLineChanges()?.length ?? 0));
    return () => {
      updated.dispose();
      editor.dispose();
      original.dispose();
      modified.dispose();
    };
  }, [before, after, language, label]);
  useEffect(() => monaco.editor.setTheme(themeFor(dark)), [dark]);
  return (
    <div className="diff-viewer">
      <p className="hint" role="status" data-testid="diff-summary">
        {changes === null ? 'Comparing…' : changes === 0 ? 'No differences.' : `${changes} changed stretch${changes === 1 ? '' : 'es'}; unchanged lines are folded (click a fold to show them).`}
      </p>
      <div className="editor-host" ref={host} data-testid="diff-viewer" data-changes={changes ?? undefined} aria-label={label} />
    </div>
  );
});
