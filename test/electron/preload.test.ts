import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, DROP_CHANNEL, EVENT_CHANNEL } from '../../shared/api/contract';

const electron = vi.hoisted(() => ({
  contextBridge: { exposeInMainWorld: vi.fn() },
  ipcRenderer: { invoke: vi.fn(async (...a: unknown[]) => ({ echoed: a })), on: vi.fn(), removeListener: vi.fn(), sendSync: vi.fn(() => true) },
  webUtils: { getPathForFile: vi.fn(() => '/images/dropped.mig') },
}));
vi.mock('electron', () => electron);

describe('preload: the contract exposed as window.workbench', () => {
  beforeEach(async () => {
    vi.resetModules();
    electron.contextBridge.exposeInMainWorld.mockClear();
    await import('../../electron/preload');
  });

  const exposed = () => {
    expect(electron.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
    const [name, api] = electron.contextBridge.exposeInMainWorld.mock.calls[0] as unknown as [string, Record<string, (...a: unknown[]) => unknown>];
    expect(name).toBe('workbench');
    return api;
  };

  it('exposes every channel of the contract, the event subscription and the dropped-file path, nothing else', () => {
    expect(Object.keys(exposed()).sort()).toEqual([...CHANNELS, 'onEvent', 'pathForDroppedFile'].sort());
  });

  it('maps each call to ipcRenderer.invoke(channel, ...args)', async () => {
    const api = exposed();
    for (const channel of CHANNELS) {
      electron.ipcRenderer.invoke.mockClear();
      await api[channel]('a', 1);
      expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith(channel, 'a', 1);
    }
  });

  it('subscribes to and unsubscribes from main-process events', () => {
    const api = exposed();
    const listener = vi.fn();
    const stop = api.onEvent(listener) as () => void;
    const [channel, handler] = electron.ipcRenderer.on.mock.calls.at(-1) as unknown as [string, (e: unknown, v: unknown) => void];
    expect(channel).toBe(EVENT_CHANNEL);
    handler({}, { type: 'menu', command: 'find' });
    expect(listener).toHaveBeenCalledWith({ type: 'menu', command: 'find' });
    stop();
    expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith(EVENT_CHANNEL, handler);
  });

  it('gives the path of a dropped file through webUtils, null when there is none, and tells main it is the user\'s', () => {
    const api = exposed();
    expect(api.pathForDroppedFile({})).toBe('/images/dropped.mig');
    expect(electron.ipcRenderer.sendSync).toHaveBeenCalledWith(DROP_CHANNEL, '/images/dropped.mig');
    electron.ipcRenderer.sendSync.mockClear();
    electron.webUtils.getPathForFile.mockImplementationOnce(() => {
      throw new Error('not a File');
    });
    expect(api.pathForDroppedFile('nonsense')).toBeNull();
    expect(electron.ipcRenderer.sendSync).not.toHaveBeenCalled();
  });
});
