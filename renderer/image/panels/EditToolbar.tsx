import { useImageView, useViewState } from '../view-context';

/**
 * What can be done to the image, always in sight: undo and redo, repair (with or without a
 * donor), Transform for another QEMU, Load in QEMU, Save as (a new file, checked first; the original is never written) with its
 * options, and saving the journal. An earlier session's unsaved edits are offered here too.
 */
export function EditToolbar() {
  const view = useImageView();
  const busy = useViewState((s) => s.busy);
  const edits = useViewState((s) => s.journal.edits.length);
  const redoable = useViewState((s) => s.journal.redoable.length);
  const problems = useViewState((s) => s.image.repairs.length);
  const wrapped = useViewState((s) => s.image.layers.length > 0);
  const options = useViewState((s) => s.saveOptions);
  const offer = useViewState((s) => s.restoreOffer);
  const evidence = useViewState((s) => s.image.evidence);
  if (evidence) return <EvidenceBar />;
  return (
    <div className="edit-toolbar" role="toolbar" aria-label="Edits">
      <button onClick={view.undo} disabled={busy || !edits} title="Undo the last edit (Ctrl+Z)">
        Undo
      </button>
      <button onClick={view.redo} disabled={busy || !redoable} title="Redo (Ctrl+Shift+Z)">
        Redo
      </button>
      <span className="separator" />
      <button onClick={() => void view.repair(false)} disabled={busy} title={problems ? `Fix what the diagnostics found (${problems} repair${problems === 1 ? '' : 's'} offered)` : 'Fix what the diagnostics found (flipped type bytes, idstrs, versions, vmdesc, a cut end)'}>
        Repair
      </button>
      <button onClick={() => void view.repair(true)} disabled={busy} title="Repair with parts of an intact save of the same VM (missing sections, lost pages)">
        Repair with donor…
      </button>
      <span className="separator" />
      <button onClick={() => void view.transform.show()} disabled={busy} title="Make the image load in another QEMU release: review the plan, apply it as one edit (Ctrl+Shift+X)" aria-keyshortcuts="Control+Shift+X">
        Transform…
      </button>
      <button onClick={() => void view.launch.show()} title="The QEMU command line (or libvirt XML) that loads this image, and whether a QEMU will (Ctrl+Shift+L)" aria-keyshortcuts="Control+Shift+L">
        Load in QEMU…
      </button>
      <button onClick={() => void view.compareWith()} title="Open this image and another side by side: what differs, by section, field and RAM page">
        Compare with…
      </button>
      <span className="separator" />
      <button className="primary" onClick={() => void view.save(options)} disabled={busy} title="Write the edited image to a new file, checked before it replaces anything">
        Save as…
      </button>
      <label title="Save even if the result still has errors">
        <input type="checkbox" checked={options.force} onChange={(e) => view.setSaveOptions({ force: e.target.checked })} /> allow errors
      </label>
      {wrapped && (
        <label title="Write only the QEMU stream (loadable with -incoming), without the libvirt or qcow2 wrapper">
          <input type="checkbox" checked={options.streamOnly} onChange={(e) => view.setSaveOptions({ streamOnly: e.target.checked })} /> stream only
        </label>
      )}
      <button onClick={() => void view.saveJournal()} disabled={busy || !edits} title="Save the journal (JSON): review it, or re-apply it with migwb apply">
        Save journal…
      </button>
      {offer && (
        <span className="restore-offer" role="status" data-testid="restore-offer">
          {offer.edits} unsaved edit{offer.edits === 1 ? '' : 's'} from {offer.savedAt.replace('T', ' ').slice(0, 16)} were kept.
          <button className="primary" onClick={() => void view.restoreAutosave()} disabled={busy}>
            Restore
          </button>
          <button onClick={() => void view.discardAutosave()} disabled={busy}>
            Discard
          </button>
        </span>
      )}
    </div>
  );
}

/**
 * An image opened for evidence: nothing to edit, so the bar says what was recorded instead
 * (the hash, when it was taken, and whether it differs from an earlier one), and offers
 * what reads: Load in QEMU and Compare.
 */
function EvidenceBar() {
  const view = useImageView();
  const evidence = useViewState((s) => s.image.evidence)!;
  return (
    <div className="edit-toolbar" role="toolbar" aria-label="Evidence">
      <span className={`evidence-badge${evidence.changed ? ' changed' : ''}`} data-testid="evidence-badge" title="Opened for evidence: edits, repairs, transforms and saves are refused">
        Evidence · read-only · sha256 {evidence.sha256} taken {evidence.takenAt.replace('T', ' ').slice(0, 19)} UTC
        {evidence.changed ? ' · CHANGED since it was first opened for evidence' : evidence.earlier ? ` · the same as ${evidence.earlier} earlier hash${evidence.earlier === 1 ? '' : 'es'}` : ' · first hash of this file'}
      </span>
      <span className="separator" />
      <button onClick={() => void view.launch.show()} title="The QEMU command line (or libvirt XML) that loads this image, and whether a QEMU will">
        Load in QEMU…
      </button>
      <button onClick={() => void view.compareWith()} title="Open this image and another side by side">
        Compare with…
      </button>
    </div>
  );
}
