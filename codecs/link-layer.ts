/**
 * Link-layer headers of captured frames, and what an Ethernet NIC would have carried instead.
 *
 * LINKTYPE_ETHERNET (1): the frame as is.
 * LINKTYPE_LINUX_SLL (113), Linux "cooked" v1, 16 bytes (what `tcpdump -i any` wrote before libpcap 1.10):
 *   +---------------+---------------+---------------+-------------------------------+---------------+
 *   | packet type 2 | ARPHRD type 2 | addr length 2 | link-layer address (8, padded) | protocol 2    |
 *   +---------------+---------------+---------------+-------------------------------+---------------+
 * LINKTYPE_LINUX_SLL2 (276), v2, 20 bytes (`tcpdump -i any` with libpcap >= 1.10):
 *   | protocol 2 | reserved 2 | interface index 4 | ARPHRD type 2 | packet type 1 | addr length 1 | address 8 |
 * LINKTYPE_RAW (101), LINKTYPE_IPV4 (228), and DLT_RAW as some systems wrote it into files (12, 14): an IP
 * packet with no link header; the version nibble says IPv4 or IPv6.
 *
 * Packet types (linux/if_packet.h): 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
 * The cooked header keeps the *sender's* link-layer address only; the destination MAC is gone and must be
 * synthesised by whoever rebuilds the Ethernet frame (the replay says what it chose and why).
 */

import { readU16 } from './bytes.js';
import { ETHERTYPE_IPV4 } from './ethernet.js';
import type { Fault } from './errors.js';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_IPV4 = 228;
/** DLT_RAW's numeric value on most systems (12) and on OpenBSD (14), found in some old files as the link type. */
export const DLT_RAW_12 = 12;
export const DLT_RAW_14 = 14;

export const SLL_HEADER_LEN = 16;
export const SLL2_HEADER_LEN = 20;
export const ETHERTYPE_IPV6 = 0x86dd;
const ARPHRD_ETHER = 1;

export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

/** What a captured frame's link layer said, filled by decodeLinkLayer (reuse one object per reader). */
export interface LinkLayerInfo {
  /** Link type as read. */
  linktype: number;
  /** True when the record already is an Ethernet frame. */
  ethernet: boolean;
  /** EtherType of the network-layer payload (from the Ethernet header, the cooked protocol or the IP version). */
  ethertype: number;
  /** Offset of the network-layer payload in the record (0 for raw IP; Ethernet: 14). */
  payloadOffset: number;
  /** Cooked captures: the sender's MAC (48 bits) when the ARPHRD type is Ethernet with a 6-byte address, else -1. */
  senderMac: number;
  /** Cooked captures: the packet type (PACKET_*), else -1. */
  packetType: number;
  /** Cooked captures: the ARPHRD type of the capturing interface, else -1. */
  arphrd: number;
}

export function newLinkLayerInfo(): LinkLayerInfo {
  return { linktype: 0, ethernet: false, ethertype: 0, payloadOffset: 0, senderMac: -1, packetType: -1, arphrd: -1 };
}

function readMac48(d: Uint8Array, o: number): number {
  return (
    (d[o]! * 0x10000 + ((d[o + 1]! << 8) | d[o + 2]!)) * 0x1000000 + ((d[o + 3]! << 16) | (d[o + 4]! << 8) | d[o + 5]!)
  );
}

/** Human name of a link type, for summaries. */
export function linktypeName(lt: number): string {
  switch (lt) {
    case LINKTYPE_ETHERNET:
      return 'Ethernet';
    case LINKTYPE_LINUX_SLL:
      return 'Linux cooked v1';
    case LINKTYPE_LINUX_SLL2:
      return 'Linux cooked v2';
    case LINKTYPE_RAW:
    case DLT_RAW_12:
    case DLT_RAW_14:
      return 'raw IP';
    case LINKTYPE_IPV4:
      return 'raw IPv4';
    default:
      return `link type ${lt}`;
  }
}

/**
 * Read the link layer of one record into `out`. Returns null, or a Fault: 'unsupported' (another link type, a
 * cooked protocol that is not an EtherType), 'truncated' (shorter than its link header), 'bad-version' (raw IP
 * whose version nibble is neither 4 nor 6, or not 4 for LINKTYPE_IPV4). Offsets are within the record.
 */
export function decodeLinkLayer(linktype: number, d: Uint8Array, out: LinkLayerInfo): Fault | null {
  out.linktype = linktype;
  out.ethernet = false;
  out.senderMac = -1;
  out.packetType = -1;
  out.arphrd = -1;
  switch (linktype) {
    case LINKTYPE_ETHERNET:
      if (d.length < 14) return { layer: 'ethernet', code: 'truncated', offset: 0, detail: `${d.length} of 14 bytes` };
      out.ethernet = true;
      out.ethertype = readU16(d, 12);
      out.payloadOffset = 14;
      return null;
    case LINKTYPE_LINUX_SLL: {
      if (d.length < SLL_HEADER_LEN)
        return { layer: 'sll', code: 'truncated', offset: 0, detail: `${d.length} of 16 bytes` };
      out.packetType = readU16(d, 0);
      out.arphrd = readU16(d, 2);
      if (out.arphrd === ARPHRD_ETHER && readU16(d, 4) === 6) out.senderMac = readMac48(d, 6);
      return cookedProtocol(readU16(d, 14), 14, SLL_HEADER_LEN, 'sll', out);
    }
    case LINKTYPE_LINUX_SLL2: {
      if (d.length < SLL2_HEADER_LEN)
        return { layer: 'sll2', code: 'truncated', offset: 0, detail: `${d.length} of 20 bytes` };
      out.arphrd = readU16(d, 8);
      out.packetType = d[10]!;
      if (out.arphrd === ARPHRD_ETHER && d[11] === 6) out.senderMac = readMac48(d, 12);
      return cookedProtocol(readU16(d, 0), 0, SLL2_HEADER_LEN, 'sll2', out);
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case DLT_RAW_12:
    case DLT_RAW_14: {
      if (d.length < 1) return { layer: 'raw-ip', code: 'truncated', offset: 0, detail: 'empty record' };
      const version = d[0]! >>> 4;
      if (version === 4) out.ethertype = ETHERTYPE_IPV4;
      else if (version === 6 && linktype !== LINKTYPE_IPV4) out.ethertype = ETHERTYPE_IPV6;
      else return { layer: 'raw-ip', code: 'bad-version', offset: 0, detail: `IP version ${version}` };
      out.payloadOffset = 0;
      return null;
    }
    default:
      return { layer: 'capture', code: 'unsupported', offset: 0, detail: `link type ${linktype}` };
  }
}

function cookedProtocol(
  protocol: number,
  at: number,
  headerLen: number,
  layer: string,
  out: LinkLayerInfo,
): Fault | null {
  // Values below 0x0600 are not EtherTypes: 802.2 LLC frames, CAN, and other non-Ethernet payloads.
  if (protocol < 0x0600)
    return {
      layer,
      code: 'unsupported',
      offset: at,
      detail: `protocol 0x${protocol.toString(16).padStart(4, '0')} is not an EtherType`,
    };
  out.ethertype = protocol;
  out.payloadOffset = headerLen;
  return null;
}
