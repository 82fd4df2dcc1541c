import { fieldPaths } from '../edit/field-path';
import { readBytes, type ByteSource } from '../io/byte-source';
import type { QemuStreamModel, RamBlock, StreamElement } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import { readGuestPage } from '../formats/qemu-stream/ram-reader';
import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';
import type { Evidence } from './hardware';
import { parsePciConfig, virtioValues, type PciConfigFacts, type VirtioValues } from './pci-facts';

/** A PCI function's qdev path: "0000:00:02.0"; behind bridges "0000:00:1c.0:00.0". */
const PCI_SLOT_PATH = /^[0-9a-f]{4}:[0-9a-f]{2}(?::[0-9a-f]{2}\.[0-7])+$/;

/**
 * One device section as the derivation rules see it: where it sits (the qdev path of its
 * idstr), its decoded fields by path, its PCI config and virtio state when it has them,
 * and the RAM blocks it owns. Decoding happens once, on first use.
 */
export class SectionFacts {
  /** "0000:00:03.0" for PCI devices, "0000:00:07.0/1" for a USB device on port 1, "" for ISA and machine devices. */
  readonly path: string;
  /** The vmsd part of the idstr: "e1000", "virtio-net", "usb-ptr", "serial". */
  readonly name: string;
  private decoded?: FieldNode[];
  private byPath?: Map<string, FieldNode>;
  private pciFacts?: PciConfigFacts | null;
  private virtioState?: VirtioValues | null;

  constructor(
    readonly source: ByteSource,
    readonly model: QemuStreamModel,
    readonly element: StreamElement,
  ) {
    const idstr = element.idstr ?? '';
    const slash = idstr.lastIndexOf('/');
    this.path = slash >= 0 ? idstr.slice(0, slash) : '';
    this.name = slash >= 0 ? idstr.slice(slash + 1) : idstr;
  }

  get idstr(): string {
    return this.element.idstr ?? '';
  }

  get instance(): number {
    return this.element.instanceId ?? 0;
  }

  /** The PCI slot path when the section belongs to a PCI function ("0000:00:03.0", or "0000:00:1c.0:00.0" behind a bridge). */
  get pciPath(): string | undefined {
    return PCI_SLOT_PATH.test(this.path) ? this.path : undefined;
  }

  get nodes(): FieldNode[] {
    this.decoded ??= decodeSection(this.source, this.model, this.element).nodes;
    return this.decoded;
  }

  field(path: string): FieldNode | undefined {
    if (!this.byPath) {
      this.byPath = new Map();
      for (const { path: p, node } of fieldPaths(this.nodes)) if (!this.byPath.has(p)) this.byPath.set(p, node);
    }
    return this.byPath.get(path);
  }

  /** An integer field's value (exact up to 2^53), or undefined when the field is absent or not an integer. */
  int(path: string): number | undefined {
    const v = this.field(path)?.value;
    return v?.kind === 'int' ? Number(BigInt(v.dec)) : v?.kind === 'bool' ? Number(v.value) : undefined;
  }

  bytes(path: string): Uint8Array | undefined {
    const n = this.field(path);
    return n ? readBytes(this.source, n.offset, n.size) : undefined;
  }

  /** Evidence pointing at a field of this section. */
  at(path: string, says: string): Evidence {
    return { section: this.idstr, field: path, offset: this.field(path)?.offset, says };
  }

  /** Evidence pointing at the section as a whole. */
  here(says: string): Evidence {
    return { section: this.idstr, offset: this.element.offset, says };
  }

  /** The PCI config space the section carries: a "pci config" field, or inside a virtio-pci blob. */
  get pci(): PciConfigFacts | undefined {
    if (this.pciFacts === undefined) {
      const node = this.pciPath !== undefined ? findNode(this.nodes, (n) => n.type === 'pci config' && n.size >= 256) : undefined;
      const config = node ? readBytes(this.source, node.offset, node.size) : this.virtio?.pciConfig;
      this.pciFacts = config ? parsePciConfig(config) : null;
    }
    return this.pciFacts ?? undefined;
  }

  /** The values of a virtio-pci device's state blob (the opaque "virtio" field). */
  get virtio(): VirtioValues | undefined {
    if (this.virtioState === undefined) {
      const blob = findNode(this.nodes, (n) => n.type === 'virtio');
      this.virtioState = (blob && virtioValues(readBytes(this.source, blob.offset, blob.size))) ?? null;
    }
    return this.virtioState ?? undefined;
  }

  /** Page `page` of the RAM block "<pciPath>/<name>" as the destination would hold it, if the block exists. */
  blockPage(name: string, page = 0): Uint8Array | undefined {
    const index = this.model.ramBlocks.findIndex((b) => b.id === `${this.pciPath}/${name}`);
    return index >= 0 ? readGuestPage(this.source, this.model, index, page).bytes : undefined;
  }

  /**
   * RAM blocks this device owns: "<path>/<name>", keyed by name ("e1000.rom", "vga.vram").
   * `global` names blocks old machine types register without the device path (a VGA's
   * "vga.vram" with global-vmstate, pc-i440fx-2.x); they count when the path-scoped one is absent.
   */
  ownBlocks(global: readonly string[] = []): Map<string, RamBlock> {
    const out = new Map<string, RamBlock>();
    if (!this.pciPath) return out;
    const prefix = this.pciPath + '/';
    for (const b of this.model.ramBlocks) if (b.id.startsWith(prefix) && !b.id.slice(prefix.length).includes('/')) out.set(b.id.slice(prefix.length), b);
    for (const name of global) {
      const b = this.model.ramBlocks.find((x) => x.id === name);
      if (b && !out.has(name)) out.set(name, b);
    }
    return out;
  }
}

function findNode(nodes: FieldNode[], test: (n: FieldNode) => boolean): FieldNode | undefined {
  for (const n of nodes) {
    if (test(n)) return n;
    const inner = n.children && findNode(n.children, test);
    if (inner) return inner;
  }
  return undefined;
}
