/**
 * Stack: a small model of the Linux IPv4 stack, used for every host in the emulation — a pod's network
 * namespace, a node's kernel (tun0, NIC, forwarding, iptables), the underlay gateway and the external host.
 * Frames go in through interfaces and out through the neighbour (ARP) layer, in the kernel's order:
 *
 *   receive: ARP | IPv4 -> PREROUTING -> route -> INPUT -> local socket
 *                                              \-> FORWARD -> TTL-1 -> MTU -> POSTROUTING -> neighbour -> dev
 *   send:    socket -> route -> OUTPUT -> (reroute after DNAT) -> POSTROUTING -> neighbour -> dev
 *
 * Simplified (and said so): one routing table, no policy routing, no fragmentation (DF packets over the MTU
 * get ICMP fragmentation-needed; non-DF oversize packets are dropped with a counted reason), no IP options.
 */

import {
  ipv4ToString,
  MAC_BROADCAST,
  macToString,
  readI32,
  readMac,
  readU16,
  writeMac,
  writeU16,
  type Ipv4Address,
  type MacAddress,
} from '../../codecs/bytes.js';
import { internetChecksum } from '../../codecs/checksum.js';
import { ARP_LEN, ARP_REPLY, ARP_REQUEST, ArpView, emitArp } from '../../codecs/arp.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, padEthernetFrame } from '../../codecs/ethernet.js';
import { ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED } from '../../codecs/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LEN, Ipv4View } from '../../codecs/ipv4.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { NetInterface, type InterfaceOwner } from '../ports/net-interface.js';
import type { PathWatch } from '../path-observer/path-watch.js';
import { NF_ACCEPT, NF_REJECT, type NetfilterHooks } from '../runtime/netfilter-hooks.js';
import type { Route } from './routing.js';
import { LOOPBACK_IP, RoutingTable } from './routing.js';
import type { Runtime } from '../runtime/runtime.js';
import { SocketLayer } from './sockets.js';
import { HOP_NS } from '../runtime/clock.js';

/**
 * Bytes of packets Linux queues per unresolved neighbour (net.ipv4.neigh.default.unres_qlen_bytes, default
 * SK_WMEM_MAX = 212992 on x86_64). A packet counts its skb truesize; past the limit the oldest queued packets are
 * dropped to make room (__neigh_event_send, SKB_DROP_REASON_NEIGH_QUEUEFULL).
 */
export const UNRES_QLEN_BYTES = 212992;

/**
 * SKB_TRUESIZE of a frame: its length plus SKB_DATA_ALIGN(sizeof(struct sk_buff)) = 256 and
 * SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) = 320 on x86_64 (so unres_qlen = 212992 / SKB_TRUESIZE(1514)
 * = 101). Simplified: a real skb's truesize also counts its allocation's rounding and headroom.
 */
export function skbTruesize(frameLength: number): number {
  return frameLength + 576;
}

/** Packets waiting for one neighbour's ARP answer, and their truesize in all. */
interface NeighbourQueue {
  items: { pkt: PacketBuffer; reason: string; truesize: number }[];
  bytes: number;
}
const ICMP_FRAG_NEEDED_CODE = 4;
const ICMP_PORT_UNREACH_CODE = 3;
const ICMP_NET_UNREACH_CODE = 0;
const ICMP_HOST_UNREACH_CODE = 1;
/** lo's MTU since Linux 3.6. */
const LOOPBACK_MTU = 65536;
/** 01:00:5e:00:00:00, the IPv4 multicast MAC prefix (RFC 1112 section 6.4). */
const MULTICAST_MAC_BASE = 0x01005e000000;

/** A handler for a local UDP port owned by the kernel itself (the VXLAN socket on 4789). */
export type UdpKernelHandler = (pkt: PacketBuffer, l3: number, iface: NetInterface) => void;

export class Stack implements InterfaceOwner {
  readonly interfaces: NetInterface[] = [];
  readonly routes: RoutingTable;
  /** Neighbour table: key = interface index * 2^32 + IPv4 address. */
  private readonly neighbours = new Map<number, MacAddress>();
  private readonly unresolved = new Map<number, NeighbourQueue>();
  private forwardingOn = false;
  private hooks: NetfilterHooks | null = null;
  readonly udpKernelHandlers = new Map<number, UdpKernelHandler>();
  readonly sockets: SocketLayer;
  private ipId: number;
  private readonly view = new Ipv4View(new Uint8Array(0));
  private readonly arpView = new ArpView(new Uint8Array(0));
  /** The runtime's path watch: a walk being recorded hears of each step here. */
  private readonly watch: PathWatch;

  constructor(
    readonly runtime: Runtime,
    /** Host name used in traces and drop counters. */
    readonly name: string,
  ) {
    this.ipId = runtime.rng.fork(`ipid:${name}`).int(0, 0xffff);
    this.routes = new RoutingTable(runtime.config);
    this.watch = runtime.watch;
    this.sockets = new SocketLayer(this);
  }

  /** net.ipv4.ip_forward. */
  get forwarding(): boolean {
    return this.forwardingOn;
  }

  set forwarding(v: boolean) {
    this.runtime.config.changed();
    this.forwardingOn = v;
  }

  /** The namespace's iptables and conntrack, if any. */
  get netfilter(): NetfilterHooks | null {
    return this.hooks;
  }

  set netfilter(nf: NetfilterHooks | null) {
    this.runtime.config.changed();
    this.hooks = nf;
  }

  addInterface(iface: NetInterface): NetInterface {
    this.runtime.config.changed();
    this.interfaces.push(iface);
    return iface;
  }

  interfaceIndex(iface: NetInterface): number {
    return this.interfaces.indexOf(iface);
  }

  /** `ip` as uint32 or int32. */
  isLocalAddress(ip: Ipv4Address): boolean {
    const ifs = this.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i]!.hasAddress(ip)) return true;
    return false;
  }

  /** Next IP identification (one counter per host; Linux hashes per destination — simplified). */
  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  // ---------------------------------------------------------------- neighbours

  private neighbourKey(iface: NetInterface, ip: Ipv4Address): number {
    return this.interfaceIndex(iface) * 0x100000000 + (ip >>> 0);
  }

  /** Per interface: int32 address -> MAC (the hot-path index beside `neighbours`; no double keys, no indexOf). */
  private readonly neighbourIndex = new Map<NetInterface, Map<number, MacAddress>>();

  setNeighbour(iface: NetInterface, ip: Ipv4Address, mac: MacAddress): void {
    this.neighbours.set(this.neighbourKey(iface, ip), mac);
    let m = this.neighbourIndex.get(iface);
    if (!m) this.neighbourIndex.set(iface, (m = new Map()));
    if (m.get(ip | 0) !== mac) this.runtime.config.changed();
    m.set(ip | 0, mac);
  }

  lookupNeighbour(iface: NetInterface, ip: Ipv4Address): MacAddress | undefined {
    return this.neighbourIndex.get(iface)?.get(ip | 0);
  }

  /** `ip neigh` text. */
  formatNeighbours(): string {
    const lines: string[] = [];
    for (const [key, mac] of this.neighbours) {
      const iface = this.interfaces[Math.floor(key / 0x100000000)]!;
      lines.push(`${ipv4ToString(key % 0x100000000)} dev ${iface.name} lladdr ${macToString(mac)} REACHABLE`);
    }
    return lines.join('\n');
  }

  // ---------------------------------------------------------------- receive

  receiveOn(iface: NetInterface, pkt: PacketBuffer): void {
    const rt = this.runtime;
    if (pkt.length < ETHERNET_HEADER_LEN) return rt.drop(pkt, this.name, `${iface.name}: runt frame`);
    const d = pkt.data;
    // The destination as int32 halves: a 48-bit MAC as one number is a heap number whenever it is not inlined.
    const s = pkt.start;
    const dstHi = (d[s]! << 8) | d[s + 1]!;
    const dstLo = readI32(d, s + 2);
    const own = iface.mac;
    const mine = dstHi === Math.floor(own / 0x100000000) && dstLo === ((own % 0x100000000) | 0);
    if (!mine && !(dstHi === 0xffff && dstLo === -1) && !iface.promiscuous) {
      return rt.drop(pkt, this.name, `${iface.name}: frame for ${macToString(readMac(d, s))}, not this host`);
    }
    const ethertype = readU16(d, pkt.start + 12);
    if (ethertype === ETHERTYPE_ARP) return this.receiveArp(iface, pkt);
    if (ethertype !== ETHERTYPE_IPV4)
      return rt.drop(pkt, this.name, `${iface.name}: ethertype 0x${ethertype.toString(16)} not handled`);
    pkt.pull(ETHERNET_HEADER_LEN);
    this.watch.observer?.window(pkt);
    this.receiveIpv4(iface, pkt, mine);
  }

  private receiveArp(iface: NetInterface, pkt: PacketBuffer): void {
    const rt = this.runtime;
    const a = this.arpView.reset(pkt.data, pkt.start + ETHERNET_HEADER_LEN);
    if (a.check(pkt.end)) return rt.drop(pkt, this.name, `${iface.name}: malformed ARP`);
    const op = a.op,
      spa = a.senderIp,
      sha = a.senderMac,
      tpa = a.targetIp;
    const forUs = this.isLocalAddress(tpa);
    const trace = rt.traceOf(pkt);
    // Linux updates an existing entry from any ARP, and creates one when the request/reply is for us.
    const key = this.neighbourKey(iface, spa);
    if (forUs || this.neighbours.has(key)) {
      this.setNeighbour(iface, spa, sha);
      this.flushUnresolved(iface, spa, sha);
    }
    if (op === ARP_REQUEST && forUs) {
      trace?.add(
        'arp',
        `ARP: ${ipv4ToString(tpa)} is at ${macToString(iface.mac)} (${iface.name}); replying to ${ipv4ToString(spa)}`,
        undefined,
        this.name,
      );
      rt.deliver(pkt, this.name, `${this.name} ARP (${iface.name})`);
      this.sendArp(iface, ARP_REPLY, iface.mac, tpa, sha, spa, sha);
      return;
    }
    if (op === ARP_REPLY && forUs) {
      trace?.add(
        'arp',
        `ARP: learned ${ipv4ToString(spa)} at ${macToString(sha)} on ${iface.name}`,
        undefined,
        this.name,
      );
      rt.deliver(pkt, this.name, `${this.name} ARP (${iface.name})`);
      return;
    }
    rt.consume(pkt, this.name, `${iface.name}: ARP for ${ipv4ToString(tpa)} ignored (not a local address)`);
  }

  /** `toHost`: the frame was addressed to this interface's MAC (the kernel's pkt_type PACKET_HOST). */
  private receiveIpv4(iface: NetInterface, pkt: PacketBuffer, toHost: boolean): void {
    const rt = this.runtime;
    const l3 = pkt.start;
    const v = this.view.reset(pkt.data, l3);
    const f = v.check(pkt.end);
    if (f) return rt.drop(pkt, this.name, `${iface.name}: ipv4 ${f.code} at ${f.offset - l3}`);
    if (!v.checksumValid()) return rt.drop(pkt, this.name, `${iface.name}: bad IPv4 header checksum`);
    // Strip Ethernet padding: the IP total length says where the datagram ends.
    pkt.end = l3 + v.totalLength;
    this.watch.observer?.window(pkt);
    const trace = rt.traceOf(pkt);
    const nf = this.netfilter;
    if (nf && nf.prerouting(pkt, l3, iface.name, trace) !== NF_ACCEPT) {
      return rt.drop(pkt, this.name, `iptables PREROUTING: ${nf.lastRule?.() ?? 'dropped'}`);
    }
    const dst = v.reset(pkt.data, l3).dstI32;
    // Loopback addresses from a wire are martians (ip_route_input_slow: ipv4_is_loopback, route_localnet off).
    if (dst >>> 24 === 127)
      return rt.drop(
        pkt,
        this.name,
        `${iface.name}: martian destination ${ipv4ToString(dst >>> 0)} (loopback address from a device)`,
      );
    if (v.srcI32 >>> 24 === 127)
      return rt.drop(
        pkt,
        this.name,
        `${iface.name}: martian source ${ipv4ToString(v.src)} (loopback address from a device)`,
      );
    if (this.isLocalAddress(dst) || dst === -1) return this.localIn(iface, pkt, l3);
    if (!this.forwarding)
      return rt.drop(pkt, this.name, `${iface.name}: ${ipv4ToString(dst >>> 0)} is not local and forwarding is off`);
    // ip_forward: "if (skb->pkt_type != PACKET_HOST) goto drop" — a datagram that came in a link-layer broadcast
    // (or for another MAC) is never routed on; without this, one broadcast frame would be re-flooded by every
    // router on the segment until its TTL ran out (found by fuzzing).
    if (!toHost)
      return rt.drop(
        pkt,
        this.name,
        `${iface.name}: ${ipv4ToString(dst >>> 0)} is not local and the frame was not addressed to ${iface.name}'s MAC: not forwarded`,
      );
    this.forward(iface, pkt, l3);
  }

  private localIn(iface: NetInterface, pkt: PacketBuffer, l3: number): void {
    const rt = this.runtime;
    const trace = rt.traceOf(pkt);
    const nf = this.netfilter;
    if (nf) {
      const verdict = nf.input(pkt, l3, iface.name, trace);
      if (verdict !== NF_ACCEPT) {
        const rule = nf.lastRule?.() ?? 'dropped';
        if (verdict === NF_REJECT) this.sendIcmpError(pkt, l3, iface, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0);
        return rt.drop(pkt, this.name, `iptables INPUT: ${rule}`);
      }
    }
    const v = this.view.reset(pkt.data, l3);
    const proto = v.protocol;
    const l4 = l3 + v.headerLength;
    if (proto === IPPROTO_UDP) {
      const handler = this.udpKernelHandlers.get(readU16(pkt.data, l4 + 2));
      if (handler) return handler(pkt, l3, iface);
    }
    // The packet has arrived: a path recording ends here, and what the host does with it runs live.
    this.watch.observer?.handoff(this, iface, pkt, l3);
    this.deliverLocal(iface, pkt, l3);
  }

  /**
   * Local delivery of an IPv4 datagram that passed INPUT: ICMP echo, a socket, or an error back to the sender. The
   * fast path (fastpath/) hands replayed packets in here.
   */
  deliverLocal(iface: NetInterface, pkt: PacketBuffer, l3: number): void {
    const rt = this.runtime;
    const v = this.view.reset(pkt.data, l3);
    const proto = v.protocol;
    const l4 = l3 + v.headerLength;
    if (proto === IPPROTO_ICMP && pkt.data[l4] === ICMP_ECHO_REQUEST) return this.answerEcho(pkt, l3);
    if (proto === IPPROTO_ICMP && pkt.data[l4] === ICMP_ECHO_REPLY) {
      const ping = this.pings.get(readU16(pkt.data, l4 + 4));
      if (ping) {
        ping.replied = true;
        return rt.deliver(pkt, this.name, `${this.name} ping (ICMP echo reply)`);
      }
    }
    if (proto === IPPROTO_ICMP) return rt.deliver(pkt, this.name, `${this.name} ICMP (type ${pkt.data[l4]})`);
    if (this.sockets.receive(pkt, l3, iface)) return;
    if (proto === IPPROTO_UDP) this.sendIcmpError(pkt, l3, iface, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0);
    if (proto === IPPROTO_TCP) this.sockets.sendReset(pkt, l3);
    rt.drop(
      pkt,
      this.name,
      `no socket for ${protoName(proto)} port ${proto === IPPROTO_ICMP ? '-' : readU16(pkt.data, l4 + 2)}`,
    );
  }

  private forward(inIf: NetInterface, pkt: PacketBuffer, l3: number): void {
    const rt = this.runtime;
    const trace = rt.traceOf(pkt);
    let v = this.view.reset(pkt.data, l3);
    const dst = v.dstI32;
    const route = this.routes.lookup(dst);
    if (!route) {
      this.sendIcmpError(pkt, l3, inIf, ICMP_DEST_UNREACH, ICMP_NET_UNREACH_CODE, 0);
      return rt.drop(pkt, this.name, `no route to ${ipv4ToString(dst >>> 0)}`);
    }
    if (trace)
      trace.add(
        'route',
        `route ${ipv4ToString(v.dst)}: ${describeRoute(route)} (forward ${inIf.name} -> ${route.dev.name})`,
        { dev: route.dev.name },
        this.name,
      );
    if (v.ttl <= 1) {
      this.sendIcmpError(pkt, l3, inIf, ICMP_TIME_EXCEEDED, 0, 0);
      return rt.drop(pkt, this.name, `TTL expired forwarding to ${ipv4ToString(dst >>> 0)}`);
    }
    // ip_forward checks the MTU before the FORWARD hook and before decrementing the TTL: the ICMP error quotes
    // the header as it arrived, and a FORWARD rule never hides a too-big packet.
    const mtu = route.mtu ?? route.dev.mtu;
    const total = v.totalLength;
    if (total > mtu) {
      if (v.dontFragment) {
        this.sendIcmpError(pkt, l3, inIf, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, mtu); // reuses this.view
        return rt.drop(pkt, this.name, `${total}-byte packet with DF exceeds ${route.dev.name} MTU ${mtu}`);
      }
      return rt.drop(
        pkt,
        this.name,
        `${total}-byte packet exceeds ${route.dev.name} MTU ${mtu} (fragmentation not modelled)`,
      );
    }
    const nf = this.netfilter;
    if (nf) {
      const verdict = nf.forward(pkt, l3, inIf.name, route.dev.name, trace);
      if (verdict !== NF_ACCEPT) {
        if (verdict === NF_REJECT) this.sendIcmpError(pkt, l3, inIf, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0);
        return rt.drop(pkt, this.name, `iptables FORWARD: ${nf.lastRule?.() ?? 'dropped'}`);
      }
    }
    v = this.view.reset(pkt.data, l3);
    v.decrementTtl();
    this.watch.observer?.stackDecTtl(pkt, l3);
    this.postroutingAndOutput(pkt, l3, route);
  }

  // ---------------------------------------------------------------- send

  /**
   * Send a locally generated IPv4 datagram that starts at pkt.start (header and checksum written by the caller).
   * Returns false when it was dropped (no route, rule).
   */
  sendIp(pkt: PacketBuffer): boolean {
    // The local table first (own addresses, 127/8, 0.0.0.0: through lo), then the main table. Two functions so the
    // routed path, the hot one, stays as small as it was (a loopback branch inside it cost allocations per packet).
    if (this.isLoopbackDestination(this.view.reset(pkt.data, pkt.start).dstI32))
      return this.sendLoopback(pkt, pkt.start, false);
    return this.sendRouted(pkt);
  }

  private sendRouted(pkt: PacketBuffer): boolean {
    const rt = this.runtime;
    const l3 = pkt.start;
    const trace = rt.traceOf(pkt);
    let v = this.view.reset(pkt.data, l3);
    let route = this.routes.lookup(v.dstI32);
    if (!route) {
      rt.drop(pkt, this.name, `no route to ${ipv4ToString(v.dst)}`);
      return false;
    }
    const nf = this.netfilter;
    if (nf) {
      const before = v.dstI32;
      if (nf.output(pkt, l3, route.dev.name, trace) !== NF_ACCEPT) {
        rt.drop(pkt, this.name, `iptables OUTPUT: ${nf.lastRule?.() ?? 'dropped'}`);
        return false;
      }
      v = this.view.reset(pkt.data, l3);
      if (v.dstI32 !== before) {
        // DNAT in OUTPUT: the kernel routes again (ip_route_me_harder), possibly to a local address.
        if (this.isLoopbackDestination(v.dstI32)) return this.sendLoopback(pkt, l3, true);
        route = this.routes.lookup(v.dstI32);
        if (!route) {
          rt.drop(pkt, this.name, `no route to ${ipv4ToString(v.dst)} after DNAT`);
          return false;
        }
      }
    }
    if (trace)
      trace.add(
        'route',
        `route ${ipv4ToString(v.dst)}: ${describeRoute(route)} (local output)`,
        { dev: route.dev.name },
        this.name,
      );
    const mtu = route.mtu ?? route.dev.mtu;
    if (v.totalLength > mtu) {
      rt.drop(pkt, this.name, `local send of ${v.totalLength} bytes exceeds ${route.dev.name} MTU ${mtu} (EMSGSIZE)`);
      return false;
    }
    this.postroutingAndOutput(pkt, l3, route);
    return true;
  }

  /** Source address the kernel picks for a destination (route src, else the device's primary address). */
  sourceFor(dst: Ipv4Address): Ipv4Address {
    // The local table (ip route show table local): 127/8 and 0.0.0.0 leave from 127.0.0.1, an own address from itself.
    if (dst >>> 24 === 127 || dst === 0) return LOOPBACK_IP;
    if (this.isLocalAddress(dst)) return dst;
    const r = this.routes.lookup(dst);
    if (!r) return 0;
    return r.src ?? r.dev.primaryIp;
  }

  /**
   * Whether the kernel's local routing table takes `dst` (int32 or uint32): an address of this host, 127.0.0.0/8,
   * or 0.0.0.0 (connect() to INADDR_ANY reaches this host, ip_route_output_key_hash_rcu). Such packets never
   * reach a device's neighbour layer: they go through `lo`.
   */
  isLoopbackDestination(dst: number): boolean {
    return dst >>> 24 === 127 || dst === 0 || this.isLocalAddress(dst);
  }

  private lo: NetInterface | null = null;

  /** The loopback device, made on first use (it is not a capture point, and most hosts never need it). */
  loopback(): NetInterface {
    if (!this.lo) {
      // Not in `interfaces`: no capture point, no neighbour table, no change to other devices' numbering.
      this.lo = new NetInterface(this.runtime, this, 'lo', 0, LOOPBACK_MTU);
      this.lo.addAddress({ ip: LOOPBACK_IP, prefix: 8 });
    }
    return this.lo;
  }

  /**
   * A locally generated packet to a local address, as Linux sends it: OUTPUT and POSTROUTING with `-o lo`, then
   * loopback_xmit hands it back to ip_rcv on lo (PREROUTING, INPUT) and local delivery. No Ethernet header, no
   * ARP, no capture (packetwalk does not tap lo).
   */
  private sendLoopback(pkt: PacketBuffer, l3: number, outputDone: boolean): boolean {
    const rt = this.runtime;
    this.watch.observer?.veto('loopback');
    const trace = rt.traceOf(pkt);
    const lo = this.loopback();
    const nf = this.netfilter;
    if (nf && !outputDone && nf.output(pkt, l3, lo.name, trace) !== NF_ACCEPT) {
      rt.drop(pkt, this.name, `iptables OUTPUT: ${nf.lastRule?.() ?? 'dropped'}`);
      return false;
    }
    const v = this.view.reset(pkt.data, l3);
    if (trace)
      trace.add(
        'route',
        `route ${ipv4ToString(v.dst)}: local ${ipv4ToString(v.dst)} dev lo table local (local output, looped back)`,
        { dev: lo.name },
        this.name,
      );
    if (nf && nf.postrouting(pkt, l3, lo.name, trace) !== NF_ACCEPT) {
      rt.drop(pkt, this.name, `iptables POSTROUTING: ${nf.lastRule?.() ?? 'dropped'}`);
      return false;
    }
    lo.txPackets++;
    lo.rxPackets++;
    if (nf && nf.prerouting(pkt, l3, lo.name, trace) !== NF_ACCEPT) {
      rt.drop(pkt, this.name, `iptables PREROUTING: ${nf.lastRule?.() ?? 'dropped'}`);
      return false;
    }
    this.localIn(lo, pkt, l3);
    return true;
  }

  private postroutingAndOutput(pkt: PacketBuffer, l3: number, route: Route): void {
    const rt = this.runtime;
    const nf = this.netfilter;
    if (nf) {
      const trace = rt.traceOf(pkt);
      if (nf.postrouting(pkt, l3, route.dev.name, trace) !== NF_ACCEPT) {
        return rt.drop(pkt, this.name, `iptables POSTROUTING: ${nf.lastRule?.() ?? 'dropped'}`);
      }
    }
    const dst = this.view.reset(pkt.data, l3).dstI32;
    // The hop reason is a capture comment: built only while capturing.
    // The gateway as int32 (Route.gatewayI32): a uint32 loaded from a field and passed on would be a heap number.
    const gw = route.gatewayI32 ?? 0;
    this.neighbourOutput(
      pkt,
      route.dev,
      gw !== 0 ? gw : dst,
      rt.capture ? (route.hopReason ??= `route ${describeRoute(route)}`) : '',
    );
  }

  /** Put an Ethernet header on an IPv4 datagram and transmit, resolving the next hop with ARP first if needed. */
  neighbourOutput(pkt: PacketBuffer, dev: NetInterface, nextHop: Ipv4Address, reason: string): void {
    const mac = this.lookupNeighbour(dev, nextHop);
    if (mac === undefined) {
      // Multicast and broadcast need no ARP (arp_mc_map): 224/4 goes to 01:00:5e + its low 23 bits,
      // 255.255.255.255 to ff:ff:ff:ff:ff:ff. Checked here, off the resolved-neighbour path.
      if (nextHop >>> 28 === 0xe || (nextHop | 0) === -1) return this.transmitGroup(pkt, dev, nextHop, reason);
      this.watch.observer?.veto('neighbour unresolved');
      nextHop = nextHop >>> 0; // callers may pass the int32 form
      const key = this.neighbourKey(dev, nextHop);
      let q = this.unresolved.get(key);
      const first = !q;
      if (!q) this.unresolved.set(key, (q = { items: [], bytes: 0 }));
      const truesize = skbTruesize(pkt.length + ETHERNET_HEADER_LEN);
      while (q.bytes + truesize > UNRES_QLEN_BYTES && q.items.length > 0) {
        const old = q.items.shift()!;
        q.bytes -= old.truesize;
        this.runtime.drop(
          old.pkt,
          this.name,
          `neighbour ${ipv4ToString(nextHop)} on ${dev.name} unresolved: queue full (unres_qlen_bytes ${UNRES_QLEN_BYTES}), oldest packet dropped`,
        );
      }
      q.items.push({ pkt, reason, truesize });
      q.bytes += truesize;
      this.runtime
        .traceOf(pkt)
        ?.add(
          'arp',
          `neighbour ${ipv4ToString(nextHop)} on ${dev.name} unresolved: queued, ${first ? 'sending ARP request' : 'ARP request already sent'}`,
          undefined,
          this.name,
        );
      if (first) this.sendArpRequest(dev, nextHop, this.view.reset(pkt.data, pkt.start).src);
      return;
    }
    this.transmitIp(pkt, dev, mac, reason);
  }

  private transmitGroup(pkt: PacketBuffer, dev: NetInterface, group: Ipv4Address, reason: string): void {
    this.transmitIp(
      pkt,
      dev,
      (group | 0) === -1 ? MAC_BROADCAST : MULTICAST_MAC_BASE + ((group >>> 0) & 0x7fffff),
      reason,
    );
  }

  private transmitIp(pkt: PacketBuffer, dev: NetInterface, dstMac: MacAddress, reason: string): void {
    const o = pkt.prepend(ETHERNET_HEADER_LEN);
    const d = pkt.data;
    writeMac(d, o, dstMac);
    writeMac(d, o + 6, dev.mac);
    writeU16(d, o + 12, ETHERTYPE_IPV4);
    this.watch.observer?.wrote(pkt, o, ETHERNET_HEADER_LEN);
    pkt.hopReason = reason;
    dev.transmit(pkt);
  }

  private flushUnresolved(iface: NetInterface, ip: Ipv4Address, mac: MacAddress): void {
    const key = this.neighbourKey(iface, ip);
    const q = this.unresolved.get(key);
    if (!q) return;
    this.unresolved.delete(key);
    for (const { pkt: p, reason } of q.items) {
      this.runtime
        .traceOf(p)
        ?.add(
          'arp',
          `neighbour ${ipv4ToString(ip)} resolved to ${macToString(mac)}: sending queued packet`,
          undefined,
          this.name,
        );
      this.transmitIp(p, iface, mac, reason);
    }
  }

  /**
   * Finish neighbour resolution that is still pending: Linux sends up to 3 requests a second apart
   * (mcast_solicit), then drops the queued packets and reports ICMP host unreachable to the sender of each
   * forwarded one (arp_error_report). Returns how many neighbours failed.
   */
  settleNeighbours(): number {
    if (this.unresolved.size === 0) return 0;
    let failed = 0;
    for (const [key, q] of [...this.unresolved]) {
      const iface = this.interfaces[Math.floor(key / 0x100000000)]!;
      const ip = key % 0x100000000;
      for (let attempt = 2; attempt <= 3 && this.unresolved.has(key); attempt++) {
        this.runtime.clock.advance(1_000_000_000);
        this.sendArpRequest(iface, ip, this.view.reset(q.items[0]!.pkt.data, q.items[0]!.pkt.start).src);
      }
      if (!this.unresolved.has(key)) continue;
      this.unresolved.delete(key);
      failed++;
      for (const { pkt } of q.items) {
        const src = this.view.reset(pkt.data, pkt.start).src;
        if (!this.isLocalAddress(src))
          this.sendIcmpError(pkt, pkt.start, iface, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH_CODE, 0);
        this.runtime.drop(pkt, this.name, `ARP for ${ipv4ToString(ip)} on ${iface.name} failed after 3 requests`);
      }
    }
    return failed;
  }

  /** ARP who-has `target`; the sender IP is the packet's source when it is ours, else the device's address (arp_announce=0). */
  private sendArpRequest(dev: NetInterface, target: Ipv4Address, packetSrc: Ipv4Address): void {
    const spa = dev.hasAddress(packetSrc) || this.isLocalAddress(packetSrc) ? packetSrc : dev.primaryIp;
    this.sendArp(dev, ARP_REQUEST, dev.mac, spa, 0, target, MAC_BROADCAST);
  }

  private sendArp(
    dev: NetInterface,
    op: number,
    sha: MacAddress,
    spa: Ipv4Address,
    tha: MacAddress,
    tpa: Ipv4Address,
    ethDst: MacAddress,
  ): void {
    const rt = this.runtime;
    const pkt = rt.newPacket(
      this.name,
      op === ARP_REQUEST ? `ARP who-has ${ipv4ToString(tpa)}` : `ARP ${ipv4ToString(spa)} is-at`,
    );
    const o = pkt.setFrame(ETHERNET_HEADER_LEN + ARP_LEN);
    const d = pkt.data;
    writeMac(d, o, ethDst);
    writeMac(d, o + 6, dev.mac);
    writeU16(d, o + 12, ETHERTYPE_ARP);
    emitArp({ op, senderMac: sha, senderIp: spa, targetMac: tha, targetIp: tpa }, d, o + ETHERNET_HEADER_LEN);
    pkt.end = padEthernetFrame(d, pkt.start, pkt.end);
    rt.traceOf(pkt)?.add(
      'arp',
      `${this.name} ${dev.name}: ${op === ARP_REQUEST ? `ARP who-has ${ipv4ToString(tpa)} tell ${ipv4ToString(spa)}` : `ARP reply ${ipv4ToString(spa)} is-at ${macToString(sha)}`}`,
      undefined,
      this.name,
    );
    pkt.hopReason = op === ARP_REQUEST ? `ARP request for ${ipv4ToString(tpa)}` : `ARP reply for ${ipv4ToString(spa)}`;
    dev.transmit(pkt);
  }

  // ---------------------------------------------------------------- ICMP

  private readonly pings = new Map<number, { id: number; replied: boolean }>();
  private pingId = 0;

  /** Send one ICMP echo request of `payloadSize` bytes (like `ping -c 1 -s N`). */
  ping(dst: Ipv4Address, payloadSize = 56): { id: number; replied: boolean } {
    const rt = this.runtime;
    if (dst === 0) dst = LOOPBACK_IP; // ping 0.0.0.0 pings this host (ip_route_output_key_hash_rcu)
    const id = (this.pingId = this.pingId
      ? (this.pingId + 1) & 0xffff
      : rt.rng.fork(`ping:${this.name}`).int(1, 0xffff));
    const state = { id, replied: false };
    this.pings.set(id, state);
    const pkt = rt.newPacket(this.name, `ICMP echo request to ${ipv4ToString(dst)}`);
    const icmpLen = 8 + payloadSize;
    const o = pkt.setFrame(IPV4_HEADER_LEN + icmpLen);
    const d = pkt.data;
    const ic = o + IPV4_HEADER_LEN;
    d[ic] = ICMP_ECHO_REQUEST;
    d[ic + 1] = 0;
    writeU16(d, ic + 2, 0);
    writeU16(d, ic + 4, id);
    writeU16(d, ic + 6, 1);
    for (let i = 0; i < payloadSize; i++) d[ic + 8 + i] = (0x10 + i) & 0xff; // ping's pattern after its timestamp
    writeU16(d, ic + 2, internetChecksum(d, ic, icmpLen));
    emitIpv4(
      {
        protocol: IPPROTO_ICMP,
        src: this.sourceFor(dst),
        dst,
        ttl: 64,
        dontFragment: true,
        identification: this.nextIpId(),
      },
      d,
      o,
      icmpLen,
    );
    this.sendIp(pkt);
    return state;
  }

  private answerEcho(req: PacketBuffer, l3: number): void {
    const rt = this.runtime;
    const v = this.view.reset(req.data, l3);
    const src = v.src,
      dst = v.dst,
      hl = v.headerLength,
      total = v.totalLength;
    const icmpLen = total - hl;
    const pkt = rt.newPacket(this.name, 'ICMP echo reply');
    const o = pkt.setFrame(IPV4_HEADER_LEN + icmpLen);
    req.data.copy(pkt.data, o + IPV4_HEADER_LEN, l3 + hl, l3 + total);
    pkt.data[o + IPV4_HEADER_LEN] = ICMP_ECHO_REPLY;
    writeU16(pkt.data, o + IPV4_HEADER_LEN + 2, 0);
    writeU16(pkt.data, o + IPV4_HEADER_LEN + 2, internetChecksum(pkt.data, o + IPV4_HEADER_LEN, icmpLen));
    emitIpv4(
      { protocol: IPPROTO_ICMP, src: dst, dst: src, ttl: 64, identification: this.nextIpId() },
      pkt.data,
      o,
      icmpLen,
    );
    rt.deliver(req, this.name, `${this.name} ICMP echo responder`);
    rt.clock.advance(HOP_NS.kernelReply);
    this.sendIp(pkt);
  }

  /** Send an ICMP error about `orig` (IPv4 at l3) back to its source, quoting its header + 8 bytes (RFC 792). */
  sendIcmpError(orig: PacketBuffer, l3: number, inIf: NetInterface, type: number, code: number, mtu: number): void {
    const rt = this.runtime;
    const v = this.view.reset(orig.data, l3);
    if (
      v.protocol === IPPROTO_ICMP &&
      orig.data[l3 + v.headerLength]! !== ICMP_ECHO_REQUEST &&
      orig.data[l3 + v.headerLength]! !== ICMP_ECHO_REPLY
    )
      return; // never an error about an error
    const quote = Math.min(v.headerLength + 8, orig.end - l3);
    const src = inIf.primaryIp || this.sourceFor(v.src);
    const dst = v.src;
    const pkt = rt.newPacket(
      this.name,
      type === ICMP_TIME_EXCEEDED
        ? 'ICMP time exceeded'
        : code === ICMP_FRAG_NEEDED_CODE
          ? 'ICMP fragmentation needed'
          : 'ICMP unreachable',
    );
    const icmpLen = 8 + quote;
    const o = pkt.setFrame(IPV4_HEADER_LEN + icmpLen);
    const d = pkt.data;
    const ic = o + IPV4_HEADER_LEN;
    d[ic] = type;
    d[ic + 1] = code;
    writeU16(d, ic + 2, 0);
    writeU16(d, ic + 4, 0);
    writeU16(d, ic + 6, code === ICMP_FRAG_NEEDED_CODE && type === ICMP_DEST_UNREACH ? mtu : 0);
    orig.data.copy(d, ic + 8, l3, l3 + quote);
    writeU16(d, ic + 2, internetChecksum(d, ic, icmpLen));
    // Linux sends ICMP errors with TOS 0xc0 (precedence internetwork control, ip_icmp.c icmp_send).
    emitIpv4({ protocol: IPPROTO_ICMP, src, dst, ttl: 64, dscp: 0x30, identification: this.nextIpId() }, d, o, icmpLen);
    rt.traceOf(orig)?.add(
      'detail',
      `${this.name} sends ICMP type ${type} code ${code}${mtu ? ` (next-hop MTU ${mtu})` : ''} to ${ipv4ToString(dst)}`,
      undefined,
      this.name,
    );
    this.netfilter?.attachRelated?.(pkt, orig);
    this.sendIp(pkt);
  }
}

function protoName(p: number): string {
  return p === IPPROTO_TCP ? 'TCP' : p === IPPROTO_UDP ? 'UDP' : p === IPPROTO_ICMP ? 'ICMP' : `proto ${p}`;
}

export function describeRoute(r: Route): string {
  const dst = r.dst.prefix === 0 ? 'default' : `${ipv4ToString(r.dst.network)}/${r.dst.prefix}`;
  return r.via !== undefined ? `${dst} via ${ipv4ToString(r.via)} dev ${r.dev.name}` : `${dst} dev ${r.dev.name}`;
}
