import { Inspector } from '../../components/Inspector';
import { useImageView, useViewState } from '../view-context';

/** The selected node decoded, its edit box, and the bytes at the cursor read as every type. */
export function InspectorPanel() {
  const view = useImageView();
  const selected = useViewState((s) => s.selected);
  const cursor = useViewState((s) => s.cursor);
  const space = useViewState((s) => s.space);
  const streamBase = useViewState((s) => s.image.streamBase);
  const offsetSpace = useViewState((s) => s.image.offsetSpace);
  const read = useViewState((s) => s.bytes[s.space].read);
  const fieldAddress = useViewState((s) => s.fieldAddress);
  const busy = useViewState((s) => s.busy);
  // An image opened for evidence is read-only: no edit box.
  const evidence = useViewState((s) => !!s.image.evidence);
  return (
    <div className="panel">
      <div className="panel-title">Inspector</div>
      <div className="panel-body">
        <Inspector
          node={selected}
          cursor={cursor}
          space={space}
          streamBase={streamBase}
          offsetSpace={offsetSpace}
          read={read}
          fieldAddress={fieldAddress}
          canEdit={!busy && !evidence}
          onSetField={view.setField}
          onOverwrite={view.overwrite}
          onShowGuest={view.showGuest}
        />
      </div>
    </div>
  );
}
