import { memo, useState } from 'react';
import type { EditSummary, SaveRequest } from '../../shared/api/contract';

interface Props {
  edits: EditSummary[];
  redoable: EditSummary[];
  /** Whether the stream sits in a wrapper (libvirt, qcow2), so "stream only" means something. */
  wrapped: boolean;
  busy: boolean;
  onUndo(): void;
  onRedo(): void;
  onRepair(withDonor: boolean): void;
  onSave(request: SaveRequest): void;
  onSaveJournal(): void;
}

/**
 * The edit journal of an image: what was changed, with the framing fixed alongside, undo
 * and redo, repair, and saving the result (a new file; the original is never written) or
 * the journal itself (re-applicable with `migwb apply`).
 */
export const EditsPanel = memo(function EditsPanel({ edits, redoable, wrapped, busy, onUndo, onRedo, onRepair, onSave, onSaveJournal }: Props) {
  const [force, setForce] = useState(false);
  const [streamOnly, setStreamOnly] = useState(false);
  return (
    <div className="edits" data-testid="edits">
      <div className="edits-actions">
        <button onClick={onUndo} disabled={busy || !edits.length} title="Undo the last edit (Ctrl+Z)">
          Undo
        </button>
        <button onClick={onRedo} disabled={busy || !redoable.length} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <button onClick={() => onRepair(false)} disabled={busy} title="Fix what the diagnostics found (flipped type bytes, idstrs, versions, vmdesc, a cut end)">
          Repair
        </button>
        <button onClick={() => onRepair(true)} disabled={busy} title="Repair with parts of an intact save of the same VM (missing sections)">
          Repair with donor…
        </button>
        <span className="spacer" />
        <label title="Save even if the result still has errors">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> allow errors
        </label>
        {wrapped && (
          <label title="Write only the QEMU stream (loadable with -incoming), without the libvirt or qcow2 wrapper">
            <input type="checkbox" checked={streamOnly} onChange={(e) => setStreamOnly(e.target.checked)} /> stream only
          </label>
        )}
        <button className="primary" onClick={() => onSave({ force, streamOnly })} disabled={busy} title="Write the edited image to a new file, checked before it replaces anything">
          Save as…
        </button>
        <button onClick={onSaveJournal} disabled={busy || !edits.length} title="Save the journal (JSON): review it, or re-apply it with migwb apply">
          Save journal…
        </button>
      </div>
      {edits.length === 0 && redoable.length === 0 ? (
        <p className="hint" style={{ padding: 8 }}>
          No edits. Select a field and set its value in the inspector, overwrite bytes at the cursor, or let Repair fix what the diagnostics found. The
          image file is never written: edits live in a journal until you save a new file.
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
