import { SectionType } from './constants';
import type { ConfigurationSubsection, StreamElement } from './model';
import { DesyncError, type ParseContext } from './parse-context';
import type { Vmdesc } from './vmdesc';
import { skipVmstate } from './vmstate-measure';

/**
 * QEMU_VM_CONFIGURATION (savevm.c vmstate_configuration): be32 length + machine type name,
 * then optional subsections target-page-bits, capabilities and uuid. The cursor is on the
 * 0x07 byte. Subsections unknown to this reader are skipped with the 10.x vmdesc, which
 * describes the configuration too.
 */
export function readConfiguration(ctx: ParseContext, element: StreamElement, vmdesc: Vmdesc | undefined): void {
  const cur = ctx.cur;
  cur.skip(1);
  const nameLength = cur.be32();
  if (nameLength > 255) {
    throw new DesyncError(cur.pos - 4, 'configuration-name-length', 'a machine type name of at most 255 bytes', `${nameLength} bytes`);
  }
  element.machine = cur.utf8(nameLength);
  element.subsections = [];
  while (cur.peekU8() === SectionType.SUBSECTION) {
    const offset = cur.pos;
    cur.skip(1);
    const name = cur.utf8(cur.u8());
    const version = cur.be32();
    const sub: ConfigurationSubsection = { name, version, offset, length: 0 };
    switch (name) {
      case 'configuration/target-page-bits':
        sub.targetPageBits = cur.be32();
        break;
      case 'configuration/capabilities': {
        const count = cur.be32();
        sub.capabilities = [];
        for (let i = 0; i < count; i++) sub.capabilities.push(cur.utf8(cur.u8()));
        break;
      }
      case 'configuration/uuid': {
        const b = cur.bytes(16);
        sub.uuid = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
        break;
      }
      default: {
        const described = vmdesc?.configuration?.subsections?.find((s) => s.vmsd_name === name);
        if (!described) {
          throw new DesyncError(offset, 'configuration-subsection', 'a known configuration subsection (target-page-bits, capabilities, uuid)', JSON.stringify(name));
        }
        skipVmstate(cur, described);
      }
    }
    sub.length = cur.pos - offset;
    element.subsections.push(sub);
  }
  element.length = cur.pos - element.offset;
}
