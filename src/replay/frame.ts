/**
 * One captured record as the frame a NIC at the replay point would carry: which records the point's host sent
 * (and so are injected) and which it received (answers the emulation makes itself), and the Ethernet frame
 * rebuilt from a cooked or raw-IP record, with every synthesised or rewritten MAC explained for the trace.
 */

import {
  ipv4ToString,
  MAC_BROADCAST,
  macToString,
  readMac,
  readU16,
  readU32,
  writeMac,
  writeU16,
  type MacAddress,
} from '../../codecs/bytes.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import type { Fault } from '../../codecs/errors.js';
import {
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  PACKET_BROADCAST,
  PACKET_MULTICAST,
  PACKET_OUTGOING,
  type LinkLayerInfo,
} from '../../codecs/link-layer.js';
import type { CaptureRecord } from '../../codecs/capture-reader.js';
import { HEADROOM, MAX_FRAME, type PacketBuffer } from '../buffer/packet-buffer.js';
import type { Emulation } from '../node/emulation.js';
import { macOwning, type ReplayPoint } from './point.js';

/** Why a record is or is not injected at the point. */
export interface Direction {
  inject: boolean;
  /** Only for records not injected: what they were. */
  why?: string;
}

const ARP_OP = 6,
  ARP_SPA = 14,
  ARP_THA = 18,
  ARP_TPA = 24;

/** Addresses of the network layer, read once per record (IPv4 src/dst, or ARP sender/target), -1 when absent. */
function l3Addresses(d: Uint8Array, p: number, ethertype: number): { src: number; dst: number } {
  if (ethertype === ETHERTYPE_IPV4 && d.length - p >= 20 && d[p]! >>> 4 === 4)
    return { src: readU32(d, p + 12), dst: readU32(d, p + 16) };
  if (ethertype === ETHERTYPE_ARP && d.length - p >= 28)
    return { src: readU32(d, p + ARP_SPA), dst: readU32(d, p + ARP_TPA) };
  return { src: -1, dst: -1 };
}

/**
 * Did the point's host send this record? The capture's own direction flag first (pcapng epb_flags, the cooked
 * header's packet type), then the addresses: the host's MAC or IP as source = sent; as destination = received.
 * A record that names neither (a spoofed source) counts as sent: that is what a capture at the point shows.
 */
export function classify(point: ReplayPoint, rec: CaptureRecord, link: LinkLayerInfo): Direction {
  const tx = point.side === 'transmit';
  const sentHere = (sent: boolean, why: string): Direction => (sent === tx ? { inject: true } : { inject: false, why });
  if (rec.direction) return sentHere(rec.direction === 'outbound', `${rec.direction} in the capture (epb_flags)`);
  if (link.packetType >= 0)
    return sentHere(
      link.packetType === PACKET_OUTGOING,
      link.packetType === PACKET_OUTGOING
        ? 'sent by the capturing host (cooked packet type 4)'
        : `received by the capturing host (cooked packet type ${link.packetType})`,
    );
  const d = rec.data;
  if (link.ethernet) {
    const src = readMac(d, 6);
    if (src === point.iface.mac) return sentHere(true, `sent by ${point.label} (source MAC ${macToString(src)})`);
  }
  const a = l3Addresses(d, link.payloadOffset, link.ethertype);
  if (a.src !== -1 && point.stack.isLocalAddress(a.src))
    return sentHere(true, `sent by ${point.label} (source ${ipv4ToString(a.src)})`);
  if (a.dst !== -1 && point.stack.isLocalAddress(a.dst))
    return sentHere(false, `received by ${point.label} (destination ${ipv4ToString(a.dst)})`);
  return { inject: true };
}

/** IPv4 multicast group -> its Ethernet address (RFC 1112: 01:00:5e + low 23 bits). */
function multicastMac(ip: number): MacAddress {
  return 0x01005e000000 + (ip & 0x7fffff);
}

/** The group bit: broadcast or multicast destination. */
function isGroup(mac: MacAddress): boolean {
  return Math.floor(mac / 0x10000000000) % 2 === 1;
}

/**
 * Where the point's host would have sent this frame: the ARP target (broadcast for a request), an IPv4 group
 * address, or the MAC of the next hop its routes give (the node's tun0 for a pod's off-link traffic).
 */
function nextHop(
  emu: Emulation,
  point: ReplayPoint,
  d: Uint8Array,
  p: number,
  ethertype: number,
): { mac: MacAddress; why: string } | undefined {
  if (ethertype === ETHERTYPE_ARP && d.length - p >= 28) {
    const op = readU16(d, p + ARP_OP);
    if (op === 1) return { mac: MAC_BROADCAST, why: 'an ARP request is broadcast' };
    return { mac: readMac(d, p + ARP_THA), why: "the ARP reply's target hardware address" };
  }
  const a = l3Addresses(d, p, ethertype);
  if (a.dst === -1) return undefined;
  if (a.dst === 0xffffffff) return { mac: MAC_BROADCAST, why: 'IPv4 limited broadcast' };
  if (a.dst >>> 28 === 0xe) return { mac: multicastMac(a.dst), why: "the IPv4 multicast group's MAC" };
  const route = point.stack.routes.lookup(a.dst);
  const hop = route?.via ?? (route ? a.dst : undefined);
  const owner = hop === undefined ? undefined : macOwning(emu, hop, point.stack);
  if (owner && route)
    return {
      mac: owner.mac,
      why: `${point.label}'s route to ${ipv4ToString(a.dst)} ${route.via !== undefined ? `via ${ipv4ToString(route.via)}` : 'on-link'}: ${owner.what}`,
    };
  return undefined;
}

/** The emulated sender of a frame arriving at a receive point: the host on the link that forwards from `src`. */
function previousHop(emu: Emulation, point: ReplayPoint, src: number): { mac: MacAddress; why: string } | undefined {
  if (src === -1) return undefined;
  const route = point.stack.routes.lookup(src);
  const hop = route?.via ?? (route ? src : undefined);
  const owner = hop === undefined ? undefined : macOwning(emu, hop, point.stack);
  return owner
    ? { mac: owner.mac, why: `the emulated sender on the link towards ${ipv4ToString(src)}: ${owner.what}` }
    : undefined;
}

/**
 * Write the record into `pkt` as an Ethernet frame. Returns what was synthesised or rewritten (for the trace),
 * or a Fault when the record cannot be a frame here: cut at its snaplen, or larger than the emulated NICs take.
 * `macs` holds every MAC of the emulated cluster: a captured destination MAC among them is kept as is.
 */
export function buildFrame(
  emu: Emulation,
  point: ReplayPoint,
  rec: CaptureRecord,
  link: LinkLayerInfo,
  macs: ReadonlySet<MacAddress>,
  pkt: PacketBuffer,
  notes: string[],
): Fault | null {
  const d = rec.data;
  if (rec.origLen > d.length)
    return {
      layer: 'capture',
      code: 'truncated',
      offset: d.length,
      detail: `captured ${d.length} of ${rec.origLen} bytes (cut at the snaplen): no NIC carries part of a frame`,
    };
  const payload = link.payloadOffset;
  const len = link.ethernet ? d.length : ETHERNET_HEADER_LEN + d.length - payload;
  if (len > MAX_FRAME)
    return {
      layer: 'replay',
      code: 'unsupported',
      offset: 0,
      detail: `${len}-byte frame: larger than the emulated NICs take (${MAX_FRAME} bytes; GRO/TSO super-frames are not split)`,
    };
  const s = pkt.setFrame(len, HEADROOM);
  const b = pkt.data;
  b.set(link.ethernet ? d : d.subarray(payload), link.ethernet ? s : s + ETHERNET_HEADER_LEN);
  const tx = point.side === 'transmit';
  const addrs = l3Addresses(d, payload, link.ethertype);

  let dst: { mac: MacAddress; why: string } | undefined;
  if (link.ethernet) {
    const captured = readMac(d, 0);
    if (isGroup(captured) || macs.has(captured)) return null;
    if (tx) {
      dst = nextHop(emu, point, d, payload, link.ethertype);
      if (!dst) return null; // no better guess: the captured MAC goes in, and the data path does with it what it does
    } else {
      dst = { mac: point.iface.mac, why: `${point.label}'s MAC (the capture was taken on a NIC with another MAC)` };
    }
    notes.push(
      `replay: destination MAC ${macToString(captured)} is no interface of this cluster; rewritten to ${macToString(dst.mac)}: ${dst.why}`,
    );
    writeMac(b, s, dst.mac);
    return null;
  }

  // A cooked or raw-IP record: the link layer is rebuilt.
  const what =
    link.linktype === LINKTYPE_LINUX_SLL || link.linktype === LINKTYPE_LINUX_SLL2
      ? 'the cooked header'
      : 'the raw-IP record';
  if (tx) dst = nextHop(emu, point, d, payload, link.ethertype);
  else if (link.packetType === PACKET_BROADCAST) dst = { mac: MAC_BROADCAST, why: 'cooked packet type 1 (broadcast)' };
  else if (link.packetType === PACKET_MULTICAST && addrs.dst >>> 28 === 0xe)
    dst = { mac: multicastMac(addrs.dst), why: 'cooked packet type 2 (multicast)' };
  else dst = { mac: point.iface.mac, why: `${point.label}'s MAC (the frame arrived there)` };
  dst ??= { mac: MAC_BROADCAST, why: 'no next hop for it in the emulated routes' };
  let src: { mac: MacAddress; why: string } | undefined;
  if (link.senderMac >= 0) src = { mac: link.senderMac, why: 'the link-layer address in the cooked header' };
  else if (tx) src = { mac: point.iface.mac, why: `${point.label} ${point.iface.name}'s MAC` };
  else src = previousHop(emu, point, addrs.src);
  src ??= { mac: 0x020000000000, why: 'unknown sender (a locally administered placeholder)' };
  writeMac(b, s, dst.mac);
  writeMac(b, s + 6, src.mac);
  writeU16(b, s + 12, link.ethertype);
  notes.push(
    `replay: Ethernet header synthesised for ${what} (link type ${link.linktype}): destination ${macToString(dst.mac)} (${dst.why}), source ${macToString(src.mac)} (${src.why}), EtherType 0x${link.ethertype.toString(16).padStart(4, '0')}`,
  );
  return null;
}

/** Every MAC of the emulated cluster's interfaces (built once per replay). */
export function clusterMacs(emu: Emulation): Set<MacAddress> {
  const out = new Set<MacAddress>();
  for (const s of emu.stacks()) for (const i of s.interfaces) out.add(i.mac);
  return out;
}
