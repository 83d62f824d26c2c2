/**
 * ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses only: the 28-byte packet OpenShift SDN's
 * tables 20/40/50 match on (arp_spa, arp_tpa, arp_op).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Hardware type (1)         |   Protocol type (0x0800)      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  HLEN (6)     |   PLEN (4)    |         Operation             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Sender hardware address (6)                   |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |  Sender protocol address (4)  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |                               |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |                 Target hardware address (6)                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Target protocol address (4)                   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

import { readMac, readU16, readU32, writeMac, writeU16, writeU32, type Ipv4Address, type MacAddress } from './bytes.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ByteView } from './view.js';

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
/** Hardware type Ethernet (RFC 826 / IANA ar$hrd = 1). */
export const ARP_HTYPE_ETHERNET = 1;

const HTYPE = 0,
  PTYPE = 2,
  HLEN = 4,
  PLEN = 5,
  OPER = 6,
  SHA = 8,
  SPA = 14,
  THA = 18,
  TPA = 24;
const PTYPE_IPV4 = 0x0800;

/** A decoded or to-be-emitted Ethernet/IPv4 ARP packet. */
export interface ArpHeader {
  op: number;
  senderMac: MacAddress;
  senderIp: Ipv4Address;
  targetMac: MacAddress;
  targetIp: Ipv4Address;
}

/** Zero-copy view of an ARP packet. Call `check()` before trusting any getter. */
export class ArpView extends ByteView {
  /** Verify 28 bytes before `end` and Ethernet/IPv4 address types and sizes ('bad-hardware' otherwise). */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset,
      b = this.bytes;
    if (end - o < ARP_LEN) return fault('arp', 'truncated', o, `have ${Math.max(0, end - o)} of 28 bytes`);
    if (readU16(b, o + HTYPE) !== ARP_HTYPE_ETHERNET)
      return fault('arp', 'bad-hardware', o + HTYPE, `htype=${readU16(b, o + HTYPE)}`);
    if (readU16(b, o + PTYPE) !== PTYPE_IPV4)
      return fault('arp', 'bad-hardware', o + PTYPE, `ptype=0x${readU16(b, o + PTYPE).toString(16)}`);
    if (b[o + HLEN] !== 6 || b[o + PLEN] !== 4)
      return fault('arp', 'bad-hardware', o + HLEN, `hlen=${b[o + HLEN]} plen=${b[o + PLEN]}`);
    return undefined;
  }

  get op(): number {
    return readU16(this.bytes, this.offset + OPER);
  }
  set op(v: number) {
    writeU16(this.bytes, this.offset + OPER, v);
  }
  get senderMac(): MacAddress {
    return readMac(this.bytes, this.offset + SHA);
  }
  set senderMac(v: MacAddress) {
    writeMac(this.bytes, this.offset + SHA, v);
  }
  get senderIp(): Ipv4Address {
    return readU32(this.bytes, this.offset + SPA);
  }
  set senderIp(v: Ipv4Address) {
    writeU32(this.bytes, this.offset + SPA, v);
  }
  get targetMac(): MacAddress {
    return readMac(this.bytes, this.offset + THA);
  }
  set targetMac(v: MacAddress) {
    writeMac(this.bytes, this.offset + THA, v);
  }
  get targetIp(): Ipv4Address {
    return readU32(this.bytes, this.offset + TPA);
  }
  set targetIp(v: Ipv4Address) {
    writeU32(this.bytes, this.offset + TPA, v);
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): ArpHeader {
    return {
      op: this.op,
      senderMac: this.senderMac,
      senderIp: this.senderIp,
      targetMac: this.targetMac,
      targetIp: this.targetIp,
    };
  }
}

/** Bytes `emitArp` writes: always 28. */
export function arpEncodingLength(_h?: ArpHeader): number {
  return ARP_LEN;
}

/** Write an Ethernet/IPv4 ARP packet at `offset`. Never allocates. Returns 28. */
export function emitArp(h: ArpHeader, buf: Uint8Array, offset: number): number {
  if (offset < 0 || offset + ARP_LEN > buf.length)
    throw new EncodeError('arp', `packet of 28 bytes does not fit at ${offset}`);
  const o = offset;
  writeU16(buf, o + HTYPE, ARP_HTYPE_ETHERNET);
  writeU16(buf, o + PTYPE, PTYPE_IPV4);
  buf[o + HLEN] = 6;
  buf[o + PLEN] = 4;
  writeU16(buf, o + OPER, h.op);
  writeMac(buf, o + SHA, h.senderMac);
  writeU32(buf, o + SPA, h.senderIp);
  writeMac(buf, o + THA, h.targetMac);
  writeU32(buf, o + TPA, h.targetIp);
  return ARP_LEN;
}

/** Decode and validate. Throws DecodeError; for a non-throwing path use ArpView.check. */
export function parseArp(buf: Uint8Array, offset = 0, end = buf.length): ArpHeader {
  const v = new ArpView(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  return v.toHeader();
}
