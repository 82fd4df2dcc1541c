import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { CHANNELS, DROP_CHANNEL, EVENT_CHANNEL, type WorkbenchBridge, type WorkbenchEvent } from '../shared/api/contract';

/**
 * Exposes the contract to the sandboxed renderer as window.workbench: one function per
 * channel (ipcRenderer.invoke), the event subscription, and the path of a dropped file.
 * Bundled into one file at build time: a sandboxed preload cannot require local modules.
 */
const api = Object.fromEntries(CHANNELS.map((channel) => [channel, (...args: unknown[]) => ipcRenderer.invoke(channel, ...args)]));

const bridge = {
  ...api,
  onEvent(listener: (event: WorkbenchEvent) => void) {
    const handler = (_e: unknown, event: WorkbenchEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
  pathForDroppedFile(file: unknown) {
    let dropped: string;
    try {
      dropped = webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0]);
    } catch {
      return null;
    }
    if (!dropped) return null;
    // Only a real File (dropped, or chosen in a file input) has a path: main takes it as the user's choice.
    ipcRenderer.sendSync(DROP_CHANNEL, dropped);
    return dropped;
  },
} as WorkbenchBridge;

contextBridge.exposeInMainWorld('workbench', bridge);
