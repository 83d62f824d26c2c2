/**
 * NAT on conntrack entries and packet bytes, as Linux nf_nat does it:
 *
 * - `setupNat` (nf_nat_setup_info) binds a connection on its first packet: it rewrites the entry's reply tuple so
 *   that replies are recognised, choosing a unique tuple (get_unique_tuple). SNAT/MASQUERADE keep the source port
 *   when no other connection uses the resulting tuple; otherwise (and always with --random-fully) the port is
 *   searched from a random offset in 1-511, 600-1023 or 1024-65535 (by the original port's class) or in the given
 *   range, at most 128 probes, halving the window and re-drawing the offset when a round fails
 *   (nf_nat_l4proto_unique_tuple). The offset comes from the caller's seeded generator, so runs repeat. DNAT
 *   with a port writes that port (the first of a range).
 * - `natPacket` (nf_nat_packet / nf_nat_manip_pkt) rewrites a packet of a bound connection: the source in
 *   SRC-manip hooks (POSTROUTING, INPUT), the destination in DST-manip hooks (PREROUTING, OUTPUT), replies
 *   reversed. Checksums are patched incrementally (RFC 1624): IPv4 header, TCP (when the whole header is present)
 *   and UDP over the pseudo-header and ports (UDP checksum 0 stays 0; a result of 0 is sent as 0xffff), the ICMP
 *   echo id.
 * - `icmpErrorTranslate` (nf_nat_icmp_reply_translation) rewrites a RELATED ICMP error: the quoted header inside
 *   (so it matches what the receiver sent), a full ICMP checksum, then the outer addresses.
 */

import { readI32, readU16, readU32, writeU16, writeU32 } from '../../codecs/bytes.js';
import { checksumUpdate16, checksumUpdate32, finishChecksum, sum16 } from '../../codecs/checksum.js';
import { udpChecksumUpdate16, udpChecksumUpdate32 } from '../../codecs/udp.js';
import type { Conntrack, ConntrackEntry } from './conntrack.js';
import { IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_NAT_MASK, IPS_SRC_NAT, IPS_SRC_NAT_DONE } from './conntrack.js';
import { CtTuple, icmpInverseType, invertTuple, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './tuple.js';

/** nf_nat_manip_type. */
export const MANIP_SRC = 0;
export const MANIP_DST = 1;
export type ManipType = typeof MANIP_SRC | typeof MANIP_DST;

/** A NAT target range (nf_nat_range2): addresses, optional ports, flags. */
export interface NatRange {
  minIp: number;
  maxIp: number;
  /** Ports given (NF_NAT_RANGE_PROTO_SPECIFIED). */
  protoSpecified: boolean;
  minPort: number;
  maxPort: number;
  /** --random-fully (NF_NAT_RANGE_PROTO_RANDOM_FULLY). */
  randomFully: boolean;
}

/**
 * The range of --to-destination/--to-source ip[-ip][:port[-port]] or OVS nat(dst=...): addresses as uint32, ports
 * only when `portMin` is given (one port when `portMax` is not).
 */
export function natRange(
  minIp: number,
  maxIp: number,
  portMin: number | undefined,
  portMax: number | undefined,
  randomFully: boolean,
): NatRange {
  return {
    minIp: minIp >>> 0,
    maxIp: maxIp >>> 0,
    protoSpecified: portMin !== undefined,
    minPort: portMin ?? 0,
    maxPort: portMax ?? portMin ?? 0,
    randomFully,
  };
}

/** A 32-bit random source (the netfilter instance's seeded generator). */
export interface RandomSource {
  nextU32(): number;
}

const MAX_ATTEMPTS = 128;

const curr = new CtTuple();
const cand = new CtTuple();
const inv = new CtTuple();
const target = new CtTuple();

/** True when the connection's binding for this manip type is set up (IPS_{SRC,DST}_NAT_DONE). */
export function natInitialized(e: ConntrackEntry, manip: ManipType): boolean {
  return (e.status & (manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE)) !== 0;
}

/** nf_nat_alloc_null_binding: no rule matched; the manip is done and changes nothing. */
export function setNullBinding(e: ConntrackEntry, manip: ManipType): void {
  e.status |= manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
}

/** nf_nat_setup_info: bind `e` (unconfirmed) for `manip` to `range`. */
export function setupNat(ct: Conntrack, e: ConntrackEntry, manip: ManipType, range: NatRange, rng: RandomSource): void {
  invertTuple(e.reply, curr);
  uniqueTuple(ct, e, manip, range, rng);
  if (!cand.equals(curr)) {
    invertTuple(cand, e.reply);
    e.status |= manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  }
  setNullBinding(e, manip);
}

/** get_unique_tuple: the new "original-side" tuple in `cand`. */
function uniqueTuple(ct: Conntrack, e: ConntrackEntry, manip: ManipType, r: NatRange, rng: RandomSource): void {
  // 1) SNAT: keep the tuple when it is already in range and unused.
  if (manip === MANIP_SRC && !r.randomFully && inRange(curr, manip, r) && !used(ct, e, curr)) {
    cand.copyFrom(curr);
    return;
  }
  // 2) The address: one address, or a stable pick from the range for this src/dst pair.
  cand.copyFrom(curr);
  const span = (r.maxIp - r.minIp) >>> 0;
  const ip =
    span === 0
      ? r.minIp
      : (r.minIp + ((Math.imul(curr.src ^ Math.imul(curr.dst, 0x9e3779b1), 0x85ebca6b) >>> 0) % (span + 1))) >>> 0;
  if (manip === MANIP_SRC) cand.src = ip;
  else cand.dst = ip;
  // 3) Keep the port when in range and unique.
  if (!r.randomFully) {
    if (r.protoSpecified) {
      if (portInRange(cand, manip, r) && (r.minPort === r.maxPort || !used(ct, e, cand))) return;
    } else if (!used(ct, e, cand)) {
      return;
    }
  }
  uniquePort(ct, e, manip, r, rng);
}

/** nf_nat_l4proto_unique_tuple on `cand`. */
function uniquePort(ct: Conntrack, e: ConntrackEntry, manip: ManipType, r: NatRange, rng: RandomSource): void {
  const proto = cand.proto;
  let min: number;
  let size: number;
  const icmp = proto === PROTO_ICMP;
  if (icmp) {
    if (r.protoSpecified) {
      min = r.minPort;
      size = r.maxPort - r.minPort + 1;
    } else {
      min = 0;
      size = 65536;
    }
  } else if (proto === PROTO_TCP || proto === PROTO_UDP) {
    if (!r.protoSpecified) {
      if (manip === MANIP_DST) return; // a destination port is never changed unless asked
      const port = manip === MANIP_SRC ? cand.sport : cand.dport;
      if (port < 512) {
        min = 1;
        size = 511;
      } else if (port < 1024) {
        min = 600;
        size = 424;
      } else {
        min = 1024;
        size = 64512;
      }
    } else {
      min = r.minPort;
      size = r.maxPort - r.minPort + 1;
    }
  } else {
    return;
  }
  let off = r.randomFully || manip !== MANIP_DST ? rng.nextU32() & 0xffff : 0;
  let attempts = Math.min(size, MAX_ATTEMPTS);
  for (;;) {
    for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
      const port = min + (off % size);
      if (icmp || manip === MANIP_SRC) cand.sport = port;
      else cand.dport = port;
      if (!used(ct, e, cand)) return;
    }
    if (attempts >= size || attempts < 16) return;
    attempts >>>= 1;
    off = rng.nextU32() & 0xffff;
  }
}

function inRange(t: CtTuple, manip: ManipType, r: NatRange): boolean {
  const ip = manip === MANIP_SRC ? t.src : t.dst;
  if (ip < r.minIp || ip > r.maxIp) return false;
  return !r.protoSpecified || portInRange(t, manip, r);
}

function portInRange(t: CtTuple, manip: ManipType, r: NatRange): boolean {
  const port = t.proto === PROTO_ICMP || manip === MANIP_SRC ? t.sport : t.dport;
  return port >= r.minPort && port <= r.maxPort;
}

/** nf_nat_used_tuple: would the reply tuple for `t` clash with another connection? */
function used(ct: Conntrack, e: ConntrackEntry, t: CtTuple): boolean {
  invertTuple(t, inv);
  return ct.isTaken(inv, e.zone, e);
}

/**
 * nf_nat_packet: apply the connection's binding to a packet travelling in `dir` at a hook of type `manip`.
 * Returns true when the packet was rewritten.
 */
export function natPacket(
  b: Uint8Array,
  l3: number,
  end: number,
  e: ConntrackEntry,
  dir: number,
  manip: ManipType,
): boolean {
  let bit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir === 1) bit ^= IPS_NAT_MASK;
  if (!(e.status & bit)) return false;
  // The values manipPacket would take from the inverse of the other direction's tuple, read without copying: a
  // tuple's addresses are doubles, and a copy passed through calls V8 does not inline is boxed per packet.
  const x = e.tuple(dir ^ 1);
  const icmp = x.proto === PROTO_ICMP;
  const newIp = (manip === MANIP_SRC ? x.dst : x.src) | 0;
  manipAddress(b, l3, end, newIp, icmp ? x.sport : x.dport, icmp ? icmpInverseType(x.dport) : x.sport, manip);
  return true;
}

/**
 * nf_nat_ipv4_manip_pkt: set the source (SRC) or destination (DST) address and port of the IPv4 packet at `l3`
 * to `t`'s, patching every checksum that covers them. For ICMP the echo id becomes `t.sport` (either manip).
 */
export function manipPacket(b: Uint8Array, l3: number, end: number, t: CtTuple, manip: ManipType): void {
  manipAddress(b, l3, end, (manip === MANIP_SRC ? t.src : t.dst) | 0, t.sport, t.dport, manip);
}

/**
 * manipPacket with the tuple's fields passed as integers: `newIp` (int32 or uint32) replaces the source (SRC) or
 * destination; TCP/UDP take `sport` (SRC) or `dport` (DST) as the new port, ICMP echo takes `sport` as its id.
 */
function manipAddress(
  b: Uint8Array,
  l3: number,
  end: number,
  newIpAny: number,
  sport: number,
  dport: number,
  manip: ManipType,
): void {
  const ihl = (b[l3]! & 0x0f) << 2;
  const proto = b[l3 + 9]!;
  const l4 = l3 + ihl;
  const addrOff = l3 + (manip === MANIP_SRC ? 12 : 16);
  // Addresses as int32 (the checksum updates only use their 16-bit halves): a uint32 >= 2^31 passed to a call
  // that is not inlined would be a heap number per packet.
  const oldIp = readI32(b, addrOff);
  const newIp = newIpAny | 0;
  if (proto === PROTO_TCP || proto === PROTO_UDP) {
    const portOff = l4 + (manip === MANIP_SRC ? 0 : 2);
    const oldPort = readU16(b, portOff);
    const newPort = manip === MANIP_SRC ? sport : dport;
    writeU16(b, portOff, newPort);
    if (proto === PROTO_TCP) {
      // In a quoted header only 8 bytes of TCP are guaranteed; the checksum is updated when present (tcp_manip_pkt).
      if (l4 + 20 <= end) {
        let c = readU16(b, l4 + 16);
        c = checksumUpdate32(c, oldIp, newIp);
        c = checksumUpdate16(c, oldPort, newPort);
        writeU16(b, l4 + 16, c);
      }
    } else {
      let c = readU16(b, l4 + 6);
      c = udpChecksumUpdate32(c, oldIp, newIp);
      c = udpChecksumUpdate16(c, oldPort, newPort);
      writeU16(b, l4 + 6, c);
    }
  } else if (proto === PROTO_ICMP && icmpInverseType(b[l4]!) >= 0) {
    const oldId = readU16(b, l4 + 4);
    if (oldId !== sport) {
      writeU16(b, l4 + 4, sport);
      writeU16(b, l4 + 2, checksumUpdate16(readU16(b, l4 + 2), oldId, sport));
    }
  }
  writeU32(b, addrOff, newIp);
  writeU16(b, l3 + 10, checksumUpdate32(readU16(b, l3 + 10), oldIp, newIp));
}

/**
 * nf_nat_icmp_reply_translation for a RELATED ICMP error travelling in `dir` at a hook of type `manip`: rewrite
 * the quoted packet back to what its sender saw (the opposite manip, against the other direction's tuple), recompute
 * the ICMP checksum, then rewrite the outer addresses. Returns true when rewritten.
 */
export function icmpErrorTranslate(
  b: Uint8Array,
  l3: number,
  end: number,
  e: ConntrackEntry,
  dir: number,
  manip: ManipType,
): boolean {
  let bit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir === 1) bit ^= IPS_NAT_MASK;
  if (!(e.status & bit)) return false;
  const ihl = (b[l3]! & 0x0f) << 2;
  const l4 = l3 + ihl;
  const innerL3 = l4 + 8;
  const other = e.tuple(dir ^ 1);
  manipPacket(b, innerL3, end, other, manip === MANIP_SRC ? MANIP_DST : MANIP_SRC);
  const icmpLen = readU16(b, l3 + 2) - ihl;
  writeU16(b, l4 + 2, 0);
  writeU16(b, l4 + 2, finishChecksum(sum16(b, l4, icmpLen)));
  // Outer: only the address (the ICMP error header has no id to change).
  invertTuple(other, target);
  const addrOff = l3 + (manip === MANIP_SRC ? 12 : 16);
  const oldIp = readU32(b, addrOff);
  const newIp = manip === MANIP_SRC ? target.src : target.dst;
  writeU32(b, addrOff, newIp);
  writeU16(b, l3 + 10, checksumUpdate32(readU16(b, l3 + 10), oldIp, newIp));
  return true;
}
