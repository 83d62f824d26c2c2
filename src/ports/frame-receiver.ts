import type { PacketBuffer } from '../buffer/packet-buffer.js';

/** Anything a frame can be handed to across a link: an interface, a bridge port, an L2 segment. */
export interface FrameReceiver {
  /** Take ownership of `pkt` (the frame is data[start,end), Ethernet first). */
  receiveFrame(pkt: PacketBuffer): void;
}
