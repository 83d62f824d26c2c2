/**
 * A path recipe: everything one packet's walk did, from the link it was transmitted on to the host that took it
 * in, reduced to what a later packet with the same headers needs redone (fast-path.ts replays it):
 *
 *   - the byte program, in order: frame window moves (Ethernet pulled, padding trimmed, VXLAN decapsulated),
 *     constant header writes (Ethernet headers, OVS set_field eth_dst), TTL decrements, NAT through a conntrack
 *     entry's binding, VXLAN encapsulation with the host's next IP ID, and capture records at their time offsets;
 *   - side effects that no step reads, applied in one batch: br0 flow counters, iptables rule and policy
 *     counters, interface counters, conntrack lookups and timeout refreshes (at their time offsets);
 *   - guards: the conntrack entries the walk depended on, with the state they had; the recipe only applies while
 *     each is unchanged and no conntrack table it touched has an expiry due before the walk ends;
 *   - the hand-off: the stack, interface and offset at which the packet reached a host's local delivery (sockets,
 *     ICMP echo), which runs live.
 *
 * Byte counts, offsets and time offsets are constants because the cache key fixes every header field a walk
 * decides on, including the frame and IP lengths.
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Counted, CountedPort } from '../path-observer/counted.js';
import type { GuardedEntry, GuardedTable } from '../path-observer/guarded.js';
import type { LocalDelivery } from '../path-observer/path-observer.js';

// Byte-program opcodes. Arguments: a..d in `args` (ARGS per step), objects in `refs`/`refs2`.
/** start += a; end = start + b. */
export const OP_WINDOW = 0;
/** Copy refs[i] (a Uint8Array of constant bytes) to start + a. */
export const OP_WRITE_BYTES = 1;
/** Stack forwarding TTL decrement of the IPv4 header at start + a (decrementIpv4Ttl). */
export const OP_DEC_TTL_STACK = 2;
/** OVS dec_ttl of the IPv4 header at start + a (decrementIpv4Ttl, as the bridge does). */
export const OP_DEC_TTL_OVS = 3;
/** natPacket(data, start + a, end, refs[i] entry, dir b, manip c). */
export const OP_NAT = 4;
/** VXLAN encapsulation: refs[i] template, refs2[i] stack (IP ID), VNI a, UDP source port b; then start += 14. */
export const OP_ENCAP = 5;
/** Capture record: tap a, direction b (0 inbound, 1 outbound), comment refs[i], at time offset c ns. */
export const OP_CAPTURE = 6;

export const ARGS = 4;

/** What the packet's metadata was when it reached the hand-off (restored before local delivery). */
export interface HandoffMetadata {
  inPort: number;
  reg0: number;
  reg1: number;
  reg2: number;
  tunId: number;
  tunSrc: number;
  tunDst: number;
  pktMark: number;
  ctState: number;
  ctZone: number;
  ctMark: number;
  recirc: number;
  ctEntry: object | null;
}

export class PathRecipe {
  /** The emulation's configuration version the walk ran under (path-observer/config-version.ts). */
  version = 0;

  // The byte program.
  n = 0;
  ops: number[] = [];
  args: number[] = [];
  refs: unknown[] = [];
  refs2: unknown[] = [];

  // Batched side effects.
  // One list per kind of counted object, so each replay loop sees one class.
  ovsRules: Counted[] = [];
  ovsBytes: number[] = [];
  nfRules: Counted[] = [];
  nfRuleBytes: number[] = [];
  nfChains: Counted[] = [];
  nfChainBytes: number[] = [];
  ifTx: CountedPort[] = [];
  ifRx: CountedPort[] = [];
  /** Conntrack lookups in walk order: table, entry, timeout class to refresh (-1: none), TCP "ignore", time. */
  ctTables: GuardedTable[] = [];
  ctEntries: GuardedEntry[] = [];
  ctClasses: number[] = [];
  ctIgnored: boolean[] = [];
  ctTimes: number[] = [];

  // Guards.
  guardEntries: GuardedEntry[] = [];
  guardStatus: number[] = [];
  guardTcpState: number[] = [];
  guardMark: number[] = [];
  /** Distinct conntrack tables the walk looked into: none may have an expiry due before the walk ends. */
  guardTables: GuardedTable[] = [];
  /** The L4 checksum was verified on the way (conntrack in PREROUTING or OVS ct()): replay checks it up front. */
  verifyL4 = false;

  /** Virtual time the walk took, ns. */
  duration = 0;

  // The hand-off.
  handoffStack: LocalDelivery | null = null;
  handoffIface: object | null = null;
  /** IPv4 header offset from the frame start at the hand-off. */
  handoffL3 = 0;
  handoffMeta: HandoffMetadata | null = null;
}

/** The metadata of `pkt` as a hand-off snapshot. */
export function snapshotMetadata(pkt: PacketBuffer): HandoffMetadata {
  return {
    inPort: pkt.inPort,
    reg0: pkt.reg0,
    reg1: pkt.reg1,
    reg2: pkt.reg2,
    tunId: pkt.tunId,
    tunSrc: pkt.tunSrc,
    tunDst: pkt.tunDst,
    pktMark: pkt.pktMark,
    ctState: pkt.ctState,
    ctZone: pkt.ctZone,
    ctMark: pkt.ctMark,
    recirc: pkt.recirc,
    ctEntry: pkt.ctEntry,
  };
}
