/**
 * Frames the benchmarks work on, addressed as in OpenShift SDN (research/openshift-sdn.md): pod 10.128.0.5 on
 * node 192.168.126.11 talks to pod 10.129.0.7 on node 192.168.126.12 across the VXLAN overlay; pod MACs are
 * 0a:58:<IPv4>. Sizes are inner Ethernet frame sizes (Ethernet + IPv4 + UDP + payload, no FCS), so a 64-byte
 * inner frame becomes a 114-byte VXLAN frame.
 *
 * `buildInnerFrame` and `buildVxlanFrame` are also what the build-* benchmarks measure: payload first, then
 * each header innermost first into the headroom, with reused header objects (nothing allocated per packet).
 */

import { ipv4, mac, readU16, readU32 } from '../codecs/bytes.js';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, type EthernetHeader } from '../codecs/ethernet.js';
import { emitIpv4, IPPROTO_UDP, IPV4_HEADER_LEN, type Ipv4Header } from '../codecs/ipv4.js';
import { emitUdp, UDP_HEADER_LEN, type UdpHeader } from '../codecs/udp.js';
import { flowHash5Int32, flowSourcePort, type VxlanTunnelConfig } from '../codecs/vxlan-encap.js';
import { emitVxlan, VXLAN_HEADER_LEN, VXLAN_OVERHEAD, VXLAN_PORT, type VxlanHeader } from '../codecs/vxlan.js';
import { HEADROOM, type PacketBuffer, type BufferPool } from '../src/buffer/packet-buffer.js';

/** Ethernet + IPv4 + UDP headers of an inner frame. */
export const INNER_HEADERS_LEN = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN; // 42

/** Distinct flows cycled through by every benchmark: 256 frames of 1.5 KB stay cache-resident, like a hot pool. */
export const POOL_SIZE = 256;
export const POOL_MASK = POOL_SIZE - 1;

export const NODE1_MAC = mac('52:54:00:00:01:0b');
export const NODE2_MAC = mac('52:54:00:00:01:0c');
export const NODE1_IP = ipv4('192.168.126.11');
export const NODE2_IP = ipv4('192.168.126.12');
export const POD_A_IP = ipv4('10.128.0.5');
export const POD_B_IP = ipv4('10.129.0.7');
export const POD_A_MAC = 0x0a58_0000_0000 + POD_A_IP;
export const POD_B_MAC = 0x0a58_0000_0000 + POD_B_IP;

/** vxlan0 on node 1 toward node 2 (outer UDP checksum 0 and DF set, as OVS sends it). */
export const TUNNEL: VxlanTunnelConfig = { srcMac: NODE1_MAC, dstMac: NODE2_MAC, srcIp: NODE1_IP, dstIp: NODE2_IP };

/** The VNI of flow k: OpenShift gives each project a VNID; vary it so no field is constant. */
export function flowVni(k: number): number {
  return 1 + (k % 4096);
}

/** The inner UDP source port of flow k (the destination is port 9, discard). */
export function flowSrcPort(k: number): number {
  return 40000 + (k & 0x3fff);
}

/** A deterministic payload pattern of `length` bytes (never all zero, so checksums do real work). */
export function payloadPattern(length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let j = 0; j < length; j++) p[j] = (j * 31 + 7) & 0xff;
  return p;
}

/**
 * Builds frames into PacketBuffers with the emit* functions and header objects it owns and reuses. One builder
 * per frame size: the payload is a prebuilt array of exactly the right length, so copying it needs no view.
 */
export class FrameBuilder {
  readonly payload: Uint8Array;
  readonly innerEth: EthernetHeader = { dst: POD_B_MAC, src: POD_A_MAC, ethertype: ETHERTYPE_IPV4 };
  readonly innerIp: Ipv4Header = {
    protocol: IPPROTO_UDP,
    src: POD_A_IP,
    dst: POD_B_IP,
    ttl: 64,
    dontFragment: true,
    identification: 0,
  };
  readonly innerUdp: UdpHeader = { srcPort: 40000, dstPort: 9 };
  readonly vxlan: VxlanHeader = { vni: 1 };
  readonly outerUdp: UdpHeader = { srcPort: 0, dstPort: VXLAN_PORT, checksum: 0 };
  readonly outerIp: Ipv4Header = {
    protocol: IPPROTO_UDP,
    src: NODE1_IP,
    dst: NODE2_IP,
    ttl: 64,
    dontFragment: true,
    identification: 0,
  };
  readonly outerEth: EthernetHeader = { dst: NODE2_MAC, src: NODE1_MAC, ethertype: ETHERTYPE_IPV4 };

  /** `innerFrameLength` counts Ethernet through payload; at least 42. */
  constructor(readonly innerFrameLength: number) {
    if (innerFrameLength < INNER_HEADERS_LEN)
      throw new RangeError(`an inner frame needs at least ${INNER_HEADERS_LEN} bytes`);
    this.payload = payloadPattern(innerFrameLength - INNER_HEADERS_LEN);
  }

  /**
   * Write flow k's inner Ethernet/IPv4/UDP frame so that it starts at `frameStart` (default: the buffer's
   * headroom, leaving room to encapsulate). Inner checksums are computed. Returns the frame start.
   */
  buildInnerFrame(b: PacketBuffer, k: number, frameStart = HEADROOM): number {
    const payloadLength = this.payload.length;
    const d = b.data;
    b.setFrame(payloadLength, frameStart + INNER_HEADERS_LEN);
    d.set(this.payload, b.start);
    this.innerUdp.srcPort = flowSrcPort(k);
    emitUdp(this.innerUdp, d, b.prepend(UDP_HEADER_LEN), payloadLength, POD_A_IP, POD_B_IP);
    this.innerIp.identification = k & 0xffff;
    emitIpv4(this.innerIp, d, b.prepend(IPV4_HEADER_LEN), UDP_HEADER_LEN + payloadLength);
    emitEthernet(this.innerEth, d, b.prepend(ETHERNET_HEADER_LEN));
    return b.start;
  }

  /**
   * Build flow k's whole VXLAN frame header by header (the slow, general way; vxlan0 uses the template in
   * VxlanEncapTemplate instead). The outer source port comes from the inner 5-tuple as Linux computes it.
   * The frame ends up at the buffer's default headroom. Returns its length.
   */
  buildVxlanFrame(b: PacketBuffer, k: number): number {
    this.buildInnerFrame(b, k, HEADROOM + VXLAN_OVERHEAD);
    const d = b.data;
    const innerLength = b.length;
    this.vxlan.vni = flowVni(k);
    emitVxlan(this.vxlan, d, b.prepend(VXLAN_HEADER_LEN));
    this.outerUdp.srcPort = flowSourcePort(POD_A_IP, POD_B_IP, IPPROTO_UDP, flowSrcPort(k), 9);
    emitUdp(this.outerUdp, d, b.prepend(UDP_HEADER_LEN), VXLAN_HEADER_LEN + innerLength);
    this.outerIp.identification = (k * 7) & 0xffff;
    emitIpv4(this.outerIp, d, b.prepend(IPV4_HEADER_LEN), UDP_HEADER_LEN + VXLAN_HEADER_LEN + innerLength);
    emitEthernet(this.outerEth, d, b.prepend(ETHERNET_HEADER_LEN));
    return b.length;
  }
}

/** The 5-tuple hash (int32 form) of the inner IPv4/UDP-or-TCP frame starting at `frameStart` (IHL 5 assumed). */
export function innerFlowHash(d: Uint8Array, frameStart: number): number {
  const ip = frameStart + ETHERNET_HEADER_LEN;
  const l4 = ip + IPV4_HEADER_LEN;
  return flowHash5Int32(readU32(d, ip + 12), readU32(d, ip + 16), d[ip + 9]!, readU16(d, l4), readU16(d, l4 + 2));
}

/** POOL_SIZE buffers from `pool`, each filled by `fill(buffer, k)`. */
export function fillPool(pool: BufferPool, fill: (b: PacketBuffer, k: number) => void): PacketBuffer[] {
  const out: PacketBuffer[] = [];
  for (let k = 0; k < POOL_SIZE; k++) {
    const b = pool.acquire();
    fill(b, k);
    out.push(b);
  }
  return out;
}
