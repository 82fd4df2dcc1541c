import { guestMemoryReader } from '../../shared/memory/guest-reader';
import { spiceChannels, type SpiceChannels } from '../../shared/display/spice-channels';
import type { OpenedImage } from '../services/open-image';

/** A libvirt save's own domain XML (it names the virtio-serial ports), if the image is one. */
export function domainXmlOf(img: OpenedImage): string | undefined {
  const save = img.layers.find((l) => l.kind === 'libvirt-save');
  return save?.kind === 'libvirt-save' ? save.xml?.text : undefined;
}

/** The SPICE vmchannel state of an opened image: virtio-serial ports (named from a libvirt save's XML) and usb-redir devices. */
export function spiceChannelsOfImage(img: OpenedImage): SpiceChannels {
  return spiceChannels(img.source, img.model, { guest: guestMemoryReader(img.source, img.model), domainXml: domainXmlOf(img) });
}
