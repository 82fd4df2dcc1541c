/**
 * Recognises an image by its first bytes, never by its file name.
 */
export type ImageKind =
  | 'qemu-migration-stream'
  | 'libvirt-save'
  | 'libvirt-save-partial'
  | 'qcow2'
  | 'xen-libxc'
  | 'xen-libxl'
  | 'xen-xl'
  | 'xen-legacy'
  | 'unknown';

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const SIGNATURES: ReadonlyArray<[ImageKind, number[]]> = [
  ['qemu-migration-stream', ascii('QEVM')],
  ['libvirt-save', ascii('LibvirtQemudSave')],
  ['libvirt-save-partial', ascii('LibvirtQemudPart')],
  ['qcow2', [0x51, 0x46, 0x49, 0xfb]],
  ['xen-xl', ascii('Xen saved domain, xl format\n \0 \r')],
  ['xen-libxl', ascii('LibxlFmt')],
  ['xen-libxc', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...ascii('XENF')]],
];

/** Bytes detect() wants to see. (A legacy Xen stream has no magic: sniffXen tells it by its first chunks.) */
export const DETECT_BYTES = 32;

export function detectImageKind(head: Uint8Array): ImageKind {
  for (const [kind, sig] of SIGNATURES) {
    if (head.length >= sig.length && sig.every((b, i) => head[i] === b)) return kind;
  }
  return 'unknown';
}

export const IMAGE_KIND_LABELS: Readonly<Record<ImageKind, string>> = {
  'qemu-migration-stream': 'QEMU migration stream (QEVM)',
  'libvirt-save': 'libvirt save image (virsh save)',
  'libvirt-save-partial': 'unfinished libvirt save image (LibvirtQemudPart)',
  qcow2: 'qcow2 disk image',
  'xen-libxc': 'Xen libxc migration stream',
  'xen-libxl': 'Xen libxl migration stream',
  'xen-xl': 'Xen xl save file',
  'xen-legacy': 'Xen legacy (pre-4.6) save stream',
  unknown: 'unrecognised data',
};
