/**
 * IPv4 (RFC 791).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Identification        |Flags|      Fragment Offset    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       Source Address                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Destination Address                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Options                    |    Padding    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

import { readI32, readU16, readU32, writeU16, writeU32, type Ipv4Address } from './bytes.js';
import { checksumUpdate16, internetChecksum, sum16 } from './checksum.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ByteView } from './view.js';

export const IPV4_HEADER_LEN = 20;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

const VER_IHL = 0,
  TOS = 1,
  TOTAL_LEN = 2,
  IDENT = 4,
  FLAGS_FRAG = 6,
  TTL = 8,
  PROTO = 9,
  CHECKSUM = 10,
  SRC = 12,
  DST = 16;
const FLAG_DF = 0x4000,
  FLAG_MF = 0x2000,
  FRAG_MASK = 0x1fff;

/** A decoded or to-be-emitted IPv4 header. Fields left undefined on emit are computed or defaulted. */
export interface Ipv4Header {
  dscp?: number;
  ecn?: number;
  /** Total length (header + payload). Computed on emit from the payload length when undefined. */
  totalLength?: number;
  identification?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Fragment offset in 8-byte units. */
  fragmentOffset?: number;
  ttl?: number;
  protocol: number;
  /** Header checksum. Computed on emit when undefined; written as given otherwise. */
  checksum?: number;
  src: Ipv4Address;
  dst: Ipv4Address;
  /** Options bytes (padded to 4 by the sender); kept opaque. */
  options?: Uint8Array;
}

/** Zero-copy view of an IPv4 header inside a larger buffer. Call `check()` before trusting any getter. */
export class Ipv4View extends ByteView {
  /**
   * Verify the header can be read within `end` (exclusive): version, IHL, total length. Returns a Fault with an
   * absolute byte offset, or undefined. Does not verify the checksum (see `checksumValid`).
   */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset;
    if (end - o < IPV4_HEADER_LEN) return fault('ipv4', 'truncated', o, `have ${Math.max(0, end - o)} of 20 bytes`);
    const version = this.bytes[o]! >>> 4;
    if (version !== 4) return fault('ipv4', 'bad-version', o, `version=${version}`);
    const ihl = this.headerLength;
    if (ihl < IPV4_HEADER_LEN) return fault('ipv4', 'bad-ihl', o, `ihl=${ihl >>> 2}`);
    if (end - o < ihl) return fault('ipv4', 'truncated', o, `ihl=${ihl >>> 2} needs ${ihl} bytes, have ${end - o}`);
    const total = this.totalLength;
    if (total < ihl) return fault('ipv4', 'bad-length', o + TOTAL_LEN, `total length ${total} < header ${ihl}`);
    if (total > end - o)
      return fault('ipv4', 'bad-length', o + TOTAL_LEN, `total length ${total} > ${end - o} bytes present`);
    return undefined;
  }

  get version(): number {
    return this.bytes[this.offset + VER_IHL]! >>> 4;
  }
  /** Header length in bytes (IHL * 4). */
  get headerLength(): number {
    return (this.bytes[this.offset + VER_IHL]! & 0x0f) << 2;
  }
  get dscp(): number {
    return this.bytes[this.offset + TOS]! >>> 2;
  }
  get ecn(): number {
    return this.bytes[this.offset + TOS]! & 3;
  }
  get totalLength(): number {
    return readU16(this.bytes, this.offset + TOTAL_LEN);
  }
  set totalLength(v: number) {
    writeU16(this.bytes, this.offset + TOTAL_LEN, v);
  }
  get identification(): number {
    return readU16(this.bytes, this.offset + IDENT);
  }
  set identification(v: number) {
    writeU16(this.bytes, this.offset + IDENT, v);
  }
  get dontFragment(): boolean {
    return (readU16(this.bytes, this.offset + FLAGS_FRAG) & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (readU16(this.bytes, this.offset + FLAGS_FRAG) & FLAG_MF) !== 0;
  }
  get fragmentOffset(): number {
    return readU16(this.bytes, this.offset + FLAGS_FRAG) & FRAG_MASK;
  }
  /** True for any fragment (MF set or nonzero offset). */
  get isFragment(): boolean {
    return (readU16(this.bytes, this.offset + FLAGS_FRAG) & (FLAG_MF | FRAG_MASK)) !== 0;
  }
  get ttl(): number {
    return this.bytes[this.offset + TTL]!;
  }
  set ttl(v: number) {
    this.bytes[this.offset + TTL] = v;
  }
  get protocol(): number {
    return this.bytes[this.offset + PROTO]!;
  }
  get checksum(): number {
    return readU16(this.bytes, this.offset + CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, this.offset + CHECKSUM, v);
  }
  get src(): Ipv4Address {
    return readU32(this.bytes, this.offset + SRC);
  }
  set src(v: Ipv4Address) {
    writeU32(this.bytes, this.offset + SRC, v);
  }
  get dst(): Ipv4Address {
    return readU32(this.bytes, this.offset + DST);
  }
  set dst(v: Ipv4Address) {
    writeU32(this.bytes, this.offset + DST, v);
  }
  /**
   * The addresses as int32 (same 32 bits): for hot paths, where a uint32 >= 2^31 returned from a getter that is
   * not inlined is a heap number per call. Compare with `ip | 0`; `>>> 0` turns them back into Ipv4Address.
   */
  get srcI32(): number {
    return readI32(this.bytes, this.offset + SRC);
  }
  get dstI32(): number {
    return readI32(this.bytes, this.offset + DST);
  }
  /** Offset of the payload (absolute, in `bytes`). */
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }
  get payloadLength(): number {
    return this.totalLength - this.headerLength;
  }

  /**
   * Ones'-complement partial sum (unfolded) of the source and destination address words: the address part of
   * the UDP/TCP pseudo-header. Hot paths pass this small integer on instead of the two uint32 addresses,
   * which become heap numbers when they cross a call that is not inlined.
   */
  addressSum(): number {
    return sum16(this.bytes, this.offset + SRC, 8);
  }

  /** True when the header checksum verifies. */
  checksumValid(): boolean {
    return internetChecksum(this.bytes, this.offset, this.headerLength) === 0;
  }

  /** Recompute and write the header checksum. */
  fillChecksum(): void {
    writeU16(this.bytes, this.offset + CHECKSUM, 0);
    writeU16(this.bytes, this.offset + CHECKSUM, internetChecksum(this.bytes, this.offset, this.headerLength));
  }

  /** Decrement TTL and patch the checksum incrementally (RFC 1624), as a router's forwarding path does. */
  decrementTtl(): void {
    decrementIpv4Ttl(this.bytes, this.offset);
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): Ipv4Header {
    const h: Ipv4Header = {
      dscp: this.dscp,
      ecn: this.ecn,
      totalLength: this.totalLength,
      identification: this.identification,
      dontFragment: this.dontFragment,
      moreFragments: this.moreFragments,
      fragmentOffset: this.fragmentOffset,
      ttl: this.ttl,
      protocol: this.protocol,
      checksum: this.checksum,
      src: this.src,
      dst: this.dst,
    };
    if (this.headerLength > IPV4_HEADER_LEN) {
      h.options = this.bytes.slice(this.offset + IPV4_HEADER_LEN, this.offset + this.headerLength);
    }
    return h;
  }
}

/** Bytes `emitIpv4` writes for this header (options included). */
export function ipv4EncodingLength(h: Ipv4Header): number {
  return IPV4_HEADER_LEN + (h.options ? (h.options.length + 3) & ~3 : 0);
}

/**
 * Decrement the TTL of the IPv4 header at `offset` and patch its checksum incrementally (RFC 1624, eqn. 3: the
 * TTL/protocol word changes), as a router's forwarding path does (the kernel's ip_decrease_ttl, OVS's dec_ttl).
 * The one implementation: the stack's forwarding, br0's dec_ttl and the fast path's replay of both call it. The
 * caller checks TTL > 1 first; a TTL of 0 would wrap to 255, like the byte store.
 */
export function decrementIpv4Ttl(buf: Uint8Array, offset: number): void {
  const oldWord = readU16(buf, offset + TTL);
  buf[offset + TTL] = buf[offset + TTL]! - 1;
  writeU16(
    buf,
    offset + CHECKSUM,
    checksumUpdate16(readU16(buf, offset + CHECKSUM), oldWord, readU16(buf, offset + TTL)),
  );
}

/**
 * Write the header at `offset`, for a payload of `payloadLength` bytes that follows it. Never allocates.
 * Returns the header length written. Defaults: TTL 64, DF clear, ID 0, DSCP/ECN 0.
 */
export function emitIpv4(h: Ipv4Header, buf: Uint8Array, offset: number, payloadLength: number): number {
  const len = ipv4EncodingLength(h);
  if (offset < 0 || offset + len > buf.length)
    throw new EncodeError('ipv4', `header of ${len} bytes does not fit at ${offset}`);
  const o = offset;
  buf[o + VER_IHL] = 0x40 | (len >>> 2);
  buf[o + TOS] = (((h.dscp ?? 0) & 0x3f) << 2) | ((h.ecn ?? 0) & 3);
  writeU16(buf, o + TOTAL_LEN, h.totalLength ?? len + payloadLength);
  writeU16(buf, o + IDENT, h.identification ?? 0);
  writeU16(
    buf,
    o + FLAGS_FRAG,
    (h.dontFragment ? FLAG_DF : 0) | (h.moreFragments ? FLAG_MF : 0) | ((h.fragmentOffset ?? 0) & FRAG_MASK),
  );
  buf[o + TTL] = h.ttl ?? 64;
  buf[o + PROTO] = h.protocol;
  writeU32(buf, o + SRC, h.src);
  writeU32(buf, o + DST, h.dst);
  if (h.options) {
    buf.set(h.options, o + IPV4_HEADER_LEN);
    buf.fill(0, o + IPV4_HEADER_LEN + h.options.length, o + len);
  }
  writeU16(buf, o + CHECKSUM, 0);
  writeU16(buf, o + CHECKSUM, h.checksum ?? internetChecksum(buf, o, len));
  return len;
}

/**
 * Decode and validate (including the checksum). Throws DecodeError; for a non-throwing path use Ipv4View.check.
 */
export function parseIpv4(buf: Uint8Array, offset = 0, end = buf.length): Ipv4Header {
  const v = new Ipv4View(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  if (!v.checksumValid())
    throw new DecodeError(fault('ipv4', 'bad-checksum', offset + CHECKSUM, `checksum 0x${v.checksum.toString(16)}`));
  return v.toHeader();
}

/** Partial ones'-complement sum of the header, for callers that verify many headers in a loop. */
export function ipv4HeaderSum(buf: Uint8Array, offset: number): number {
  return sum16(buf, offset, (buf[offset]! & 0x0f) << 2);
}
