/**
 * vxlan0: br0's VXLAN port (ofport 1; `options:remote_ip=flow options:key=flow dst_port=4789`).
 *
 * Out: br0 sets tun_dst and tun_id and outputs to port 1; the frame is wrapped in Ethernet/IPv4/UDP/VXLAN
 * (VNI = tun_id, outer source = this node's IP, TTL 64, DF, UDP source port from the inner flow hash, UDP
 * checksum 0) and handed to the node kernel, which routes it out of the NIC like any local UDP datagram
 * (OUTPUT, `OPENSHIFT-NOTRACK`, ARP for the next hop, POSTROUTING).
 * In: the kernel's UDP 4789 socket passes the datagram here; it is unwrapped and enters br0 with in_port=1,
 * tun_id = VNI and tun_src = outer source.
 */

import { ipv4ToString, readU16, readU32 } from '../../codecs/bytes.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LEN } from '../../codecs/ipv4.js';
import { UDP_HEADER_LEN } from '../../codecs/udp.js';
import { VXLAN_HEADER_LEN, VXLAN_OVERHEAD } from '../../codecs/vxlan.js';
import { flowHash5Int32, VxlanEncapTemplate, vxlanSourcePort } from '../../codecs/vxlan-encap.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Runtime } from '../runtime/runtime.js';
import type { NetInterface } from './net-interface.js';
import { enterBridge, type BridgeInput, type OvsPort } from './ovs-ports.js';
import { HOP_NS } from '../runtime/clock.js';

/**
 * What vxlan0 needs of its host's kernel stack, owned here so the ports sit below the node that assembles them:
 * the UDP port hand-off (the kernel's udp_tunnel sock with its encap_rcv), the IPv4 ID counter and the IP output
 * path the encapsulated datagram leaves by (ip_local_out, as udp_tunnel_xmit_skb calls it).
 */
export interface VxlanHostStack {
  readonly udpKernelHandlers: Map<number, (pkt: PacketBuffer, l3: number, iface: NetInterface) => void>;
  nextIpId(): number;
  sendIp(pkt: PacketBuffer): boolean;
}
export class Vxlan0Port implements OvsPort {
  readonly ofport = 1;
  readonly name = 'vxlan0';
  tap = -1;
  /** One cached outer header per remote node (tun_dst). */
  private readonly templates = new Map<number, VxlanEncapTemplate>();
  /** Seed of the flow hash (the kernel's is random per boot; ours is per run, so bytes are reproducible). */
  private readonly hashSeed: number;

  constructor(
    readonly runtime: Runtime,
    readonly nodeName: string,
    readonly kernel: VxlanHostStack,
    readonly nodeIp: number,
    readonly bridge: BridgeInput,
    readonly udpPort = 4789,
  ) {
    this.hashSeed = runtime.rng.fork(`vxlan-hash:${nodeName}`).nextU32();
    kernel.udpKernelHandlers.set(udpPort, (pkt, l3, iface) => this.receive(pkt, l3, iface));
  }

  /** `tunDst` as int32 (the map key; a uint32 key >= 2^31 would be a heap number per lookup). */
  private template(tunDst: number): VxlanEncapTemplate {
    let t = this.templates.get(tunDst);
    if (!t) {
      // The outer Ethernet header is written by the kernel's neighbour layer after routing, so MACs are 0 here.
      t = new VxlanEncapTemplate({
        srcMac: 0,
        dstMac: 0,
        srcIp: this.nodeIp,
        dstIp: tunDst >>> 0,
        dstPort: this.udpPort,
      });
      this.templates.set(tunDst, t);
    }
    return t;
  }

  /** The Linux-style flow hash of the inner frame, scaled into the source port range. */
  private sourcePort(pkt: PacketBuffer): number {
    const d = pkt.data,
      s = pkt.start;
    const ethertype = readU16(d, s + 12);
    let h: number;
    if (ethertype === ETHERTYPE_IPV4 && pkt.length >= ETHERNET_HEADER_LEN + IPV4_HEADER_LEN) {
      const ip = s + ETHERNET_HEADER_LEN;
      const proto = d[ip + 9]!;
      const l4 = ip + ((d[ip]! & 0x0f) << 2);
      const ports = (proto === IPPROTO_TCP || proto === IPPROTO_UDP) && l4 + 4 <= pkt.end;
      h = flowHash5Int32(
        readU32(d, ip + 12),
        readU32(d, ip + 16),
        proto,
        ports ? readU16(d, l4) : 0,
        ports ? readU16(d, l4 + 2) : 0,
        this.hashSeed,
      );
    } else if (ethertype === ETHERTYPE_ARP && pkt.length >= ETHERNET_HEADER_LEN + 28) {
      const a = s + ETHERNET_HEADER_LEN;
      h = flowHash5Int32(readU32(d, a + 14), readU32(d, a + 24), 0, 0, 0, this.hashSeed);
    } else {
      h = this.hashSeed;
    }
    return vxlanSourcePort(h);
  }

  output(pkt: PacketBuffer): void {
    const rt = this.runtime;
    const tunDst = pkt.tunDst | 0,
      vni = pkt.tunId & 0xffffff;
    if (this.tap >= 0 && rt.capture) rt.captureFrame(this.tap, 'outbound', pkt, pkt.hopReason);
    pkt.hopReason = undefined;
    if (tunDst === 0) return rt.drop(pkt, this.nodeName, 'vxlan0: output with no tun_dst');
    const srcPort = this.sourcePort(pkt);
    const template = this.template(tunDst);
    const rec = rt.watch.observer;
    if (rec !== null) rec.encap(pkt, template, vni, srcPort, this.kernel);
    const start = template.encapsulate(pkt.data, pkt.start, pkt.end, vni, srcPort, this.kernel.nextIpId());
    pkt.start = start + ETHERNET_HEADER_LEN; // the kernel adds the real outer Ethernet header after routing
    if (rec !== null) rec.encapsulated(pkt);
    const trace = rt.traceOf(pkt);
    if (trace)
      trace.add(
        'encap',
        `vxlan0: encapsulate VNI ${vni} (0x${vni.toString(16)}): ${ipv4ToString(this.nodeIp)}:${srcPort} > ${ipv4ToString(tunDst >>> 0)}:${this.udpPort}, TTL 64, DF, UDP checksum 0`,
        { vni, tunDst: ipv4ToString(tunDst >>> 0), srcPort },
        this.nodeName,
      );
    // Tunnel transmit scrubs the skb (iptunnel_xmit): OVS metadata and conntrack do not follow the outer packet.
    pkt.clearMetadata();
    rt.clock.advance(HOP_NS.port);
    this.kernel.sendIp(pkt);
  }

  /** UDP 4789 arrived for this node (IPv4 at l3, Ethernet already pulled). */
  private receive(pkt: PacketBuffer, l3: number, _iface: NetInterface): void {
    const rt = this.runtime;
    const d = pkt.data;
    const ihl = (d[l3]! & 0x0f) << 2;
    const udp = l3 + ihl;
    const udpLen = readU16(d, udp + 4);
    const vx = udp + UDP_HEADER_LEN;
    if (udpLen < UDP_HEADER_LEN + VXLAN_HEADER_LEN + ETHERNET_HEADER_LEN || udp + udpLen > pkt.end)
      return rt.drop(pkt, this.nodeName, 'vxlan0: short VXLAN datagram');
    if ((d[vx]! & 0x08) === 0) return rt.drop(pkt, this.nodeName, 'vxlan0: VXLAN I flag clear');
    const tunSrc = readU32(d, l3 + 12),
      tunDst = readU32(d, l3 + 16);
    const vni = (d[vx + 4]! << 16) | (d[vx + 5]! << 8) | d[vx + 6]!;
    pkt.end = udp + udpLen;
    pkt.start = vx + VXLAN_HEADER_LEN;
    rt.watch.observer?.window(pkt);
    pkt.clearMetadata();
    pkt.tunId = vni;
    pkt.tunSrc = tunSrc;
    pkt.tunDst = tunDst;
    pkt.inPort = this.ofport;
    const trace = rt.traceOf(pkt);
    if (trace)
      trace.add(
        'encap',
        `vxlan0: decapsulate VNI ${vni} from ${ipv4ToString(tunSrc)}; enters br0 as in_port=1, tun_id=0x${vni.toString(16)}, tun_src=${ipv4ToString(tunSrc)}`,
        { vni, tunSrc: ipv4ToString(tunSrc) },
        this.nodeName,
      );
    if (this.tap >= 0 && rt.capture) rt.captureFrame(this.tap, 'inbound', pkt, undefined);
    rt.clock.advance(HOP_NS.port);
    enterBridge(rt, this.nodeName, this.bridge, pkt, trace);
  }
}

/** Bytes VXLAN adds in front of an inner frame. */
export const VXLAN_ENCAP_BYTES = VXLAN_OVERHEAD;
