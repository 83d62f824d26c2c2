/**
 * Ethernet II (as Linux and Open vSwitch put it on a veth or NIC; the FCS is never captured), with at most one
 * IEEE 802.1Q tag.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  Destination MAC address                      |
 *   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                               |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *   |                     Source MAC address                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  EtherType (or TPID 0x8100)   | PCP |D|  VLAN ID (if tagged)  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  EtherType (if tagged)        |  payload ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

import { readMac, readU16, writeMac, writeU16, writeU32, type MacAddress } from './bytes.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ARP_LEN } from './arp.js';
import { ByteView } from './view.js';

export const ETHERNET_HEADER_LEN = 14;
/** Smallest frame on the wire without the 4-byte FCS; shorter frames are zero-padded by the sender. */
export const ETHERNET_MIN_FRAME = 60;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
/** Bytes an 802.1Q tag adds. */
export const VLAN_TAG_LEN = 4;

const DST = 0,
  SRC = 6,
  TYPE = 12,
  TCI = 14,
  INNER_TYPE = 16;

/** A decoded or to-be-emitted Ethernet header. `ethertype` is the one after any 802.1Q tag. */
export interface EthernetHeader {
  dst: MacAddress;
  src: MacAddress;
  vlan?: { pcp: number; dei: boolean; vid: number };
  ethertype: number;
}

/** Zero-copy view of an Ethernet header. Call `check()` before trusting any getter. */
export class EthernetView extends ByteView {
  /** Verify the header (and its tag, if any) lies before `end`. Returns a Fault with an absolute offset. */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset;
    if (end - o < ETHERNET_HEADER_LEN) return fault('eth', 'truncated', o, `have ${Math.max(0, end - o)} of 14 bytes`);
    if (this.tagged && end - o < ETHERNET_HEADER_LEN + VLAN_TAG_LEN) {
      return fault('vlan', 'truncated', o + TCI, `have ${end - o} of 18 bytes`);
    }
    return undefined;
  }

  get dst(): MacAddress {
    return readMac(this.bytes, this.offset + DST);
  }
  set dst(v: MacAddress) {
    writeMac(this.bytes, this.offset + DST, v);
  }
  get src(): MacAddress {
    return readMac(this.bytes, this.offset + SRC);
  }
  set src(v: MacAddress) {
    writeMac(this.bytes, this.offset + SRC, v);
  }
  /** True when an 802.1Q tag follows the source address. */
  get tagged(): boolean {
    return readU16(this.bytes, this.offset + TYPE) === ETHERTYPE_VLAN;
  }
  /** The EtherType of the payload (after the tag, when tagged). */
  get ethertype(): number {
    return readU16(this.bytes, this.offset + (this.tagged ? INNER_TYPE : TYPE));
  }
  set ethertype(v: number) {
    writeU16(this.bytes, this.offset + (this.tagged ? INNER_TYPE : TYPE), v);
  }
  /** 802.1Q VLAN ID, or -1 when untagged. */
  get vlanId(): number {
    return this.tagged ? readU16(this.bytes, this.offset + TCI) & 0x0fff : -1;
  }
  /** 802.1Q priority code point (0 when untagged). */
  get vlanPcp(): number {
    return this.tagged ? this.bytes[this.offset + TCI]! >>> 5 : 0;
  }
  /** 802.1Q drop eligible indicator (false when untagged). */
  get vlanDei(): boolean {
    return this.tagged && (this.bytes[this.offset + TCI]! & 0x10) !== 0;
  }
  /** 14, or 18 with a tag. */
  get headerLength(): number {
    return this.tagged ? ETHERNET_HEADER_LEN + VLAN_TAG_LEN : ETHERNET_HEADER_LEN;
  }
  /** Absolute offset of the payload. */
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): EthernetHeader {
    const h: EthernetHeader = { dst: this.dst, src: this.src, ethertype: this.ethertype };
    if (this.tagged) h.vlan = { pcp: this.vlanPcp, dei: this.vlanDei, vid: this.vlanId };
    return h;
  }
}

/** Bytes `emitEthernet` writes: 14, or 18 with a VLAN tag. */
export function ethernetEncodingLength(h: EthernetHeader): number {
  return h.vlan ? ETHERNET_HEADER_LEN + VLAN_TAG_LEN : ETHERNET_HEADER_LEN;
}

/** Write the header at `offset`. Never allocates, never pads (see `padEthernetFrame`). Returns bytes written. */
export function emitEthernet(h: EthernetHeader, buf: Uint8Array, offset: number): number {
  const len = ethernetEncodingLength(h);
  if (offset < 0 || offset + len > buf.length)
    throw new EncodeError('eth', `header of ${len} bytes does not fit at ${offset}`);
  // The MACs' halves written here: a 48-bit number handed to writeMac when it is not inlined is a heap number.
  const dst = h.dst,
    src = h.src;
  const dstHi = Math.floor(dst / 0x100000000),
    srcHi = Math.floor(src / 0x100000000);
  writeU16(buf, offset + DST, dstHi);
  writeU32(buf, offset + DST + 2, dst - dstHi * 0x100000000);
  writeU16(buf, offset + SRC, srcHi);
  writeU32(buf, offset + SRC + 2, src - srcHi * 0x100000000);
  if (h.vlan) {
    writeU16(buf, offset + TYPE, ETHERTYPE_VLAN);
    writeU16(buf, offset + TCI, ((h.vlan.pcp & 7) << 13) | (h.vlan.dei ? 0x1000 : 0) | (h.vlan.vid & 0x0fff));
    writeU16(buf, offset + INNER_TYPE, h.ethertype);
  } else {
    writeU16(buf, offset + TYPE, h.ethertype);
  }
  return len;
}

/**
 * Length of the L3 datagram that starts at `l3Offset` as its own header declares it (IPv4 total length, 28 for
 * ARP), or -1 when the EtherType is unknown or the length field is not within `end`. Bytes between
 * `l3Offset + length` and the frame end are Ethernet padding (or a trailer), not payload.
 */
export function ethernetL3Length(buf: Uint8Array, l3Offset: number, ethertype: number, end: number): number {
  if (ethertype === ETHERTYPE_IPV4) return end - l3Offset >= 4 ? readU16(buf, l3Offset + 2) : -1;
  if (ethertype === ETHERTYPE_ARP) return ARP_LEN;
  return -1;
}

/**
 * Decode the header. `padding` counts the bytes after the L3 datagram (IPv4 total length or the 28-byte ARP
 * packet): the zeros a sender adds to reach the 60-byte minimum, or any trailer. Throws DecodeError.
 */
export function parseEthernet(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
): { header: EthernetHeader; payloadOffset: number; padding: number } {
  const v = new EthernetView(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  const payloadOffset = v.payloadOffset;
  const l3 = ethernetL3Length(buf, payloadOffset, v.ethertype, end);
  const padding = l3 >= 0 && payloadOffset + l3 < end ? end - payloadOffset - l3 : 0;
  return { header: v.toHeader(), payloadOffset, padding };
}

/**
 * Zero-fill a frame shorter than 60 bytes up to 60, as a NIC driver does before transmission; returns the new
 * end (unchanged for frames of 60 bytes or more). Veth and OVS internal ports do not pad, physical NICs do.
 */
export function padEthernetFrame(buf: Uint8Array, frameStart: number, frameEnd: number): number {
  const minEnd = frameStart + ETHERNET_MIN_FRAME;
  if (frameEnd >= minEnd) return frameEnd;
  if (minEnd > buf.length)
    throw new EncodeError('eth', `no room to pad the frame at ${frameStart} to ${ETHERNET_MIN_FRAME} bytes`);
  buf.fill(0, frameEnd, minEnd);
  return minEnd;
}
