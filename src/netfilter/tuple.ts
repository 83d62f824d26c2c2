/**
 * Conntrack tuples read straight from packet bytes: (protocol, src, dst, sport, dport) for TCP/UDP, and for ICMP
 * echo (src, dst, id, type) with the id in `sport` and the ICMP type in `dport`, so one hash and one comparison
 * serve every protocol. This mirrors the kernel's nf_conntrack_tuple, where the ICMP id sits in src.u.icmp.id and
 * the type in dst.u.icmp.type, and inverting an echo request tuple turns type 8 into 0 but keeps the id.
 *
 * Offsets into the IPv4 header and the L4 headers are fixed (RFC 791, RFC 9293, RFC 768, RFC 792); the caller
 * passes the IPv4 header offset and the end of the frame, nothing here allocates.
 */

import { readU16, readU32 } from '../../codecs/bytes.js';

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROB = 12;

// IPv4 header fields used here (RFC 791).
const IP_TOTAL_LEN = 2,
  IP_FRAG = 6,
  IP_PROTO = 9,
  IP_SRC = 12,
  IP_DST = 16;
const IP_FRAG_MASK = 0x3fff; // MF + fragment offset

/** What `readTuple` found in a packet. */
export const TUPLE_OK = 0;
/** An ICMP error (dest unreachable, time exceeded, ...): `inner` holds the embedded packet's tuple. */
export const TUPLE_ICMP_ERROR = 1;
/** Too short, a fragment, or an ICMP type conntrack cannot track: the packet is INVALID. */
export const TUPLE_INVALID = 2;

/** A mutable tuple; reused, never allocated per packet. */
export class CtTuple {
  proto = 0;
  src = 0;
  dst = 0;
  /** TCP/UDP source port; ICMP echo id. */
  sport = 0;
  /** TCP/UDP destination port; ICMP type. */
  dport = 0;

  set(proto: number, src: number, dst: number, sport: number, dport: number): this {
    this.proto = proto;
    this.src = src;
    this.dst = dst;
    this.sport = sport;
    this.dport = dport;
    return this;
  }

  copyFrom(t: CtTuple): this {
    return this.set(t.proto, t.src, t.dst, t.sport, t.dport);
  }

  equals(t: CtTuple): boolean {
    return (
      this.src === t.src &&
      this.dst === t.dst &&
      this.sport === t.sport &&
      this.dport === t.dport &&
      this.proto === t.proto
    );
  }
}

/** The reply type of a trackable ICMP query type, or -1 (RFC 792: echo, timestamp, info, address mask). */
export function icmpInverseType(type: number): number {
  switch (type) {
    case ICMP_ECHO_REQUEST:
      return ICMP_ECHO_REPLY;
    case ICMP_ECHO_REPLY:
      return ICMP_ECHO_REQUEST;
    case 13:
      return 14;
    case 14:
      return 13;
    case 15:
      return 16;
    case 16:
      return 15;
    case 17:
      return 18;
    case 18:
      return 17;
    default:
      return -1;
  }
}

/** True for the ICMP types the kernel treats as errors about an embedded packet (nf_conntrack_icmpv4_error). */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROB
  );
}

/** Write the inverse of `t` into `out` (reply direction): addresses and ports swapped, ICMP type inverted. */
export function invertTuple(t: CtTuple, out: CtTuple): CtTuple {
  if (t.proto === PROTO_ICMP) return out.set(PROTO_ICMP, t.dst, t.src, t.sport, icmpInverseType(t.dport));
  return out.set(t.proto, t.dst, t.src, t.dport, t.sport);
}

/**
 * Read the tuple of the IPv4 packet at `l3` (bytes up to `end`). For ICMP errors also reads the embedded
 * packet's tuple into `inner` (as it appears inside, not inverted). Returns TUPLE_OK / TUPLE_ICMP_ERROR /
 * TUPLE_INVALID. Protocols other than TCP/UDP/ICMP get ports 0 (the kernel's generic tracker).
 */
export function readTuple(b: Uint8Array, l3: number, end: number, out: CtTuple, inner: CtTuple): number {
  if (end - l3 < 20) return TUPLE_INVALID;
  const ihl = (b[l3]! & 0x0f) << 2;
  const total = readU16(b, l3 + IP_TOTAL_LEN);
  if (ihl < 20 || total < ihl || l3 + total > end) return TUPLE_INVALID;
  // The kernel reassembles before conntrack (nf_defrag_ipv4); this emulator does not, so fragments are INVALID.
  if ((readU16(b, l3 + IP_FRAG) & IP_FRAG_MASK) !== 0) return TUPLE_INVALID;
  const proto = b[l3 + IP_PROTO]!;
  const src = readU32(b, l3 + IP_SRC);
  const dst = readU32(b, l3 + IP_DST);
  const l4 = l3 + ihl;
  const l4end = l3 + total;
  if (proto === PROTO_TCP || proto === PROTO_UDP) {
    if (l4end - l4 < (proto === PROTO_TCP ? 20 : 8)) return TUPLE_INVALID;
    out.set(proto, src, dst, readU16(b, l4), readU16(b, l4 + 2));
    return TUPLE_OK;
  }
  if (proto === PROTO_ICMP) {
    if (l4end - l4 < 8) return TUPLE_INVALID;
    const type = b[l4]!;
    if (isIcmpError(type)) {
      out.set(proto, src, dst, 0, type);
      return readInnerTuple(b, l4 + 8, l4end, inner) ? TUPLE_ICMP_ERROR : TUPLE_INVALID;
    }
    if (icmpInverseType(type) < 0) return TUPLE_INVALID;
    out.set(proto, src, dst, readU16(b, l4 + 4), type);
    return TUPLE_OK;
  }
  out.set(proto, src, dst, 0, 0);
  return TUPLE_OK;
}

/** Tuple of the packet embedded in an ICMP error: IPv4 header plus at least 8 bytes of L4 (RFC 792). */
function readInnerTuple(b: Uint8Array, o: number, end: number, inner: CtTuple): boolean {
  if (end - o < 20) return false;
  const ihl = (b[o]! & 0x0f) << 2;
  if (ihl < 20 || end - o < ihl + 8) return false;
  const proto = b[o + IP_PROTO]!;
  const src = readU32(b, o + IP_SRC);
  const dst = readU32(b, o + IP_DST);
  const l4 = o + ihl;
  if (proto === PROTO_TCP || proto === PROTO_UDP) inner.set(proto, src, dst, readU16(b, l4), readU16(b, l4 + 2));
  else if (proto === PROTO_ICMP) {
    const type = b[l4]!;
    if (icmpInverseType(type) < 0) return false; // an error about an error is not tracked
    inner.set(proto, src, dst, readU16(b, l4 + 4), type);
  } else inner.set(proto, src, dst, 0, 0);
  return true;
}

/**
 * 30-bit hash of a tuple in a zone (a small integer, so a Map keyed on it stays in V8's fast Smi path).
 * Multiply-xorshift mixing; collisions are resolved by chains in the conntrack table.
 */
export function hashTuple(zone: number, proto: number, src: number, dst: number, sport: number, dport: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ ((sport << 16) | dport), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ ((proto << 16) | zone), 0x165667b1);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}
