/**
 * Flow key extraction (OVS's flow_extract): read the frame in a PacketBuffer straight from its bytes into a
 * preallocated Int32Array key (fields.ts). No allocation, no exceptions: a truncated or malformed header
 * leaves the deeper fields zero, as OVS does.
 *
 *   Ethernet: dst 0-5, src 6-11, ethertype 12-13 (no VLAN parsing: an 802.1Q frame keeps dl_type 0x8100)
 *   ARP:      htype 14, ptype 16, hlen 18, plen 19, op 20, sha 22, spa 28, tha 32, tpa 38
 *   IPv4:     version/IHL 0, TOS 1, total length 2-3, flags/fragment offset 6-7, TTL 8, protocol 9, src 12,
 *             dst 16 (the same validity checks as Ipv4View.check); TCP/UDP ports at +0/+2; ICMP type/code at +0/+1
 *
 * Bytes are read inline into int32 words: going through the view's getters meant calls that V8 did not inline
 * and addresses returned as uint32, i.e. heap numbers.
 */

import { readI32, readU16 } from '../../codecs/bytes.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_RARP,
  FRAG_ANY,
  FRAG_LATER,
  IPPROTO_ICMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_REGS,
  W_ARP_SHA_HI,
  W_ARP_SHA_LO,
  W_ARP_THA_HI,
  W_ARP_THA_LO,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_DST_HI,
  W_DL_DST_LO,
  W_DL_SRC_HI,
  W_DL_SRC_LO,
  W_DL_TYPE,
  W_IN_PORT,
  W_L3_OFS,
  W_L4_OFS,
  W_NW_DST,
  W_NW_FRAG,
  W_NW_PROTO,
  W_NW_SRC,
  W_NW_TOS,
  W_NW_TTL,
  W_PKT_MARK,
  W_REG0,
  W_TP_DST,
  W_TP_SRC,
  W_TUN_DST,
  W_TUN_ID_HI,
  W_TUN_ID_LO,
  W_TUN_SRC,
} from './fields.js';

const ETH_HLEN = 14;
const ARP_LEN = 28;
const TCP_HLEN = 20;
const UDP_HLEN = 8;
const ICMP_HLEN = 4;
const IPV4_MIN_HLEN = 20;
const IP_MF = 0x2000;
const IP_FRAG_OFFSET = 0x1fff;

/** Fill the packet-derived words of `key` (L2-L4 plus l3/l4 offsets) from the frame bytes. Metadata untouched. */
export function extractPacketFields(pkt: PacketBuffer, key: Int32Array): void {
  for (let w = W_DL_SRC_HI; w <= W_ARP_THA_LO; w++) key[w] = 0;
  key[W_L3_OFS] = -1;
  key[W_L4_OFS] = -1;
  const b = pkt.data;
  const s = pkt.start;
  const end = pkt.end;
  if (end - s < ETH_HLEN) return;
  key[W_DL_DST_HI] = readU16(b, s);
  key[W_DL_DST_LO] = readI32(b, s + 2);
  key[W_DL_SRC_HI] = readU16(b, s + 6);
  key[W_DL_SRC_LO] = readI32(b, s + 8);
  const type = readU16(b, s + 12);
  key[W_DL_TYPE] = type;
  const l3 = s + ETH_HLEN;
  if (type === ETH_TYPE_IP) {
    const avail = end - l3;
    if (avail < IPV4_MIN_HLEN) return;
    const vihl = b[l3]!;
    const ihl = (vihl & 0x0f) << 2;
    const total = (b[l3 + 2]! << 8) | b[l3 + 3]!;
    if (vihl >>> 4 !== 4 || ihl < IPV4_MIN_HLEN || ihl > avail || total < ihl || total > avail) return;
    key[W_L3_OFS] = l3;
    key[W_NW_SRC] = readI32(b, l3 + 12);
    key[W_NW_DST] = readI32(b, l3 + 16);
    const proto = b[l3 + 9]!;
    key[W_NW_PROTO] = proto;
    key[W_NW_TOS] = b[l3 + 1]!;
    key[W_NW_TTL] = b[l3 + 8]!;
    const frag = (b[l3 + 6]! << 8) | b[l3 + 7]!;
    const later = (frag & IP_FRAG_OFFSET) !== 0;
    key[W_NW_FRAG] = (frag & (IP_MF | IP_FRAG_OFFSET)) !== 0 ? (later ? FRAG_ANY | FRAG_LATER : FRAG_ANY) : 0;
    if (later) return;
    const l4 = l3 + ihl;
    const l4End = l3 + total;
    if (proto === IPPROTO_TCP && l4End - l4 >= TCP_HLEN) {
      key[W_TP_SRC] = readU16(b, l4);
      key[W_TP_DST] = readU16(b, l4 + 2);
      key[W_L4_OFS] = l4;
    } else if ((proto === IPPROTO_UDP || proto === IPPROTO_SCTP) && l4End - l4 >= UDP_HLEN) {
      key[W_TP_SRC] = readU16(b, l4);
      key[W_TP_DST] = readU16(b, l4 + 2);
      key[W_L4_OFS] = l4;
    } else if (proto === IPPROTO_ICMP && l4End - l4 >= ICMP_HLEN) {
      key[W_TP_SRC] = b[l4]!;
      key[W_TP_DST] = b[l4 + 1]!;
      key[W_L4_OFS] = l4;
    }
  } else if (type === ETH_TYPE_ARP || type === ETH_TYPE_RARP) {
    // OVS fills ARP fields only for Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4).
    if (end - l3 < ARP_LEN) return;
    if (readU16(b, l3) !== 1 || readU16(b, l3 + 2) !== ETH_TYPE_IP || b[l3 + 4] !== 6 || b[l3 + 5] !== 4) return;
    const op = readU16(b, l3 + 6);
    key[W_NW_PROTO] = op <= 0xff ? op : 0;
    key[W_ARP_SHA_HI] = readU16(b, l3 + 8);
    key[W_ARP_SHA_LO] = readI32(b, l3 + 10);
    key[W_NW_SRC] = readI32(b, l3 + 14);
    key[W_ARP_THA_HI] = readU16(b, l3 + 18);
    key[W_ARP_THA_LO] = readI32(b, l3 + 20);
    key[W_NW_DST] = readI32(b, l3 + 24);
  }
}

/** Fill the whole key: in_port, registers, tunnel, marks and conntrack state from the metadata, then the bytes. */
export function extractFlowKey(pkt: PacketBuffer, key: Int32Array): void {
  key[W_IN_PORT] = pkt.inPort;
  key[W_REG0] = pkt.reg0;
  key[W_REG0 + 1] = pkt.reg1;
  key[W_REG0 + 2] = pkt.reg2;
  for (let i = 3; i < N_REGS; i++) key[W_REG0 + i] = 0;
  key[W_TUN_ID_HI] = Math.floor(pkt.tunId / 0x100000000);
  key[W_TUN_ID_LO] = pkt.tunId >>> 0;
  key[W_TUN_SRC] = pkt.tunSrc;
  key[W_TUN_DST] = pkt.tunDst;
  key[W_PKT_MARK] = pkt.pktMark;
  key[W_CT_STATE] = pkt.ctState;
  key[W_CT_ZONE] = pkt.ctZone;
  key[W_CT_MARK] = pkt.ctMark;
  extractPacketFields(pkt, key);
}

/** Copy the key's metadata words back into the PacketBuffer (after restoring a saved key). */
export function syncMetadataToPacket(key: Int32Array, pkt: PacketBuffer): void {
  pkt.inPort = key[W_IN_PORT]!;
  pkt.reg0 = key[W_REG0]! >>> 0;
  pkt.reg1 = key[W_REG0 + 1]! >>> 0;
  pkt.reg2 = key[W_REG0 + 2]! >>> 0;
  pkt.tunId = (key[W_TUN_ID_HI]! >>> 0) * 0x100000000 + (key[W_TUN_ID_LO]! >>> 0);
  pkt.tunSrc = key[W_TUN_SRC]! >>> 0;
  pkt.tunDst = key[W_TUN_DST]! >>> 0;
  pkt.pktMark = key[W_PKT_MARK]! >>> 0;
  pkt.ctMark = key[W_CT_MARK]! >>> 0;
}
