/**
 * ICMP for IPv4 (RFC 792), with the RFC 1191 next-hop MTU in "fragmentation needed".
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Type      |     Code      |          Checksum             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  echo: Identifier             |  echo: Sequence Number        |
 *   |  frag needed: unused (0)      |  frag needed: Next-Hop MTU    |
 *   |  other types: 4 "rest of header" bytes                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  echo: data ...   errors: the offending IPv4 header + 8 bytes |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The checksum covers the whole ICMP message (header and data), with no pseudo-header.
 */

import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ByteView } from './view.js';

export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
/** Destination-unreachable codes (RFC 792, RFC 1191). */
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;

const TYPE = 0,
  CODE = 1,
  CHECKSUM = 2,
  REST = 4,
  IDENT = 4,
  SEQ = 6,
  MTU = 6;

/** A decoded or to-be-emitted ICMP header. Fields left undefined on emit are computed or zero. */
export interface IcmpHeader {
  type: number;
  code: number;
  /** Computed on emit when undefined; written as given otherwise. */
  checksum?: number;
  /** Echo request/reply only. */
  identifier?: number;
  /** Echo request/reply only. */
  sequence?: number;
  /** Destination unreachable, code 4 (fragmentation needed) only: RFC 1191 next-hop MTU. */
  nextHopMtu?: number;
  /** The 4 rest-of-header bytes as a u32 for any other type (e.g. a redirect's gateway); 0 when undefined. */
  rest?: number;
}

/** True for echo request/reply, whose rest-of-header holds identifier and sequence. */
export function icmpIsEcho(type: number): boolean {
  return type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY;
}

/** True for the error types that quote the offending IPv4 header (RFC 792: 3, 4, 5, 11, 12). */
export function icmpIsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM ||
    type === 4 ||
    type === 5
  );
}

function isFragNeeded(type: number, code: number): boolean {
  return type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED;
}

/** Zero-copy view of an ICMP header. Call `check()` before trusting any getter. */
export class IcmpView extends ByteView {
  /** Verify the 8-byte header lies before `end`. Does not verify the checksum (see `checksumValid`). */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset;
    if (end - o < ICMP_HEADER_LEN) return fault('icmp', 'truncated', o, `have ${Math.max(0, end - o)} of 8 bytes`);
    return undefined;
  }

  get type(): number {
    return this.bytes[this.offset + TYPE]!;
  }
  set type(v: number) {
    this.bytes[this.offset + TYPE] = v;
  }
  get code(): number {
    return this.bytes[this.offset + CODE]!;
  }
  set code(v: number) {
    this.bytes[this.offset + CODE] = v;
  }
  get checksum(): number {
    return readU16(this.bytes, this.offset + CHECKSUM);
  }
  set checksum(v: number) {
    writeU16(this.bytes, this.offset + CHECKSUM, v);
  }
  /** Echo identifier (meaningful for echo only; NAT rewrites it like a port). */
  get identifier(): number {
    return readU16(this.bytes, this.offset + IDENT);
  }
  set identifier(v: number) {
    writeU16(this.bytes, this.offset + IDENT, v);
  }
  get sequence(): number {
    return readU16(this.bytes, this.offset + SEQ);
  }
  set sequence(v: number) {
    writeU16(this.bytes, this.offset + SEQ, v);
  }
  /** RFC 1191 next-hop MTU (meaningful for dest-unreach code 4 only). */
  get nextHopMtu(): number {
    return readU16(this.bytes, this.offset + MTU);
  }
  /** The 4 rest-of-header bytes as an unsigned 32-bit number. */
  get rest(): number {
    return readU32(this.bytes, this.offset + REST);
  }
  /** Absolute offset of the data (echo payload, or the quoted IPv4 header of an error). */
  get payloadOffset(): number {
    return this.offset + ICMP_HEADER_LEN;
  }
  get isError(): boolean {
    return icmpIsError(this.type);
  }

  /** True when the checksum over the `length`-byte message (header + data) verifies. */
  checksumValid(length: number): boolean {
    return internetChecksum(this.bytes, this.offset, length) === 0;
  }

  /** Recompute and write the checksum over the `length`-byte message. */
  fillChecksum(length: number): void {
    writeU16(this.bytes, this.offset + CHECKSUM, 0);
    writeU16(this.bytes, this.offset + CHECKSUM, internetChecksum(this.bytes, this.offset, length));
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): IcmpHeader {
    const h: IcmpHeader = { type: this.type, code: this.code, checksum: this.checksum };
    if (icmpIsEcho(h.type)) {
      h.identifier = this.identifier;
      h.sequence = this.sequence;
    } else if (isFragNeeded(h.type, h.code) && readU16(this.bytes, this.offset + REST) === 0) {
      h.nextHopMtu = this.nextHopMtu;
    } else if (this.rest !== 0) {
      h.rest = this.rest;
    }
    return h;
  }
}

/** Bytes `emitIcmp` writes: always 8 (the data is the caller's). */
export function icmpEncodingLength(_h?: IcmpHeader): number {
  return ICMP_HEADER_LEN;
}

/**
 * Write the 8-byte header at `offset`; the `payloadLength` data bytes must already be in place after it, since
 * the checksum covers them. Never allocates. Returns 8.
 */
export function emitIcmp(h: IcmpHeader, buf: Uint8Array, offset: number, payloadLength: number): number {
  const len = ICMP_HEADER_LEN + payloadLength;
  if (offset < 0 || offset + len > buf.length)
    throw new EncodeError('icmp', `message of ${len} bytes does not fit at ${offset}`);
  const o = offset;
  buf[o + TYPE] = h.type;
  buf[o + CODE] = h.code;
  if (icmpIsEcho(h.type)) {
    writeU16(buf, o + IDENT, h.identifier ?? 0);
    writeU16(buf, o + SEQ, h.sequence ?? 0);
  } else if (isFragNeeded(h.type, h.code) && h.nextHopMtu !== undefined) {
    writeU16(buf, o + REST, 0);
    writeU16(buf, o + MTU, h.nextHopMtu);
  } else {
    writeU32(buf, o + REST, h.rest ?? 0);
  }
  writeU16(buf, o + CHECKSUM, 0);
  writeU16(buf, o + CHECKSUM, h.checksum ?? internetChecksum(buf, o, len));
  return ICMP_HEADER_LEN;
}

/** Decode the message in [offset, end) and verify its checksum. Throws DecodeError. */
export function parseIcmp(buf: Uint8Array, offset = 0, end = buf.length): IcmpHeader {
  const v = new IcmpView(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  if (!v.checksumValid(end - offset))
    throw new DecodeError(fault('icmp', 'bad-checksum', offset + CHECKSUM, `checksum 0x${v.checksum.toString(16)}`));
  return v.toHeader();
}
