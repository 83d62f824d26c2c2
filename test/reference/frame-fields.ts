/**
 * The Wireshark fields the reference suite compares, as packetwalk's own dissector (codecs/dissect.ts and the
 * codec views) reads them from a frame: one list of values per field, outer occurrence first, formatted the way
 * `tshark -T fields -E occurrence=a` prints them (decimal ports and lengths, `0x` hex for IDs, flags and
 * checksums, dotted quads, lower-case MACs, checksum status 1 = good, 0 = bad, 3 = not present).
 */

import { ipv4ToString, macToString, readU16 } from '../../codecs/bytes.js';
import { ArpView } from '../../codecs/arp.js';
import { dissect, Dissection } from '../../codecs/dissect.js';
import { EthernetView } from '../../codecs/ethernet.js';
import { IcmpView } from '../../codecs/icmp.js';
import { Ipv4View } from '../../codecs/ipv4.js';
import { TcpView } from '../../codecs/tcp.js';
import { UdpView } from '../../codecs/udp.js';
import { VxlanView } from '../../codecs/vxlan.js';

/** Fields asked of tshark and computed here, in this order. */
export const COMPARED_FIELDS = [
  'frame.len',
  'eth.src',
  'eth.dst',
  'eth.type',
  'arp.opcode',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'ip.src',
  'ip.dst',
  'ip.ttl',
  'ip.flags.df',
  'ip.flags.mf',
  'ip.len',
  'ip.id',
  'ip.proto',
  'ip.dsfield',
  'ip.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum',
  'udp.checksum.status',
  'vxlan.flags',
  'vxlan.vni',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.window_size_value',
  'tcp.len',
  'tcp.checksum.status',
  'icmp.type',
  'icmp.code',
  'icmp.checksum.status',
] as const;

export type FieldName = (typeof COMPARED_FIELDS)[number];
export type FrameFields = Record<FieldName, string[]>;

const hex = (n: number, digits: number): string => `0x${n.toString(16).padStart(digits, '0')}`;

const d = new Dissection();
const eth = new EthernetView(new Uint8Array(0));
const arp = new ArpView(new Uint8Array(0));
const ip = new Ipv4View(new Uint8Array(0));
const udp = new UdpView(new Uint8Array(0));
const tcp = new TcpView(new Uint8Array(0));
const vx = new VxlanView(new Uint8Array(0));
const icmp = new IcmpView(new Uint8Array(0));

/** packetwalk's reading of one frame. `icmpError` says an ICMP error quotes an IPv4 header (see the test). */
export function packetwalkFields(b: Uint8Array): { fields: FrameFields; icmpError: boolean } {
  const f = Object.fromEntries(COMPARED_FIELDS.map((k) => [k, [] as string[]])) as FrameFields;
  const add = (k: FieldName, v: string | number): void => void f[k].push(String(v));
  add('frame.len', b.length);
  dissect(b, 0, b.length, d, { verifyChecksums: false });
  // The addresses of the IPv4 header each L4 layer sits on, for its checksum.
  let ipSrc = 0,
    ipDst = 0,
    ipPayloadLen = 0;
  for (let i = 0; i < d.count; i++) {
    const l = d.layers[i]!;
    switch (l.kind) {
      case 'eth':
        eth.reset(b, l.offset);
        add('eth.src', macToString(eth.src));
        add('eth.dst', macToString(eth.dst));
        add('eth.type', hex(eth.ethertype, 4));
        break;
      case 'arp':
        arp.reset(b, l.offset);
        add('arp.opcode', arp.op);
        add('arp.src.hw_mac', macToString(arp.senderMac));
        add('arp.src.proto_ipv4', ipv4ToString(arp.senderIp));
        add('arp.dst.hw_mac', macToString(arp.targetMac));
        add('arp.dst.proto_ipv4', ipv4ToString(arp.targetIp));
        break;
      case 'ipv4':
        ip.reset(b, l.offset);
        add('ip.src', ipv4ToString(ip.src));
        add('ip.dst', ipv4ToString(ip.dst));
        add('ip.ttl', ip.ttl);
        add('ip.flags.df', ip.dontFragment ? 1 : 0);
        add('ip.flags.mf', ip.moreFragments ? 1 : 0);
        add('ip.len', ip.totalLength);
        add('ip.id', hex(ip.identification, 4));
        add('ip.proto', ip.protocol);
        add('ip.dsfield', hex(b[l.offset + 1]!, 2));
        add('ip.checksum.status', ip.checksumValid() ? 1 : 0);
        ipSrc = ip.src;
        ipDst = ip.dst;
        ipPayloadLen = ip.totalLength - ip.headerLength;
        break;
      case 'udp':
        udp.reset(b, l.offset);
        add('udp.srcport', udp.srcPort);
        add('udp.dstport', udp.dstPort);
        add('udp.length', udp.length);
        add('udp.checksum', hex(udp.checksum, 4));
        // A zero UDP checksum over IPv4 means "none" (RFC 768): Wireshark's status 3, "not present".
        add('udp.checksum.status', udp.checksum === 0 ? 3 : udp.checksumValid(ipSrc, ipDst) ? 1 : 0);
        break;
      case 'vxlan':
        vx.reset(b, l.offset);
        add('vxlan.flags', hex(readU16(b, l.offset), 4));
        add('vxlan.vni', vx.vni);
        break;
      case 'tcp':
        tcp.reset(b, l.offset);
        add('tcp.srcport', tcp.srcPort);
        add('tcp.dstport', tcp.dstPort);
        add('tcp.flags', hex(tcp.flags, 4));
        add('tcp.seq_raw', tcp.seq >>> 0);
        add('tcp.ack_raw', tcp.ack >>> 0);
        add('tcp.window_size_value', tcp.window);
        add('tcp.len', ipPayloadLen - tcp.headerLength);
        add('tcp.checksum.status', tcp.checksumValid(ipSrc, ipDst, ipPayloadLen) ? 1 : 0);
        break;
      case 'icmp':
        icmp.reset(b, l.offset);
        add('icmp.type', icmp.type);
        add('icmp.code', icmp.code);
        add('icmp.checksum.status', icmp.checksumValid(ipPayloadLen) ? 1 : 0);
        break;
      default:
        break;
    }
  }
  return { fields: f, icmpError: d.icmpQuote >= 0 };
}
