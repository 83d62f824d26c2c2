/**
 * Full verification of the L4 checksum of an IPv4 packet, as conntrack does in PREROUTING when
 * net.netfilter.nf_conntrack_checksum=1 (the default): a segment with a bad TCP/UDP/ICMP checksum is INVALID and
 * is neither tracked nor NATed (kernel-reference.md, experiment (c)). UDP checksum 0 means "none" (RFC 768).
 */

import { readU16 } from '../../codecs/bytes.js';
import { finishChecksum, sum16 } from '../../codecs/checksum.js';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './tuple.js';

/** True when the TCP/UDP/ICMP checksum of the packet at `l3` verifies (other protocols: always true). */
export function l4ChecksumValid(b: Uint8Array, l3: number): boolean {
  const ihl = (b[l3]! & 0x0f) << 2;
  const total = readU16(b, l3 + 2);
  const proto = b[l3 + 9]!;
  const l4 = l3 + ihl;
  const len = total - ihl;
  if (proto === PROTO_TCP || proto === PROTO_UDP) {
    if (proto === PROTO_UDP && readU16(b, l4 + 6) === 0) return true;
    // The pseudo-header sum from 16-bit halves (pseudoHeaderSum's terms): a uint32 address passed to a call that is
    // not inlined would be a heap number per packet.
    const ph = readU16(b, l3 + 12) + readU16(b, l3 + 14) + readU16(b, l3 + 16) + readU16(b, l3 + 18) + proto + len;
    return finishChecksum(sum16(b, l4, len, ph)) === 0;
  }
  if (proto === PROTO_ICMP) return finishChecksum(sum16(b, l4, len)) === 0;
  return true;
}
