import { memo } from 'react';
import type { EditSummary } from '../../shared/api/contract';

interface Props {
  edits: EditSummary[];
  redoable: EditSummary[];
}

/**
 * The edit journal of an image: what was changed, with the framing fixed alongside, and
 * what was undone (Redo brings it back). Undo, Redo, Repair and Save as are in the edit
 * toolbar above the image.
 */
export const EditsPanel = memo(function EditsPanel({ edits, redoable }: Props) {
  return (
    <div className="edits" data-testid="edits">
      {edits.length === 0 && redoable.length === 0 ? (
        <p className="hint" style={{ padding: 8 }}>
          No edits. Select a field and set its value in the inspector, overwrite bytes at the cursor, or let Repair fix what the diagnostics found. The
          image file is never written: edits live in a journal (kept beside the library until saved) until you save a new file.
        </p>
      ) : (
        <ol className="edit-list">
          {edits.map((e, i) => (
            <li key={`d${i}`} data-testid="edit-entry">
              {e.summary}
              {e.fixups.length > 0 && <span className="fixups"> — also {e.fixups.join('; ')}</span>}
            </li>
          ))}
          {redoable.map((e, i) => (
            <li key={`r${i}`} className="undone" title="Undone; Redo brings it back">
              {e.summary}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
});
