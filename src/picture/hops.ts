/**
 * The walk a picture shows, read from a finished run: the first packet of the conversation (not ARP) and the
 * first answer to it, every capture point each one crossed in order, and what its addresses were there —
 * decoded from the captured bytes, not from the emulator's intentions. Consecutive captures of one packet make
 * a hop (an arrow of the picture); a hop notes what changed on the way: VXLAN encap/decap, DNAT/SNAT.
 */

import { ipv4ToString, readU16 } from '../../codecs/bytes.js';
import { ArpView } from '../../codecs/arp.js';
import { dissect, Dissection } from '../../codecs/dissect.js';
import { Ipv4View } from '../../codecs/ipv4.js';
import type { CapturedFrame } from '../capture/recorder.js';
import type { Pod } from '../cluster/types.js';
import type { Emulation } from '../node/emulation.js';
import type { WalkPacket } from '../runtime/runtime.js';
import type { WalkResult } from '../walk/walk-result.js';

/** Where a capture point sits in the picture. */
export type PlaceKind =
  | 'pod-eth0'
  | 'pod-if'
  | 'veth'
  | 'tun0'
  | 'vxlan0'
  | 'nic'
  | 'gw-underlay'
  | 'gw-internet'
  | 'external'
  | 'other';

export interface Place {
  point: number;
  kind: PlaceKind;
  /** Capture point name as in walk.pcapng (`worker-northeurope1-qt8l7/tun0`). */
  name: string;
  /** Interface name (`eth0`, `veth82b50993`, `macvlan0`). */
  ifName: string;
  /** Host the point belongs to: a node name, the gateway, an external host. */
  host: string;
  /** Set for points on a cluster node. */
  node?: string;
  /** `namespace/name` and the pod, for pod interfaces and veths. */
  podKey?: string;
  pod?: Pod;
  /** br0 port number of a veth. */
  ofport?: number;
  /** The interface's addresses (`10.131.0.1/23`), empty for OVS ports. */
  addresses: string[];
}

/** One direction of an IPv4 conversation as seen in one header. */
export interface FlowAddresses {
  proto: 'tcp' | 'udp' | 'icmp' | 'ip' | 'arp';
  src: number;
  dst: number;
  /** -1 without ports (ICMP, ARP, other IP). */
  srcPort: number;
  dstPort: number;
}

/** A frame of the walk and the addresses it carried. */
export interface WalkFrame {
  frame: CapturedFrame;
  place: Place;
  /** The innermost IPv4 (or ARP) addresses; undefined when the bytes were not kept or are not IP. */
  inner?: FlowAddresses;
  /** The underlay header of a VXLAN frame (outer IPv4 + UDP) and its VNI. */
  outer?: FlowAddresses;
  vni: number;
}

export interface Hop {
  /** 1-based, unique across the picture (the request's hops first). */
  number: number;
  from: WalkFrame;
  to: WalkFrame;
  /** The addresses as captured where the hop ends (`10.131.0.40:41174 > 10.128.2.24:1433`, outer + VNI for VXLAN). */
  label: string;
  /** What changed between the two captures (`VXLAN encap VNI 5999645`, `DNAT 172.30.72.7:1433 → 10.128.2.24:1433`). */
  change?: string;
  /** The rule that moved the frame (the pcapng hop comment), shortened. */
  rule?: string;
  /** A VXLAN-encapsulated frame at either end. */
  encapsulated: boolean;
}

export type WalkRole = 'request' | 'reply';

export interface WalkPath {
  role: WalkRole;
  packet: WalkPacket;
  frames: WalkFrame[];
  hops: Hop[];
}

/**
 * The walk packets a picture shows: the first non-ARP packet and the first later non-ARP packet sent by the
 * host it was delivered to (its answer; a hairpinned pod answers itself), else by any other host.
 */
export function conversationPackets(packets: readonly WalkPacket[]): WalkPacket[] {
  const first = packets.find((p) => !p.label.startsWith('ARP'));
  if (!first) return [];
  const later = packets.filter((p) => p.index > first.index && !p.label.startsWith('ARP'));
  const to = first.outcome?.kind === 'delivered' ? first.outcome.host : undefined;
  const reply =
    (to !== undefined ? later.find((p) => p.origin === to) : undefined) ?? later.find((p) => p.origin !== first.origin);
  return reply ? [first, reply] : [first];
}

/** Every capture point of the run, placed: which node, pod and kind of port it is. */
export function placesOf(result: WalkResult): Place[] {
  const rec = result.recorder;
  const places: Place[] = rec.points.map((p, i) => ({
    point: i,
    kind: 'other',
    name: p.name,
    ifName: p.name.slice(p.name.lastIndexOf('/') + 1),
    host: p.host,
    addresses: [],
  }));
  const emu: Emulation = result.emulation;
  const set = (
    tap: number,
    kind: PlaceKind,
    extra: Partial<Place>,
    addrs: readonly { ip: number; prefix: number }[] = [],
  ): void => {
    const p = places[tap];
    if (!p) return;
    Object.assign(p, { kind, ...extra, addresses: addrs.map((a) => `${ipv4ToString(a.ip)}/${a.prefix}`) });
  };
  for (const node of emu.nodes.values()) {
    const n = { node: node.name };
    set(node.nic.tap, 'nic', n, node.nic.addresses);
    set(node.tun0.tap, 'tun0', n, node.tun0.addresses);
    if (!node.built) continue; // no OVS or pod port of it has seen a frame
    set(node.vxlan0.tap, 'vxlan0', n);
    for (const [key, inst] of node.pods) {
      const podInfo = { ...n, podKey: key, pod: inst.pod };
      set(inst.veth.tap, 'veth', { ...podInfo, ofport: inst.veth.ofport });
      set(inst.eth0.tap, 'pod-eth0', podInfo, inst.eth0.addresses);
      for (const i of inst.stack.interfaces) if (i !== inst.eth0) set(i.tap, 'pod-if', podInfo, i.addresses);
    }
  }
  const underlayGw = emu.cluster.underlay.gateway;
  for (const i of emu.gateway.interfaces)
    set(i.tap, i.hasAddress(underlayGw) ? 'gw-underlay' : 'gw-internet', {}, i.addresses);
  for (const s of emu.externals.values()) for (const i of s.interfaces) set(i.tap, 'external', {}, i.addresses);
  return places;
}

const scratch = new Dissection();

/** Decode the addresses of a captured frame (cold path: allocates). */
export function frameAddresses(bytes: Uint8Array): { inner?: FlowAddresses; outer?: FlowAddresses; vni: number } {
  const d = dissect(bytes, 0, bytes.length, scratch);
  if (d.arp >= 0 && d.ipv4 < 0) {
    const a = new ArpView(bytes, d.arp);
    return { inner: { proto: 'arp', src: a.senderIp, dst: a.targetIp, srcPort: -1, dstPort: -1 }, vni: d.vni };
  }
  if (d.ipv4 < 0) return { vni: -1 };
  const inner = l3l4(bytes, d.ipv4, d.l4, d.l4Kind);
  if (d.vxlan < 0 || d.outerIpv4 === d.ipv4) return { inner, vni: -1 };
  return { inner, outer: l3l4(bytes, d.outerIpv4, d.outerL4, 'udp'), vni: d.vni };
}

function l3l4(bytes: Uint8Array, ip: number, l4: number, kind: string | undefined): FlowAddresses {
  const v = new Ipv4View(bytes, ip);
  const ports = (kind === 'tcp' || kind === 'udp') && l4 >= 0 && l4 + 4 <= bytes.length;
  return {
    proto: kind === 'tcp' || kind === 'udp' || kind === 'icmp' ? kind : 'ip',
    src: v.src,
    dst: v.dst,
    srcPort: ports ? readU16(bytes, l4) : -1,
    dstPort: ports ? readU16(bytes, l4 + 2) : -1,
  };
}

function endpoint(ip: number, port: number): string {
  return port >= 0 ? `${ipv4ToString(ip)}:${port}` : ipv4ToString(ip);
}

/** `10.131.0.40:41174 > 10.128.2.24:1433`, with `ICMP`/`ARP` named when there are no ports. */
export function flowText(f: FlowAddresses): string {
  const s = `${endpoint(f.src, f.srcPort)} > ${endpoint(f.dst, f.dstPort)}`;
  return f.proto === 'icmp' ? `ICMP ${s}` : f.proto === 'arp' ? `ARP ${s}` : s;
}

/** The addresses of a frame in one line: inner for a plain frame, outer + VNI for a VXLAN one. */
export function frameLabel(f: WalkFrame): string {
  if (f.outer) return `${flowText(f.outer)} VNI ${f.vni}`;
  return f.inner ? flowText(f.inner) : '';
}

/** What changed between two captures of one packet, or undefined. */
export function changeBetween(a: WalkFrame, b: WalkFrame, role: WalkRole): string | undefined {
  const notes: string[] = [];
  if (b.outer && !a.outer) notes.push(`VXLAN encap, VNI ${b.vni}`);
  else if (a.outer && !b.outer) notes.push('VXLAN decap');
  const x = a.inner,
    y = b.inner;
  if (x && y && x.proto !== 'arp') {
    // A reply's rewrites undo the request's NAT (conntrack reverse translation).
    if (x.dst !== y.dst || x.dstPort !== y.dstPort)
      notes.push(
        `${role === 'request' ? 'DNAT' : 'un-SNAT'} ${endpoint(x.dst, x.dstPort)} → ${endpoint(y.dst, y.dstPort)}`,
      );
    if (x.src !== y.src || x.srcPort !== y.srcPort)
      notes.push(
        `${role === 'request' ? 'SNAT' : 'un-DNAT'} ${endpoint(x.src, x.srcPort)} → ${endpoint(y.src, y.srcPort)}`,
      );
  }
  return notes.length ? notes.join('; ') : undefined;
}

/** A pcapng hop comment made short: `br0 table=90 → output:1`, or the text cut to 60 characters. */
export function shortRule(comment: string | undefined): string | undefined {
  if (!comment) return undefined;
  if (comment.startsWith('br0 ')) {
    const table = /table=(\d+)/.exec(comment)?.[1];
    const actions = comment.slice(comment.indexOf(' actions=') + 9);
    const last = comment.includes(' actions=') ? actions.split(',').pop() : undefined;
    if (table) return `br0 table=${table}${last ? ` → ${last}` : ''}`;
  }
  return comment.length > 60 ? `${comment.slice(0, 59)}…` : comment;
}

/** The request and reply walks of a run, each with its frames and numbered hops. */
export function walkPaths(result: WalkResult, packetIndexes?: readonly number[]): WalkPath[] {
  const places = placesOf(result);
  const chosen = packetIndexes
    ? packetIndexes.map((i) => result.packets[i]).filter((p): p is WalkPacket => !!p)
    : conversationPackets(result.packets);
  const byPacket = new Map<number, CapturedFrame[]>();
  for (const p of chosen) byPacket.set(p.index, []);
  for (const f of result.recorder.frames) byPacket.get(f.walkIndex)?.push(f);
  let number = 0;
  return chosen.map((packet, i) => {
    const role: WalkRole = i === 0 ? 'request' : 'reply';
    const frames: WalkFrame[] = byPacket.get(packet.index)!.map((frame) => {
      const place = places[frame.point]!;
      return frame.bytes ? { frame, place, ...frameAddresses(frame.bytes) } : { frame, place, vni: -1 };
    });
    const hops: Hop[] = [];
    for (let k = 1; k < frames.length; k++) {
      const from = frames[k - 1]!,
        to = frames[k]!;
      const hop: Hop = { number: ++number, from, to, label: frameLabel(to), encapsulated: !!(from.outer || to.outer) };
      const change = changeBetween(from, to, role);
      if (change) hop.change = change;
      const rule = shortRule(to.frame.comment ?? from.frame.comment);
      if (rule) hop.rule = rule;
      hops.push(hop);
    }
    return { role, packet, frames, hops };
  });
}
