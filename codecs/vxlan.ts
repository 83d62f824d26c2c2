/**
 * VXLAN (RFC 7348): an 8-byte header after UDP port 4789, followed by the inner Ethernet frame. OpenShift SDN
 * carries the source VNID in the VNI (OVS table 90: `move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31]`).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |R|R|R|R|I|R|R|R|            Reserved                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

import { readU24, writeU24 } from './bytes.js';
import { DecodeError, EncodeError, fault, type Fault } from './errors.js';
import { ByteView } from './view.js';

export const VXLAN_PORT = 4789;
export const VXLAN_HEADER_LEN = 8;
/** Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8: why the overlay MTU is the host MTU minus 50. */
export const VXLAN_OVERHEAD = 50;
/** The I flag: "VNI is valid", the only flag RFC 7348 defines. */
export const VXLAN_FLAG_I = 0x08;

const FLAGS = 0,
  RESERVED1 = 1,
  VNI = 4,
  RESERVED2 = 7;

/** A decoded or to-be-emitted VXLAN header. */
export interface VxlanHeader {
  /** The flags byte; 0x08 (I) when undefined. */
  flags?: number;
  /** 24-bit VXLAN network identifier. */
  vni: number;
}

/** Zero-copy view of a VXLAN header. Call `check()` before trusting any getter. */
export class VxlanView extends ByteView {
  /**
   * Verify 8 bytes before `end`, the I flag ('bad-flags') and that reserved bits are 0 ('reserved-nonzero',
   * offset of the first offending byte). Linux drops both; a dissector may record them and go on.
   */
  check(end = this.bytes.length): Fault | undefined {
    const o = this.offset,
      b = this.bytes;
    if (end - o < VXLAN_HEADER_LEN) return fault('vxlan', 'truncated', o, `have ${Math.max(0, end - o)} of 8 bytes`);
    const flags = b[o + FLAGS]!;
    if ((flags & VXLAN_FLAG_I) === 0)
      return fault('vxlan', 'bad-flags', o + FLAGS, `flags=0x${flags.toString(16).padStart(2, '0')}`);
    if ((flags & ~VXLAN_FLAG_I) !== 0)
      return fault('vxlan', 'reserved-nonzero', o + FLAGS, `flags=0x${flags.toString(16).padStart(2, '0')}`);
    for (let i = RESERVED1; i < VNI; i++) if (b[o + i] !== 0) return fault('vxlan', 'reserved-nonzero', o + i);
    if (b[o + RESERVED2] !== 0) return fault('vxlan', 'reserved-nonzero', o + RESERVED2);
    return undefined;
  }

  get flags(): number {
    return this.bytes[this.offset + FLAGS]!;
  }
  set flags(v: number) {
    this.bytes[this.offset + FLAGS] = v;
  }
  get vni(): number {
    return readU24(this.bytes, this.offset + VNI);
  }
  set vni(v: number) {
    writeU24(this.bytes, this.offset + VNI, v);
  }
  /** Absolute offset of the inner Ethernet frame. */
  get payloadOffset(): number {
    return this.offset + VXLAN_HEADER_LEN;
  }

  /** Copy out a plain header object (allocates; cold path). */
  toHeader(): VxlanHeader {
    return { flags: this.flags, vni: this.vni };
  }
}

/** Bytes `emitVxlan` writes: always 8. */
export function vxlanEncodingLength(_h?: VxlanHeader): number {
  return VXLAN_HEADER_LEN;
}

/** Write the header at `offset` with reserved bytes zero. Never allocates. Returns 8. */
export function emitVxlan(h: VxlanHeader, buf: Uint8Array, offset: number): number {
  if (offset < 0 || offset + VXLAN_HEADER_LEN > buf.length)
    throw new EncodeError('vxlan', `header of 8 bytes does not fit at ${offset}`);
  buf[offset + FLAGS] = h.flags ?? VXLAN_FLAG_I;
  buf[offset + RESERVED1] = buf[offset + RESERVED1 + 1] = buf[offset + RESERVED1 + 2] = 0;
  writeU24(buf, offset + VNI, h.vni);
  buf[offset + RESERVED2] = 0;
  return VXLAN_HEADER_LEN;
}

/** Decode and validate (I flag set, reserved bits zero). Throws DecodeError. */
export function parseVxlan(buf: Uint8Array, offset = 0, end = buf.length): VxlanHeader {
  const v = new VxlanView(buf, offset);
  const f = v.check(end);
  if (f) throw new DecodeError(f);
  return v.toHeader();
}
