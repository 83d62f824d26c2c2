/**
 * A macvlan on a node's NIC (the egress router's `macvlan0`, pod.network.openshift.io/assign-macvlan): its own
 * MAC on the underlay, frames leaving and arriving through the parent NIC. The parent NIC's capture point sees
 * them too, as `tcpdump -i eth0` on the node does (macvlan transmits via the lower device's queue; received
 * frames pass the lower device's taps before the macvlan handler takes them).
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Runtime } from '../runtime/runtime.js';
import type { FrameReceiver } from './frame-receiver.js';
import type { NetInterface } from './net-interface.js';
import type { Segment } from './segment.js';

export class MacvlanLink implements FrameReceiver {
  /** The capture comment on the parent NIC for frames the macvlan sends (built once, not per frame). */
  private readonly comment: string;
  /** Where the parent's frames go (the segment port), set by attach. */
  private uplink: FrameReceiver | null = null;

  constructor(
    readonly runtime: Runtime,
    /** The macvlan device (in the pod's namespace). */
    readonly device: NetInterface,
    /** The node NIC it sits on. */
    readonly parent: NetInterface,
  ) {
    this.comment = `macvlan ${device.name} of ${device.owner.name}`;
  }

  /** Plug the macvlan into the parent's segment under its own MAC. */
  attach(segment: Segment): void {
    const inbound: FrameReceiver = { receiveFrame: (pkt) => this.fromSegment(pkt) };
    this.uplink = segment.attachStation(this.device.mac, inbound, this.device);
    this.device.peer = this;
  }

  /** The macvlan device transmitted: out through the parent NIC. */
  receiveFrame(pkt: PacketBuffer): void {
    const rt = this.runtime;
    if (this.parent.tap >= 0 && rt.capture) rt.captureFrame(this.parent.tap, 'outbound', pkt, this.comment);
    if (!this.uplink) return rt.drop(pkt, this.device.owner.name, `${this.device.name}: not attached`);
    this.uplink.receiveFrame(pkt);
  }

  private fromSegment(pkt: PacketBuffer): void {
    const rt = this.runtime;
    if (this.parent.tap >= 0 && rt.capture) rt.captureFrame(this.parent.tap, 'inbound', pkt, undefined);
    this.device.receiveFrame(pkt);
  }
}
