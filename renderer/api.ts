import type { WorkbenchBridge } from '../shared/api/contract';

declare global {
  interface Window {
    /** Set by Electron's preload, or by the bridge's web preload in a browser. */
    workbench?: WorkbenchBridge;
  }
}

/** The backend, as the preload exposes it. The renderer reaches nothing else. */
export function workbench(): WorkbenchBridge {
  if (!window.workbench) throw new Error('The workbench backend is not available: start the app with "npm start" or "migwb serve".');
  return window.workbench;
}

export function base64ToBytes(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hexOffset(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/** "0x1f00", "1f00h", "7936" → 7936; anything else → null. */
export function parseOffset(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/_/g, '');
  const hex = /^0x([0-9a-f]+)$/.exec(t) ?? /^([0-9a-f]+)h$/.exec(t);
  if (hex) return parseInt(hex[1], 16);
  if (/^\d+$/.test(t)) return Number(t);
  return null;
}

export function errorMessage(e: unknown): string {
  // Electron prefixes IPC errors with "Error invoking remote method 'x': Error: ".
  const message = String((e as Error)?.message ?? e).replace(/^Error invoking remote method '[^']+': (\w*Error: )?/, '');
  // The backend's argument check refused a request: the app's mistake, not the user's. The detail goes to the console for a report.
  const refused = /^invalid arguments for (\w+): /.exec(message);
  if (!refused) return message;
  console.error(message);
  return `Could not ${REQUESTS[refused[1]] ?? 'do that'}: the app asked the backend for something it refuses. Try again with other values; if it happens again, reload the app (unsaved edits are kept) and report it with the console's message.`;
}

/** What a request does, for messages about it. */
const REQUESTS: Record<string, string> = {
  search: 'search the bytes',
  memorySearch: 'search guest memory',
  readGuestMemory: 'read guest memory',
  editApply: 'make the edit',
  libraryIndex: 'index the library',
  libraryReindex: 're-index the images',
  libraryTag: 'tag the images',
  libraryAddNote: 'add the note',
  libraryExport: 'export the rows',
  openImage: 'open the image',
};
