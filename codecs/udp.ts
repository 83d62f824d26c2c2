/**
 * UDP over IPv4 (RFC 768).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Source Port          |       Destination Port        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |            Length             |           Checksum            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The checksum covers the IPv4 pseudo-header (src, dst, 0, 17, length), the header and the data. A checksum
 * field of 0 means "not computed" (VXLAN's outer UDP in OpenShift SDN), so a computed 0 is sent as 0xffff.
 */

import { readU16, writeU16, type Ipv4Address } from './bytes.js';
import { checksumUpdate16, checksumUpdate32, finishChecksum, pseudoHeaderSum, sum16 } from './checksum.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ByteView } from './view.js';

export const UDP_HEADER_LEN = 8;

const SRC_PORT = 0,
  DST_PORT = 2,
  LENGTH = 4,
  CHECKSUM = 6;
const IPPROTO_UDP = 17;

/** A decoded or to-be-emitted UDP header. */
export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** Header + data. Computed on emit when undefined. */
  length?: number;
  /**
   * Computed on emit when undefined and the IP addresses are given (0 is then sent as 0xffff); `0` writes
   * "no checksum"; any other value is written as given.
   */
  checksum?: number;
}

/** Checksum of a UDP datagram of `length` bytes at `offset` (field treated as is; 0 result means valid). */
function udpSum(b: Uint8Array, offset: number, length: number, src: Ipv4Address, dst: Ipv4Address): number {
  return finishChecksum(sum16(b, offset, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length)));
}

/** Zero-copy view of a UDP header. Call `check()` before trusting any getter. */
export class UdpView extends ByteView {
  /**
   * Verify the header lies before `end` (the end of the IP payload) and the length field is 8..(end - offset).
   * Does not verify the checksum (see `checksumValid`).
   */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset;
    if (end - o < UDP_HEADER_LEN) return fault('udp', 'truncated', o, `have ${Math.max(0, end - o)} of 8 bytes`);
    const len = this.length;
    if (len < UDP_HEADER_LEN) return fault('udp', 'bad-length', o + LENGTH, `length ${len} < 8`);
    if (len > end - o) return fault('udp', 'bad-length', o + LENGTH, `length ${len} > ${end - o} bytes present`);
    return undefined;
  }

  get srcPort(): number {
    return readU16(this.bytes, this.offset + SRC_PORT);
  }
  set srcPort(v: number) {
    writeU16(this.bytes, this.offset + SRC_PORT, v);
  }
  get dstPort(): number {
    return readU16(this.bytes, this.offset + DST_PORT);
  }
  set dstPort(v: number) {
    writeU16(this.bytes, this.offset + DST_PORT, v);
  }
  /** Header + data, as the length field says. */
  get length(): number {
    return readU16(this.bytes, this.offset + LENGTH);
  }
  set length(v: number) {
    writeU16(this.bytes, this.offset + LENGTH, v);
  }
  get checksum(): number {
    return readU16(this.bytes, this.offset + CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, this.offset + CHECKSUM, v);
  }
  /** Absolute offset of the data. */
  get payloadOffset(): number {
    return this.offset + UDP_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.length - UDP_HEADER_LEN;
  }

  /** True when the checksum verifies, or is 0 ("not present", RFC 768). Uses the length field. */
  checksumValid(ipSrc: Ipv4Address, ipDst: Ipv4Address): boolean {
    if (this.checksum === 0) return true;
    return udpSum(this.bytes, this.offset, this.length, ipSrc, ipDst) === 0;
  }

  /** `checksumValid` given the addresses as `Ipv4View.addressSum()` (no uint32 crosses a call). */
  checksumValidFromAddressSum(addressSum: number): boolean {
    if (this.checksum === 0) return true;
    const len = this.length;
    return finishChecksum(sum16(this.bytes, this.offset, len, addressSum + IPPROTO_UDP + len)) === 0;
  }

  /** Recompute and write the checksum over `length` bytes (computed 0 written as 0xffff). */
  fillChecksum(ipSrc: Ipv4Address, ipDst: Ipv4Address): void {
    writeU16(this.bytes, this.offset + CHECKSUM, 0);
    writeU16(this.bytes, this.offset + CHECKSUM, udpSum(this.bytes, this.offset, this.length, ipSrc, ipDst) || 0xffff);
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): UdpHeader {
    return { srcPort: this.srcPort, dstPort: this.dstPort, length: this.length, checksum: this.checksum };
  }
}

/** Bytes `emitUdp` writes: always 8 (the data is the caller's). */
export function udpEncodingLength(_h?: UdpHeader): number {
  return UDP_HEADER_LEN;
}

/**
 * Write the 8-byte header at `offset`; the `payloadLength` data bytes must already be in place after it.
 * Checksum: as given when defined (0 = none); else computed when `ipSrc` and `ipDst` are given; else 0.
 * Never allocates. Returns 8.
 */
export function emitUdp(
  h: UdpHeader,
  buf: Uint8Array,
  offset: number,
  payloadLength: number,
  ipSrc?: Ipv4Address,
  ipDst?: Ipv4Address,
): number {
  const len = UDP_HEADER_LEN + payloadLength;
  if (offset < 0 || offset + len > buf.length)
    throw new EncodeError('udp', `datagram of ${len} bytes does not fit at ${offset}`);
  const o = offset;
  writeU16(buf, o + SRC_PORT, h.srcPort);
  writeU16(buf, o + DST_PORT, h.dstPort);
  const lengthField = h.length ?? len;
  writeU16(buf, o + LENGTH, lengthField);
  writeU16(buf, o + CHECKSUM, 0);
  let checksum = h.checksum;
  if (checksum === undefined && ipSrc !== undefined && ipDst !== undefined) {
    const sum = sum16(buf, o, len, pseudoHeaderSum(ipSrc, ipDst, IPPROTO_UDP, lengthField));
    checksum = finishChecksum(sum) || 0xffff;
  }
  writeU16(buf, o + CHECKSUM, checksum ?? 0);
  return UDP_HEADER_LEN;
}

/**
 * Decode and validate the datagram at `offset` within `end`; verifies the checksum when the addresses are given.
 * Throws DecodeError.
 */
export function parseUdp(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
  ipSrc?: Ipv4Address,
  ipDst?: Ipv4Address,
): UdpHeader {
  const v = new UdpView(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  if (ipSrc !== undefined && ipDst !== undefined && !v.checksumValid(ipSrc, ipDst)) {
    throw new DecodeError(fault('udp', 'bad-checksum', offset + CHECKSUM, `checksum 0x${v.checksum.toString(16)}`));
  }
  return v.toHeader();
}

/**
 * RFC 1624 update of a UDP checksum for a 16-bit field change (a port), keeping RFC 768's rules: a checksum of
 * 0 ("none") stays 0, and a result of 0 is sent as 0xffff.
 */
export function udpChecksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  if (checksum === 0) return 0;
  return checksumUpdate16(checksum, oldWord, newWord) || 0xffff;
}

/** As `udpChecksumUpdate16`, for a 32-bit field (an IPv4 address in the pseudo-header). */
export function udpChecksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  if (checksum === 0) return 0;
  return checksumUpdate32(checksum, oldValue, newValue) || 0xffff;
}
