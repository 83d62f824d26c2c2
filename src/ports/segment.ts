/**
 * An L2 segment: the underlay network the node NICs, macvlans and the gateway sit on (an Azure VNet subnet in
 * the built-in cluster). It delivers unicast frames by destination MAC and floods broadcasts to every other
 * port, like a learning switch whose table is filled when interfaces attach.
 */

import { macToString, readI32, readMac } from '../../codecs/bytes.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Runtime } from '../runtime/runtime.js';
import type { FrameReceiver } from './frame-receiver.js';
import type { NetInterface } from './net-interface.js';
import { HOP_NS } from '../runtime/clock.js';

/** A station's plug: frames the station sends come in here; frames for it go to `station`. */
class SegmentPort implements FrameReceiver {
  constructor(
    readonly segment: Segment,
    public station: FrameReceiver,
    readonly name: string,
    readonly mac: number,
  ) {}
  receiveFrame(pkt: PacketBuffer): void {
    this.segment.forward(pkt, this);
  }
}

export class Segment {
  private readonly ports: SegmentPort[] = [];
  /** Stations by the low 32 bits of their MAC as int32 (a 48-bit MAC is a heap number as a Map key). */
  private readonly byMacLow = new Map<number, SegmentPort[]>();

  constructor(
    readonly runtime: Runtime,
    readonly name: string,
  ) {}

  /** Plug an interface in: its transmissions go to the segment and frames for its MAC come to it. */
  attach(iface: NetInterface): void {
    iface.peer = this.attachStation(iface.mac, iface, iface);
  }

  /** Plug in any receiver under `mac` (a macvlan behind its parent NIC); returns where it sends frames. */
  attachStation(mac: number, station: FrameReceiver, owner: NetInterface): FrameReceiver {
    this.runtime.config.changed();
    const p = new SegmentPort(this, station, owner.owner.name, mac);
    this.ports.push(p);
    const low = mac | 0;
    const list = this.byMacLow.get(low);
    if (list) list.push(p);
    else this.byMacLow.set(low, [p]);
    return p;
  }

  /**
   * Deliver what was `old`'s to `next` from now on, under the same MAC (a replay puts its capture where a host
   * was). Returns the plug `next` transmits into, or null when `old` is not attached here.
   */
  replaceStation(old: FrameReceiver, next: FrameReceiver): FrameReceiver | null {
    const p = this.ports.find((x) => x.station === old);
    if (!p) return null;
    this.runtime.config.changed();
    p.station = next;
    return p;
  }

  forward(pkt: PacketBuffer, from: SegmentPort): void {
    const rt = this.runtime;
    rt.clock.advance(HOP_NS.wire);
    const d = pkt.data,
      s = pkt.start;
    const dstHi = (d[s]! << 8) | d[s + 1]!;
    const dstLow = readI32(d, s + 2);
    if (dstHi !== 0xffff || dstLow !== -1) {
      const list = this.byMacLow.get(dstLow);
      let to: SegmentPort | undefined;
      if (list)
        for (let i = 0; i < list.length; i++) if (Math.floor(list[i]!.mac / 0x100000000) === dstHi) to = list[i];
      if (!to || to === from)
        return rt.drop(pkt, this.name, `no station with MAC ${macToString(readMac(d, s))} on ${this.name}`);
      return to.station.receiveFrame(pkt);
    }
    let last: SegmentPort | undefined;
    for (const p of this.ports) {
      if (p === from) continue;
      if (last) last.station.receiveFrame(rt.clonePacket(pkt, `flooded to ${last.name}`));
      last = p;
    }
    if (last) last.station.receiveFrame(pkt);
    else rt.drop(pkt, this.name, 'broadcast with no other station');
  }
}
