import { readBe32 } from '../io/bytes';
import { capabilities, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX } from './pci';

/**
 * The "virtio" field of a virtio-pci device section: what hw/virtio/virtio.c virtio_save
 * writes, which the vmdesc describes only as one opaque field. Layout for the PCI
 * transport (hw/virtio/virtio-pci.c virtio_pci_save_config / _save_queue):
 *
 *   vmstate_pci_device / vmstate_pcie_device: int32 version_id, config[256 or 4096], irq_state[16]
 *   msix_save (when MSI-X is present): table (entries × 16), pending bits (⌈entries / 8⌉)
 *   be16 config_vector (when MSI-X is present)
 *   u8 status, u8 isr, be16 queue_sel, be32 guest_features_lo, be32 config_len, config
 *   be32 queue count, per queue: be32 num, be64 desc, be16 last_avail_idx, [be16 vector]
 *   the device's own state (vdc->save, vdc->vmsd), then vmstate_virtio's subsections.
 */
export interface VirtioBlob {
  /** The PCI config space inside the blob. */
  config: { offset: number; size: number };
  msix?: { offset: number; entries: number; length: number; configVector: number };
  /** Where the device config (config_len, bytes) starts. */
  deviceConfig: { offset: number; length: number };
  queues: { offset: number; count: number; vectors: boolean; length: number };
  /** Where the device's own state starts (vdc->save / vdc->vmsd). */
  deviceState: number;
}

const VIRTIO_PCI_VENDOR = 0x1af4;
const VIRTIO_QUEUE_MAX = 1024;

/** Parses the blob's transport part; undefined when it does not have the virtio-pci shape. */
export function parseVirtioBlob(blob: Uint8Array): VirtioBlob | undefined {
  if (blob.length < 4 + 256 + 16) return undefined;
  const head = blob.subarray(4, 4 + 256);
  if ((head[0] | (head[1] << 8)) !== VIRTIO_PCI_VENDOR) return undefined;
  const caps = capabilities(head);
  const configSize = caps.has(PCI_CAP_ID_EXP) ? 4096 : 256;
  let at = 4 + configSize + 16;
  let msix: VirtioBlob['msix'];
  const msixCap = caps.get(PCI_CAP_ID_MSIX);
  if (msixCap !== undefined) {
    const entries = ((head[msixCap + 2] | (head[msixCap + 3] << 8)) & 0x7ff) + 1;
    const length = entries * 16 + Math.ceil(entries / 8);
    msix = { offset: at, entries, length, configVector: at + length };
    at += length + 2;
  }
  if (at + 12 > blob.length) return undefined;
  const configLength = readBe32(blob, at + 8);
  const deviceConfig = { offset: at + 8, length: 4 + configLength };
  at += 12 + configLength;
  if (at + 4 > blob.length) return undefined;
  const count = readBe32(blob, at);
  if (count > VIRTIO_QUEUE_MAX) return undefined;
  const per = 4 + 8 + 2 + (msix ? 2 : 0);
  const queues = { offset: at, count, vectors: !!msix, length: 4 + count * per };
  at += queues.length;
  if (at > blob.length) return undefined;
  return { config: { offset: 4, size: configSize }, msix, deviceConfig, queues, deviceState: at };
}
