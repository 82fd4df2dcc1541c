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
  return String((e as Error)?.message ?? e).replace(/^Error invoking remote method '[^']+': (\w*Error: )?/, '');
}
