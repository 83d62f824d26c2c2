/**
 * What the hops of a walk tell an observer of it — the fast path's recorder (src/fastpath/) is the one that
 * listens — so that a later packet with the same headers can be given the same treatment without walking. The
 * data path knows only this interface, as Open vSwitch's translation knows only `struct xlate_cache` and appends
 * XC_* entries to the one its caller passed in (`xlate_in->xcache`), never what the cache does with them.
 *
 * The events, in walk order:
 *   - veto: the hop did something a replay cannot redo (a drop, a new or cloned packet, a new or changing
 *     conntrack entry, a random choice...): the observer stops listening to this walk;
 *   - the byte program: window moves, constant writes, TTL decrements, NAT, VXLAN encapsulation, capture records;
 *   - counted objects (flows, iptables rules and policies, interfaces) and conntrack lookups and guards;
 *   - the hand-off: the packet reached a host's local delivery, which runs live.
 *
 * Events about a packet other than the one being observed veto (`caughtUp` in the recorder). Nothing here is
 * per packet: hops find the observer through their emulation's PathWatch (path-watch.ts).
 */

import type { VxlanEncapTemplate } from '../../codecs/vxlan-encap.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Counted, CountedPort } from './counted.js';
import type { GuardedEntry, GuardedTable } from './guarded.js';

/** Where a walk reached a host's local delivery (a Stack): a replay hands the packet over there. */
export interface LocalDelivery {
  deliverLocal(iface: object, pkt: PacketBuffer, l3: number): void;
}

/** The host whose IP IDs an encapsulation takes (the node kernel behind vxlan0). */
export interface IpIdSource {
  nextIpId(): number;
}

export interface PathObserver {
  /** Something a replay cannot reproduce happened: the observation of this walk stops here. */
  veto(reason: string): void;

  // ---- the byte program

  /** A capture point recorded the frame (`comment` is the pcapng comment). */
  capture(tap: number, direction: 'inbound' | 'outbound', pkt: PacketBuffer, comment: string | undefined): void;
  /** The frame window moved (Ethernet pulled, padding trimmed, VXLAN decapsulated). */
  window(pkt: PacketBuffer): void;
  /** Bytes [at, at + length) were set to values the frame's headers determine (an Ethernet header, set_field eth_dst). */
  wrote(pkt: PacketBuffer, at: number, length: number): void;
  /** The forwarding stack decremented the TTL of the IPv4 header at l3 (ip_decrease_ttl). */
  stackDecTtl(pkt: PacketBuffer, l3: number): void;
  /** OVS dec_ttl on the IPv4 header at l3. */
  ovsDecTtl(pkt: PacketBuffer, l3: number): void;
  /** natPacket(…, e, dir, manip) is about to rewrite the IPv4 header at l3 through `e`'s binding. */
  nat(pkt: PacketBuffer, l3: number, e: GuardedEntry, dir: number, manip: number): void;
  /** vxlan0 is about to encapsulate the frame with `template`, taking the next IP ID of `ipIds`. */
  encap(pkt: PacketBuffer, template: VxlanEncapTemplate, vni: number, srcPort: number, ipIds: IpIdSource): void;
  /** The encapsulation is done (the window is where it leaves it). */
  encapsulated(pkt: PacketBuffer): void;

  // ---- counters

  /** A br0 flow matched (ofproto rule_dpif_credit_stats). */
  flowCounted(flow: Counted, bytes: number): void;
  /** An iptables rule matched. */
  ruleCounted(rule: Counted, bytes: number): void;
  /** A packet fell off the end of a built-in chain (its policy counters). */
  chainCounted(chain: Counted, bytes: number): void;
  /** An interface transmitted the frame. */
  transmitted(port: CountedPort): void;
  /** An interface received the frame. */
  received(port: CountedPort): void;

  // ---- conntrack

  /** The walk depends on `e` staying as it is now. */
  guard(e: GuardedEntry): void;
  /** A lookup in `table` found `e`; `cls` is the timeout class refreshed (-1: none), `ignored` a TCP "ignore". */
  ctFound(table: GuardedTable, e: GuardedEntry, cls: number, ignored: boolean): void;
  /** The L4 checksum was verified on the way (conntrack in PREROUTING or OVS ct()). */
  checksummed(): void;

  // ---- the end

  /** The packet reached local delivery on `host` via `iface`, IPv4 header at l3: the observed walk ends here. */
  handoff(host: LocalDelivery, iface: object, pkt: PacketBuffer, l3: number): void;
}
