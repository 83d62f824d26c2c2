/**
 * TCP over IPv4 (RFC 9293; ECN flags RFC 3168; NS bit RFC 3540).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |          Source Port          |       Destination Port        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        Sequence Number                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Acknowledgment Number                      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Data |     |N|C|E|U|A|P|R|S|F|                               |
 *   | Offset| Rsvd|S|W|C|R|C|S|S|Y|I|            Window             |
 *   |       |     | |R|E|G|K|H|T|N|N|                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Checksum            |         Urgent Pointer        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Options                    |    Padding    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The checksum covers the IPv4 pseudo-header (src, dst, 0, 6, segment length), the header and the data.
 */

import { readU16, readU32, writeU16, writeU32, type Ipv4Address } from './bytes.js';
import { finishChecksum, pseudoHeaderSum, sum16 } from './checksum.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ByteView } from './view.js';

export const TCP_HEADER_LEN = 20;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
/** RFC 3540 nonce sum: the low bit of the data-offset byte, reported here as flag bit 8. */
export const TCP_NS = 0x100;

const SRC_PORT = 0,
  DST_PORT = 2,
  SEQ = 4,
  ACK = 8,
  DATA_OFFSET = 12,
  FLAGS = 13,
  WINDOW = 14,
  CHECKSUM = 16,
  URGENT = 18;
const IPPROTO_TCP = 6;

/** A decoded or to-be-emitted TCP header. Fields left undefined on emit are computed or zero. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Data offset in 32-bit words (5..15). Computed from the options when undefined; written as given otherwise. */
  dataOffset?: number;
  /** TCP_* bits; TCP_NS (0x100) lands in the data-offset byte. */
  flags: number;
  window: number;
  /** Computed on emit when undefined; written as given otherwise. */
  checksum?: number;
  urgentPointer?: number;
  /** Option bytes; zero-padded to a multiple of 4 on emit. */
  options?: Uint8Array;
}

/** Zero-copy view of a TCP header. Call `check()` before trusting any getter. */
export class TcpView extends ByteView {
  /**
   * Verify the fixed header lies before `end` (the end of the segment) and the data offset is 5..15 words and
   * within the segment ('bad-data-offset'). Does not verify the checksum.
   */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset;
    if (end - o < TCP_HEADER_LEN) return fault('tcp', 'truncated', o, `have ${Math.max(0, end - o)} of 20 bytes`);
    const hl = this.headerLength;
    if (hl < TCP_HEADER_LEN) return fault('tcp', 'bad-data-offset', o + DATA_OFFSET, `data offset ${hl >>> 2} < 5`);
    if (hl > end - o)
      return fault('tcp', 'bad-data-offset', o + DATA_OFFSET, `header of ${hl} bytes > ${end - o} bytes of segment`);
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
  get seq(): number {
    return readU32(this.bytes, this.offset + SEQ);
  }
  set seq(v: number) {
    writeU32(this.bytes, this.offset + SEQ, v);
  }
  get ack(): number {
    return readU32(this.bytes, this.offset + ACK);
  }
  set ack(v: number) {
    writeU32(this.bytes, this.offset + ACK, v);
  }
  /** Data offset in 32-bit words. */
  get dataOffset(): number {
    return this.bytes[this.offset + DATA_OFFSET]! >>> 4;
  }
  /** Header length in bytes (data offset * 4). */
  get headerLength(): number {
    return (this.bytes[this.offset + DATA_OFFSET]! >>> 4) << 2;
  }
  /** The nine flag bits: TCP_FIN..TCP_CWR from byte 13, TCP_NS from byte 12. */
  get flags(): number {
    return ((this.bytes[this.offset + DATA_OFFSET]! & 1) << 8) | this.bytes[this.offset + FLAGS]!;
  }
  set flags(v: number) {
    const o = this.offset + DATA_OFFSET;
    this.bytes[o] = (this.bytes[o]! & 0xfe) | ((v >>> 8) & 1);
    this.bytes[o + 1] = v & 0xff;
  }
  get window(): number {
    return readU16(this.bytes, this.offset + WINDOW);
  }
  set window(v: number) {
    writeU16(this.bytes, this.offset + WINDOW, v);
  }
  get checksum(): number {
    return readU16(this.bytes, this.offset + CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, this.offset + CHECKSUM, v);
  }
  get urgentPointer(): number {
    return readU16(this.bytes, this.offset + URGENT);
  }
  /** Absolute offset of the data. */
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }

  /** True when the checksum over the `segmentLength`-byte segment (IP payload length) verifies. */
  checksumValid(ipSrc: Ipv4Address, ipDst: Ipv4Address, segmentLength: number): boolean {
    return (
      finishChecksum(
        sum16(this.bytes, this.offset, segmentLength, pseudoHeaderSum(ipSrc, ipDst, IPPROTO_TCP, segmentLength)),
      ) === 0
    );
  }

  /** `checksumValid` given the addresses as `Ipv4View.addressSum()` (no uint32 crosses a call). */
  checksumValidFromAddressSum(addressSum: number, segmentLength: number): boolean {
    return (
      finishChecksum(sum16(this.bytes, this.offset, segmentLength, addressSum + IPPROTO_TCP + segmentLength)) === 0
    );
  }

  /** Recompute and write the checksum over the `segmentLength`-byte segment. */
  fillChecksum(ipSrc: Ipv4Address, ipDst: Ipv4Address, segmentLength: number): void {
    writeU16(this.bytes, this.offset + CHECKSUM, 0);
    writeU16(
      this.bytes,
      this.offset + CHECKSUM,
      finishChecksum(
        sum16(this.bytes, this.offset, segmentLength, pseudoHeaderSum(ipSrc, ipDst, IPPROTO_TCP, segmentLength)),
      ),
    );
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): TcpHeader {
    const h: TcpHeader = {
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      seq: this.seq,
      ack: this.ack,
      dataOffset: this.dataOffset,
      flags: this.flags,
      window: this.window,
      checksum: this.checksum,
      urgentPointer: this.urgentPointer,
    };
    if (this.headerLength > TCP_HEADER_LEN)
      h.options = this.bytes.slice(this.offset + TCP_HEADER_LEN, this.offset + this.headerLength);
    return h;
  }
}

/** Bytes `emitTcp` writes: 20 plus the options padded to 4. */
export function tcpEncodingLength(h: TcpHeader): number {
  return TCP_HEADER_LEN + (h.options ? (h.options.length + 3) & ~3 : 0);
}

/**
 * Write the header at `offset`; the `payloadLength` data bytes must already be in place after the header
 * (at `offset + tcpEncodingLength(h)`), since the checksum covers them. Never allocates. Returns the header length.
 */
export function emitTcp(
  h: TcpHeader,
  buf: Uint8Array,
  offset: number,
  payloadLength: number,
  ipSrc: Ipv4Address,
  ipDst: Ipv4Address,
): number {
  const len = tcpEncodingLength(h);
  const segment = len + payloadLength;
  if (offset < 0 || offset + segment > buf.length)
    throw new EncodeError('tcp', `segment of ${segment} bytes does not fit at ${offset}`);
  const o = offset;
  writeU16(buf, o + SRC_PORT, h.srcPort);
  writeU16(buf, o + DST_PORT, h.dstPort);
  writeU32(buf, o + SEQ, h.seq);
  writeU32(buf, o + ACK, h.ack);
  buf[o + DATA_OFFSET] = (((h.dataOffset ?? len >>> 2) & 0x0f) << 4) | ((h.flags >>> 8) & 1);
  buf[o + FLAGS] = h.flags & 0xff;
  writeU16(buf, o + WINDOW, h.window);
  writeU16(buf, o + URGENT, h.urgentPointer ?? 0);
  if (h.options) {
    buf.set(h.options, o + TCP_HEADER_LEN);
    buf.fill(0, o + TCP_HEADER_LEN + h.options.length, o + len);
  }
  writeU16(buf, o + CHECKSUM, 0);
  writeU16(
    buf,
    o + CHECKSUM,
    h.checksum ?? finishChecksum(sum16(buf, o, segment, pseudoHeaderSum(ipSrc, ipDst, IPPROTO_TCP, segment))),
  );
  return len;
}

/**
 * Decode the segment in [offset, end) and verify its checksum against the given addresses. Throws DecodeError.
 */
export function parseTcp(
  buf: Uint8Array,
  offset: number,
  end: number,
  ipSrc: Ipv4Address,
  ipDst: Ipv4Address,
): TcpHeader {
  const v = new TcpView(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  if (!v.checksumValid(ipSrc, ipDst, end - offset))
    throw new DecodeError(fault('tcp', 'bad-checksum', offset + CHECKSUM, `checksum 0x${v.checksum.toString(16)}`));
  return v.toHeader();
}

/** tcpdump's flag letters in its order (F S R P . U E W); `none` when no flag is set. */
export function tcpFlagsToString(flags: number): string {
  let s = '';
  if (flags & TCP_FIN) s += 'F';
  if (flags & TCP_SYN) s += 'S';
  if (flags & TCP_RST) s += 'R';
  if (flags & TCP_PSH) s += 'P';
  if (flags & TCP_ACK) s += '.';
  if (flags & TCP_URG) s += 'U';
  if (flags & TCP_ECE) s += 'E';
  if (flags & TCP_CWR) s += 'W';
  return s === '' ? 'none' : s;
}
