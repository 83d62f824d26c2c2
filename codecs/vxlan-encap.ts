/**
 * VXLAN encapsulation and decapsulation on the hot path, as vxlan0 (OVS ofport 1) does it in OpenShift SDN.
 *
 * Encap follows VPP's vxlan4-encap: the 50-byte outer header (Ethernet, IPv4, UDP, VXLAN) is built once per
 * tunnel; per packet it is copied into the headroom in front of the inner frame and only the fields that vary
 * are patched (lengths, ID, source port, VNI), with the IPv4 checksum finished from a cached partial sum. The
 * inner frame is never copied. Outer field policy (research/openshift-sdn.md §5): UDP checksum 0 (OVS
 * `options:csum` unset), DF set (`df_default=true`), TTL 64, DSCP 0.
 */

import {
  readU16,
  readU24,
  readU32,
  writeMac,
  writeU16,
  writeU24,
  writeU32,
  type Ipv4Address,
  type MacAddress,
} from './bytes.js';
import { finishChecksum, sum16 } from './checksum.js';
import { EncodeError, fault, type Fault, type FaultCode } from './errors.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from './ethernet.js';
import { IPPROTO_UDP, IPV4_HEADER_LEN } from './ipv4.js';
import { UDP_HEADER_LEN } from './udp.js';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, VXLAN_OVERHEAD, VXLAN_PORT } from './vxlan.js';

// Offsets inside the 50-byte outer header.
const IP = ETHERNET_HEADER_LEN; // 14
const IP_TOTAL_LEN = IP + 2,
  IP_ID = IP + 4,
  IP_CHECKSUM = IP + 10;
const UDP = IP + IPV4_HEADER_LEN; // 34
const UDP_SRC_PORT = UDP,
  UDP_LENGTH = UDP + 4;
const VX = UDP + UDP_HEADER_LEN; // 42
const VX_VNI = VX + 4;
/** Outer IP total length and UDP length exceed the inner frame length by these amounts. */
const IP_OVER_INNER = IPV4_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN; // 36
const UDP_OVER_INNER = UDP_HEADER_LEN + VXLAN_HEADER_LEN; // 16

/** Per-tunnel outer addressing: the node NIC toward one remote node. */
export interface VxlanTunnelConfig {
  srcMac: MacAddress;
  /** Next-hop MAC (the remote node, or the gateway toward it). */
  dstMac: MacAddress;
  srcIp: Ipv4Address;
  dstIp: Ipv4Address;
  /** Default 64 (OVS `options:ttl` unset: the system default). */
  ttl?: number;
  /** Default true (OVS `df_default`). */
  df?: boolean;
  /** Default 4789. */
  dstPort?: number;
  /** Outer TOS byte; default 0. */
  tos?: number;
}

/** A tunnel's cached outer header; `encapsulate` is the per-packet hot path. */
export class VxlanEncapTemplate {
  /** The 50 outer bytes with total length, ID, IP checksum, UDP source port, UDP length and VNI zero. */
  readonly header = new Uint8Array(VXLAN_OVERHEAD);
  /** Ones'-complement sum (not folded) of the outer IPv4 header as cached, i.e. without length and ID. */
  readonly ipPartialSum: number;

  constructor(readonly config: VxlanTunnelConfig) {
    const h = this.header;
    writeMac(h, 0, config.dstMac);
    writeMac(h, 6, config.srcMac);
    writeU16(h, 12, ETHERTYPE_IPV4);
    h[IP] = 0x45;
    h[IP + 1] = config.tos ?? 0;
    writeU16(h, IP + 6, (config.df ?? true) ? 0x4000 : 0);
    h[IP + 8] = config.ttl ?? 64;
    h[IP + 9] = IPPROTO_UDP;
    writeU32(h, IP + 12, config.srcIp);
    writeU32(h, IP + 16, config.dstIp);
    writeU16(h, UDP + 2, config.dstPort ?? VXLAN_PORT);
    h[VX] = VXLAN_FLAG_I;
    this.ipPartialSum = sum16(h, IP, IPV4_HEADER_LEN);
  }

  /**
   * Prepend the outer header to the inner frame in buf[innerStart, innerEnd): writes the 50 bytes at
   * innerStart - 50 (the caller guarantees the headroom) and returns that new start. Never allocates or copies
   * the inner frame. The outer UDP checksum is 0.
   */
  encapsulate(
    buf: Uint8Array,
    innerStart: number,
    innerEnd: number,
    vni: number,
    srcPort: number,
    ipId: number,
  ): number {
    const start = innerStart - VXLAN_OVERHEAD;
    if (start < 0) throw new EncodeError('vxlan', `needs ${VXLAN_OVERHEAD} bytes of headroom, have ${innerStart}`);
    const inner = innerEnd - innerStart;
    buf.set(this.header, start);
    const totalLength = inner + IP_OVER_INNER;
    writeU16(buf, start + IP_TOTAL_LEN, totalLength);
    writeU16(buf, start + IP_ID, ipId);
    // RFC 1624: the cached sum has 0 in the length and ID words, so adding their new values is the whole update.
    writeU16(buf, start + IP_CHECKSUM, finishChecksum(this.ipPartialSum + (totalLength & 0xffff) + (ipId & 0xffff)));
    writeU16(buf, start + UDP_SRC_PORT, srcPort);
    writeU16(buf, start + UDP_LENGTH, inner + UDP_OVER_INNER);
    writeU24(buf, start + VX_VNI, vni);
    return start;
  }
}

/**
 * The outer UDP source port for a flow, as Linux `udp_flow_src_port` computes it: fold the hash
 * (`hash ^= hash << 16`, in 32 bits), then scale it into [min, max) with `(hash * (max - min)) >> 32`.
 * Defaults are the OVS userspace range 32768..61000 (the kernel uses ip_local_port_range, 32768..60999).
 * `hash32` may be given as uint32 or as its int32 form: only its 32 bits count.
 */
export function vxlanSourcePort(hash32: number, min = 32768, max = 61000): number {
  const h = (hash32 ^ (hash32 << 16)) >>> 0;
  // h < 2^32 and (max - min) < 2^16, so the product is exact in a double and dividing by 2^32 is the shift.
  return Math.floor((h * (max - min)) / 4294967296) + min;
}

/** One murmur3_32 block round (Austin Appleby's public-domain constants). */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * flowHash5's bits as an int32. Hot paths use this form (or flowSourcePort): an int32 stays a small integer or
 * an untagged register value, while a uint32 >= 2^31 returned from a call that is not inlined is a heap number.
 * The endpoints are ordered by their int32 forms flipped at the sign bit, which is the unsigned order.
 */
export function flowHash5Int32(
  srcIp: Ipv4Address,
  dstIp: Ipv4Address,
  proto: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
): number {
  let a = srcIp | 0,
    b = dstIp | 0,
    pa = srcPort & 0xffff,
    pb = dstPort & 0xffff;
  const ua = a ^ 0x80000000,
    ub = b ^ 0x80000000; // signed compare of these == unsigned compare of a, b
  if (ua > ub || (ua === ub && pa > pb)) {
    const t = a;
    a = b;
    b = t;
    const tp = pa;
    pa = pb;
    pb = tp;
  }
  let h = seed | 0;
  h = mixBlock(h, a);
  h = mixBlock(h, b);
  h = mixBlock(h, (pa << 16) | pb);
  h = mixBlock(h, proto & 0xff);
  h ^= 16; // length in bytes of the four blocks
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * A 32-bit hash of an IPv4 5-tuple: murmur3_32 over 12 bytes (the two addresses, the two ports, the protocol)
 * with its final avalanche. Like the kernel's flow dissector hash it is symmetric: the endpoints are put in a
 * canonical order first, so both directions of a flow get the same hash (and the same VXLAN source port).
 * Deterministic for a given `seed` (the kernel's is random per boot). Never allocates; returns a uint32
 * (see flowHash5Int32 and flowSourcePort for the forms hot paths should call).
 */
export function flowHash5(
  srcIp: Ipv4Address,
  dstIp: Ipv4Address,
  proto: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
): number {
  return flowHash5Int32(srcIp, dstIp, proto, srcPort, dstPort, seed) >>> 0;
}

/**
 * The outer VXLAN source port of a flow in one call: `vxlanSourcePort(flowHash5(...), min, max)`, with the
 * hash kept as an int32 in between so nothing is boxed.
 */
export function flowSourcePort(
  srcIp: Ipv4Address,
  dstIp: Ipv4Address,
  proto: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
  min = 32768,
  max = 61000,
): number {
  return vxlanSourcePort(flowHash5Int32(srcIp, dstIp, proto, srcPort, dstPort, seed), min, max);
}

/** Reusable result of `decapsulate` (one per caller; read it before the next call). */
export class VxlanDecapResult {
  /** First byte of the inner Ethernet frame. */
  innerStart = 0;
  /** One past the inner frame's last byte (the UDP length's end; outer padding excluded). */
  innerEnd = 0;
  vni = 0;
  /** Outer IPv4 source and destination: OVS's tun_src / tun_dst. */
  tunSrc: Ipv4Address = 0;
  tunDst: Ipv4Address = 0;
  srcPort = 0;
  /** Why the frame was rejected (undefined on success). */
  code: FaultCode | undefined = undefined;
  faultLayer = '';
  faultOffset = -1;

  /** The rejection as a Fault (allocates; cold path). */
  toFault(): Fault | undefined {
    return this.code === undefined ? undefined : fault(this.faultLayer, this.code, this.faultOffset);
  }
}

function reject(out: VxlanDecapResult, layer: string, code: FaultCode, offset: number): number {
  out.code = code;
  out.faultLayer = layer;
  out.faultOffset = offset;
  return -1;
}

/**
 * Validate an untagged outer Ethernet/IPv4/UDP(dstPort)/VXLAN frame in buf[start, end) as Linux vxlan_rcv
 * would (IPv4 header checksum, UDP checksum when nonzero, I flag, reserved bits zero; fragments are rejected
 * as 'unsupported', no reassembly) and fill `out`. Returns the inner frame's start, or -1 with `out.code` set.
 * Never allocates.
 */
export function decapsulate(
  buf: Uint8Array,
  start: number,
  end: number,
  out: VxlanDecapResult,
  dstPort = VXLAN_PORT,
): number {
  out.code = undefined;
  out.faultLayer = '';
  out.faultOffset = -1;
  if (end - start < ETHERNET_HEADER_LEN) return reject(out, 'eth', 'truncated', start);
  if (readU16(buf, start + 12) !== ETHERTYPE_IPV4) return reject(out, 'eth', 'unsupported', start + 12);

  const ip = start + ETHERNET_HEADER_LEN;
  if (end - ip < IPV4_HEADER_LEN) return reject(out, 'ipv4', 'truncated', ip);
  if (buf[ip]! >>> 4 !== 4) return reject(out, 'ipv4', 'bad-version', ip);
  const ihl = (buf[ip]! & 0x0f) << 2;
  if (ihl < IPV4_HEADER_LEN) return reject(out, 'ipv4', 'bad-ihl', ip);
  if (end - ip < ihl) return reject(out, 'ipv4', 'truncated', ip);
  const total = readU16(buf, ip + 2);
  if (total < ihl || total > end - ip) return reject(out, 'ipv4', 'bad-length', ip + 2);
  if ((readU16(buf, ip + 6) & 0x3fff) !== 0) return reject(out, 'ipv4', 'unsupported', ip + 6);
  if (buf[ip + 9] !== IPPROTO_UDP) return reject(out, 'ipv4', 'unsupported', ip + 9);
  if (finishChecksum(sum16(buf, ip, ihl)) !== 0) return reject(out, 'ipv4', 'bad-checksum', ip + 10);
  const src = readU32(buf, ip + 12),
    dst = readU32(buf, ip + 16);

  const udp = ip + ihl,
    ipEnd = ip + total;
  if (ipEnd - udp < UDP_HEADER_LEN) return reject(out, 'udp', 'truncated', udp);
  if (readU16(buf, udp + 2) !== dstPort) return reject(out, 'udp', 'unsupported', udp + 2);
  const udpLen = readU16(buf, udp + 4);
  if (udpLen < UDP_HEADER_LEN || udpLen > ipEnd - udp) return reject(out, 'udp', 'bad-length', udp + 4);
  if (readU16(buf, udp + 6) !== 0) {
    const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + IPPROTO_UDP + udpLen;
    if (finishChecksum(sum16(buf, udp, udpLen, pseudo)) !== 0) return reject(out, 'udp', 'bad-checksum', udp + 6);
  }

  const vx = udp + UDP_HEADER_LEN,
    udpEnd = udp + udpLen;
  if (udpEnd - vx < VXLAN_HEADER_LEN) return reject(out, 'vxlan', 'truncated', vx);
  const flags = buf[vx]!;
  if ((flags & VXLAN_FLAG_I) === 0) return reject(out, 'vxlan', 'bad-flags', vx);
  if (flags !== VXLAN_FLAG_I) return reject(out, 'vxlan', 'reserved-nonzero', vx);
  const reserved =
    buf[vx + 1] !== 0
      ? vx + 1
      : buf[vx + 2] !== 0
        ? vx + 2
        : buf[vx + 3] !== 0
          ? vx + 3
          : buf[vx + 7] !== 0
            ? vx + 7
            : -1;
  if (reserved >= 0) return reject(out, 'vxlan', 'reserved-nonzero', reserved);

  const inner = vx + VXLAN_HEADER_LEN;
  if (udpEnd - inner < ETHERNET_HEADER_LEN) return reject(out, 'eth', 'truncated', inner);
  out.innerStart = inner;
  out.innerEnd = udpEnd;
  out.vni = readU24(buf, vx + 4);
  out.tunSrc = src;
  out.tunDst = dst;
  out.srcPort = readU16(buf, udp);
  return inner;
}
