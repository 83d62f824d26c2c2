/**
 * One-line frame summaries in tcpdump's style (`tcpdump -e -n -S` wording), for traces, test failures and the
 * CLI. Each Ethernet header prints `src > dst, <type>, `; a VXLAN frame prints its outer part first, then the
 * inner frame after `vni N: `. A fault ends the line with a `[|layer: code at offset]` marker (tcpdump marks
 * truncation with `[|proto]`): the fault that stopped the walk, else the first soft one. Cold path: allocates strings.
 */

import { ipv4ToString, macToString, readU16 } from './bytes.js';
import { ArpView, ARP_REPLY, ARP_REQUEST } from './arp.js';
import { dissect, Dissection } from './dissect.js';
import { EthernetView } from './ethernet.js';
import {
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_FRAG_NEEDED,
  ICMP_PORT_UNREACH,
  ICMP_TIME_EXCEEDED,
  IcmpView,
} from './icmp.js';
import { Ipv4View } from './ipv4.js';
import { TCP_ACK, TcpView, tcpFlagsToString } from './tcp.js';
import { UdpView } from './udp.js';
import { VxlanView } from './vxlan.js';

const scratch = new Dissection();

const UNREACH_TEXT = ['net', 'host', 'protocol', 'port'];

/** Text for the `length`-byte ICMP message at `off` (quoted header read only below `end`). */
function icmpText(buf: Uint8Array, off: number, length: number, end: number): string {
  const v = new IcmpView(buf, off);
  const t = v.type,
    c = v.code;
  if (t === ICMP_ECHO_REQUEST || t === ICMP_ECHO_REPLY) {
    return `ICMP echo ${t === ICMP_ECHO_REQUEST ? 'request' : 'reply'}, id ${v.identifier}, seq ${v.sequence}, length ${length}`;
  }
  const q = off + 8; // quoted IPv4 header
  const quoted = end - q >= 20 ? new Ipv4View(buf, q) : undefined;
  if (t === ICMP_DEST_UNREACH && quoted) {
    const qdst = ipv4ToString(quoted.dst);
    if (c === ICMP_FRAG_NEEDED)
      return `ICMP ${qdst} unreachable - need to frag (mtu ${v.nextHopMtu}), length ${length}`;
    if (c === ICMP_PORT_UNREACH && end - q >= quoted.headerLength + 4) {
      const proto = quoted.protocol === 6 ? 'tcp' : quoted.protocol === 17 ? 'udp' : `proto-${quoted.protocol}`;
      return `ICMP ${qdst} ${proto} port ${readU16(buf, q + quoted.headerLength + 2)} unreachable, length ${length}`;
    }
    if (c < 3)
      return `ICMP ${c === 2 ? `${qdst} protocol ${quoted.protocol}` : `${UNREACH_TEXT[c]} ${qdst}`} unreachable, length ${length}`;
  }
  if (t === ICMP_TIME_EXCEEDED) return `ICMP time exceeded in-${c === 0 ? 'transit' : 'reassembly'}, length ${length}`;
  return `ICMP type ${t}, code ${c}, length ${length}`;
}

/** Summarize buf[start, end) as one tcpdump-style line. Never throws on malformed bytes. */
export function summarize(buf: Uint8Array, start = 0, end = buf.length): string {
  const d = dissect(buf, start, end, scratch);
  let s = '';
  let ipSrc = '',
    ipDst = '',
    ipPayloadLength = 0;
  for (let i = 0; i < d.count; i++) {
    const l = d.layers[i]!;
    const next = i + 1 < d.count ? d.layers[i + 1]!.kind : undefined;
    switch (l.kind) {
      case 'eth': {
        const e = new EthernetView(buf, l.offset);
        s += `${macToString(e.src)} > ${macToString(e.dst)}, `;
        if (next !== 'vlan') s += ethertypeText(next, readU16(buf, l.offset + 12), end - l.offset - 14);
        break;
      }
      case 'vlan': {
        const e = new EthernetView(buf, l.offset - 14);
        s += `vlan ${e.vlanId}, p ${e.vlanPcp}, ${ethertypeText(next, e.ethertype, end - l.offset - 4)}`;
        break;
      }
      case 'arp': {
        const a = new ArpView(buf, l.offset);
        if (a.op === ARP_REQUEST)
          s += `ARP, Request who-has ${ipv4ToString(a.targetIp)}${a.targetMac !== 0 ? ` (${macToString(a.targetMac)})` : ''} tell ${ipv4ToString(a.senderIp)}, length 28`;
        else if (a.op === ARP_REPLY)
          s += `ARP, Reply ${ipv4ToString(a.senderIp)} is-at ${macToString(a.senderMac)}, length 28`;
        else s += `ARP, opcode ${a.op}, length 28`;
        break;
      }
      case 'ipv4': {
        const ip = new Ipv4View(buf, l.offset);
        ipSrc = ipv4ToString(ip.src);
        ipDst = ipv4ToString(ip.dst);
        ipPayloadLength = Math.min(ip.totalLength, end - l.offset) - ip.headerLength;
        if (next === 'icmp' || (next === undefined && d.stopped)) s += `${ipSrc} > ${ipDst}: `;
        else if (next !== 'tcp' && next !== 'udp') {
          const frag = ip.isFragment
            ? ` (frag id ${ip.identification}, offset ${ip.fragmentOffset * 8}${ip.moreFragments ? ', more' : ''})`
            : '';
          s += `${ipSrc} > ${ipDst}: ip-proto-${ip.protocol}${frag}, length ${ipPayloadLength}`;
        }
        break;
      }
      case 'icmp':
        s += icmpText(buf, l.offset, ipPayloadLength, Math.min(end, l.offset + ipPayloadLength));
        break;
      case 'tcp': {
        const t = new TcpView(buf, l.offset);
        const data = ipPayloadLength - t.headerLength;
        s += `${ipSrc}.${t.srcPort} > ${ipDst}.${t.dstPort}: Flags [${tcpFlagsToString(t.flags)}], seq ${t.seq}`;
        if (t.flags & TCP_ACK) s += `, ack ${t.ack}`;
        s += `, win ${t.window}, length ${data}`;
        break;
      }
      case 'udp': {
        const u = new UdpView(buf, l.offset);
        s += `${ipSrc}.${u.srcPort} > ${ipDst}.${u.dstPort}: `;
        if (next !== 'vxlan') s += `UDP, length ${u.length - 8}`;
        break;
      }
      case 'vxlan': {
        const v = new VxlanView(buf, l.offset);
        s += `VXLAN, flags [${v.flags & 0x08 ? 'I' : '.'}] (0x${v.flags.toString(16).padStart(2, '0')}), vni ${v.vni}`;
        if (next === 'eth') s += ': ';
        break;
      }
      case 'payload':
      case 'padding':
        break;
    }
  }
  s = s.replace(/(, |: )$/, '');
  const f = d.stoppedBy ?? d.fault; // what ended the walk says most about a cut frame
  if (f) s += `${s === '' ? '' : ' '}[|${f.layer}: ${f.code} at ${f.offset}]`;
  return s;
}

/** The EtherType part after the MACs: empty for ARP (its text names itself). */
function ethertypeText(next: string | undefined, ethertype: number, payloadBytes: number): string {
  if (ethertype === 0x0800) return 'IPv4, ';
  if (ethertype === 0x0806) return next === 'arp' ? '' : 'ARP, ';
  return `ethertype 0x${ethertype.toString(16).padStart(4, '0')}, length ${payloadBytes}, `;
}
