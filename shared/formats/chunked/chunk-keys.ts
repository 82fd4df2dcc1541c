import { hex } from '../../diagnostics';
import { readBe32 } from '../../io/bytes';
import { COMMAND_NAMES } from '../qemu-stream/constants';
import { headerIn } from '../qemu-stream/plausibility';
import { knownChunkType } from './chunk-types';

/**
 * Names chunks as notes refer to them (docs/chunked-container.md §5): one namer per walk,
 * fed every chunk in file order with the first bytes of its data, so PART and ENDS chunks
 * get their section's name and continuations the name of what they continue.
 */
export class ChunkNamer {
  private readonly iterables = new Map<number, string>();
  private readonly parts = new Map<string, number>();
  private commands = 0;
  private lastElement = '';
  private continuations = 0;

  name(type: string, leading: Uint8Array, fileOffset: number, streamOffset: number | undefined): { key: string; detail?: string } {
    const row = knownChunkType(type);
    if (row?.role === 'continuation' || (row?.role === 'after-stream' && this.lastElement === type)) {
      this.continuations++;
      return { key: `${this.lastElement} +${this.continuations}` };
    }
    const named = this.element(type, leading, fileOffset, streamOffset);
    if (row && (row.role === 'element' || row.role === 'after-stream' || row.role === 'unattributed')) {
      this.lastElement = named.key;
      this.continuations = 0;
    }
    return named;
  }

  private element(type: string, leading: Uint8Array, fileOffset: number, streamOffset: number | undefined): { key: string; detail?: string } {
    switch (type) {
      case 'FULL':
      case 'STRT': {
        const h = headerIn(leading, 0);
        if (!h) return { key: `${type} @${hex(fileOffset)}`, detail: 'no readable section header' };
        if (type === 'STRT') this.iterables.set(h.sectionId, h.idstr);
        const detail = `version ${h.versionId}, section id ${h.sectionId}`;
        return type === 'FULL' ? { key: `FULL ${h.idstr}:${h.instanceId}`, detail } : { key: `STRT ${h.idstr}`, detail };
      }
      case 'PART':
      case 'ENDS': {
        const sid = leading.length >= 5 ? readBe32(leading, 1) : -1;
        const idstr = this.iterables.get(sid) ?? `section id ${sid}`;
        if (type === 'ENDS') return { key: `ENDS ${idstr}`, detail: `section id ${sid}` };
        const n = this.parts.get(idstr) ?? 0;
        this.parts.set(idstr, n + 1);
        return { key: `PART ${idstr} ${n}`, detail: `section id ${sid}` };
      }
      case 'CMND': {
        const cmd = leading.length >= 3 ? (leading[1] << 8) | leading[2] : -1;
        return { key: `CMND ${this.commands++}`, detail: COMMAND_NAMES[cmd] ?? `command ${cmd}` };
      }
      case 'CONF': {
        const n = leading.length >= 5 ? readBe32(leading, 1) : 0;
        const machine = n > 0 && n <= 255 && leading.length >= 5 + n ? String.fromCharCode(...leading.subarray(5, 5 + n)) : undefined;
        return { key: 'CONF', detail: machine && `machine type ${machine}` };
      }
      case 'DATA':
        return { key: `DATA @${hex(streamOffset ?? 0)}` };
      default:
        return knownChunkType(type) && type !== 'nOTe' ? { key: type } : { key: `${type} @${hex(fileOffset)}` };
    }
  }
}
