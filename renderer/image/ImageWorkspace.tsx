import { Group, Panel, Separator } from 'react-resizable-panels';
import type { ImageView } from './image-view';
import { LoadInQemuDialog } from './dialogs/LoadInQemuDialog';
import { TransformDialog } from './dialogs/TransformDialog';
import { BottomPanel } from './panels/BottomPanel';
import { ChunksPanel } from './panels/ChunksPanel';
import { EditToolbar } from './panels/EditToolbar';
import { HexPanel } from './panels/HexPanel';
import { InspectorPanel } from './panels/InspectorPanel';
import { StructurePanel } from './panels/StructurePanel';
import { ImageViewContext } from './view-context';

/**
 * The panels of one open image, laid out: the edit toolbar above the structure tree (with
 * the chunk panel under it), the hex view (or guest memory) over the bottom tabs, and the
 * inspector; the Transform and Load in QEMU dialogs when open. Each panel reads the image view's state itself (useViewState)
 * and calls its actions (useImageView); this component only places them.
 */
export function ImageWorkspace({ view }: { view: ImageView }) {
  return (
    <ImageViewContext value={view}>
      <div className="workspace-frame">
      <EditToolbar />
      <Group orientation="horizontal" className="workspace" id={`ws-${view.handle}`}>
        <Panel defaultSize="26%" minSize="12%">
          <Group orientation="vertical">
            <Panel defaultSize="58%" minSize="15%">
              <StructurePanel />
            </Panel>
            <Separator className="resize-handle" />
            <Panel defaultSize="42%" minSize="15%">
              <ChunksPanel />
            </Panel>
          </Group>
        </Panel>
        <Separator className="resize-handle" />
        <Panel defaultSize="50%" minSize="25%">
          <Group orientation="vertical">
            <Panel defaultSize="64%" minSize="20%">
              <HexPanel />
            </Panel>
            <Separator className="resize-handle" />
            <Panel defaultSize="36%" minSize="10%">
              <BottomPanel />
            </Panel>
          </Group>
        </Panel>
        <Separator className="resize-handle" />
        <Panel defaultSize="24%" minSize="12%">
          <InspectorPanel />
        </Panel>
      </Group>
      <TransformDialog />
      <LoadInQemuDialog />
      </div>
    </ImageViewContext>
  );
}
