/**
 * The layer registry: which codec decodes what follows a header (EtherType -> L3, IP protocol -> L4, UDP
 * destination port -> application), and the reverse lookups a frame builder needs (VXLAN -> UDP port 4789).
 * One table serves both directions, like scapy's bind_layers (bind_bottom_up + bind_top_down).
 *
 * Lookups index typed arrays (no Map, no scan): constant time on the hot path.
 */

import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_VLAN } from './ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './ipv4.js';
import { VXLAN_PORT } from './vxlan.js';

/** Every kind of layer the dissector reports. */
export const LAYER_KINDS = ['eth', 'vlan', 'arp', 'ipv4', 'icmp', 'udp', 'tcp', 'vxlan', 'payload', 'padding'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

// Tables hold 1 + an index into LAYER_KINDS; 0 means "not bound".
const byEthertype = new Uint8Array(65536);
const byIpProtocol = new Uint8Array(256);
const byUdpPort = new Uint8Array(65536);
// Reverse direction: the value a lower layer gets when this kind is stacked on it (-1 when unbound).
const ethertypeOfKind = new Int32Array(LAYER_KINDS.length).fill(-1);
const ipProtocolOfKind = new Int32Array(LAYER_KINDS.length).fill(-1);
const udpPortOfKind = new Int32Array(LAYER_KINDS.length).fill(-1);

function kindIndex(kind: LayerKind): number {
  const i = LAYER_KINDS.indexOf(kind);
  if (i < 0) throw new Error(`unknown layer kind ${JSON.stringify(kind)}`);
  return i;
}

/** Bind an EtherType to a layer in both directions. */
export function bindEthertype(ethertype: number, kind: LayerKind): void {
  const i = kindIndex(kind);
  byEthertype[ethertype & 0xffff] = i + 1;
  if (ethertypeOfKind[i] === -1) ethertypeOfKind[i] = ethertype & 0xffff;
}

/** Bind an IP protocol number to a layer in both directions. */
export function bindIpProtocol(protocol: number, kind: LayerKind): void {
  const i = kindIndex(kind);
  byIpProtocol[protocol & 0xff] = i + 1;
  if (ipProtocolOfKind[i] === -1) ipProtocolOfKind[i] = protocol & 0xff;
}

/**
 * Bind a UDP destination port to a layer (e.g. 8472, the Linux default VXLAN port, as `tshark -d
 * udp.port==8472,vxlan` does). The first port bound to a kind stays its default for building frames.
 */
export function bindUdpPort(port: number, kind: LayerKind): void {
  const i = kindIndex(kind);
  byUdpPort[port & 0xffff] = i + 1;
  if (udpPortOfKind[i] === -1) udpPortOfKind[i] = port & 0xffff;
}

/** Remove a UDP port binding (dissection direction only). */
export function unbindUdpPort(port: number): void {
  byUdpPort[port & 0xffff] = 0;
}

/** The layer after an Ethernet header with this EtherType, or undefined. */
export function layerForEthertype(ethertype: number): LayerKind | undefined {
  const i = byEthertype[ethertype & 0xffff]!;
  return i === 0 ? undefined : LAYER_KINDS[i - 1];
}

/** The layer after an IPv4 header with this protocol, or undefined. */
export function layerForIpProtocol(protocol: number): LayerKind | undefined {
  const i = byIpProtocol[protocol & 0xff]!;
  return i === 0 ? undefined : LAYER_KINDS[i - 1];
}

/**
 * The layer carried by UDP to this destination port, or undefined. Only the destination port counts: VXLAN's
 * source port is a flow hash that may collide with any bound port.
 */
export function layerForUdpPort(dstPort: number): LayerKind | undefined {
  const i = byUdpPort[dstPort & 0xffff]!;
  return i === 0 ? undefined : LAYER_KINDS[i - 1];
}

/** EtherType to write when `kind` follows Ethernet (e.g. 'ipv4' -> 0x0800), or undefined. */
export function ethertypeFor(kind: LayerKind): number | undefined {
  const v = ethertypeOfKind[kindIndex(kind)]!;
  return v < 0 ? undefined : v;
}

/** IP protocol to write when `kind` follows IPv4 (e.g. 'udp' -> 17), or undefined. */
export function ipProtocolFor(kind: LayerKind): number | undefined {
  const v = ipProtocolOfKind[kindIndex(kind)]!;
  return v < 0 ? undefined : v;
}

/** UDP destination port to write when `kind` follows UDP (e.g. 'vxlan' -> 4789), or undefined. */
export function udpPortFor(kind: LayerKind): number | undefined {
  const v = udpPortOfKind[kindIndex(kind)]!;
  return v < 0 ? undefined : v;
}

bindEthertype(ETHERTYPE_IPV4, 'ipv4');
bindEthertype(ETHERTYPE_ARP, 'arp');
bindEthertype(ETHERTYPE_VLAN, 'vlan');
bindIpProtocol(IPPROTO_ICMP, 'icmp');
bindIpProtocol(IPPROTO_TCP, 'tcp');
bindIpProtocol(IPPROTO_UDP, 'udp');
bindUdpPort(VXLAN_PORT, 'vxlan');
