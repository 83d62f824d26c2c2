/**
 * What ports call to record a frame at a capture point. The world holds one CaptureSink (or none, on the fast
 * path); capture/recorder.ts implements it with pcapng + per-interface pcap writers or in memory.
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';

export type Direction = 'inbound' | 'outbound';

export interface CapturePointInfo {
  /** Interface name as Wireshark shows it (`if_name`), unique within a run, e.g. `worker1/tun0`. */
  name: string;
  /** Longer description (`if_description`), e.g. `aro2-...-qt8l7 tun0 10.131.0.1/23 (OVS internal port 2)`. */
  description: string;
  /** Node (host) the point belongs to, or the pseudo-host name (`external`, `gateway`). */
  host: string;
  /** Short role used by pictures and summaries: pod-eth0, veth, tun0, vxlan0, nic, macvlan, external. */
  role: string;
}

export interface CaptureSink {
  /**
   * Declare a capture point; returns its id. Called at build time, not per packet. `order` places the point in
   * listings (points of nodes built later are declared later but listed where a whole cluster would have them).
   */
  register(info: CapturePointInfo, order?: number): number;
  /** Record the frame as it crosses point `id` now. `comment` names the hop and the rule that sent it. */
  record(id: number, direction: Direction, pkt: PacketBuffer, comment: string | undefined): void;
}
