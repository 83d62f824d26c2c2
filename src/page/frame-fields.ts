/**
 * A frame as Wireshark's packet detail pane shows it: each layer the project's dissector (codecs/dissect.ts)
 * found, with every header field's name, display-filter name, byte range, value and meaning. The layer walk is
 * the dissector's own (same layers, offsets and faults); the field values are read with the codecs' views and
 * the checksums verified with the views' own checks, so the page says exactly what the project decodes.
 * Cold path: allocates freely (one page per walk).
 */

import { ArpView } from '../../codecs/arp.js';
import { ipv4ToString, macToString, readU16, readU32 } from '../../codecs/bytes.js';
import { dissect, Dissection, type Layer } from '../../codecs/dissect.js';
import { EthernetView } from '../../codecs/ethernet.js';
import { IcmpView, icmpIsEcho } from '../../codecs/icmp.js';
import { Ipv4View } from '../../codecs/ipv4.js';
import { TcpView } from '../../codecs/tcp.js';
import { UdpView } from '../../codecs/udp.js';
import { VxlanView } from '../../codecs/vxlan.js';
import type { PageField, PageLayer } from './types.js';

/** The decoded frame: its layers and, when the dissector met one, the first fault in words. */
export interface DescribedFrame {
  layers: PageLayer[];
  fault?: string;
}

const ETHERTYPES: Record<number, string> = {
  0x0800: 'IPv4',
  0x0806: 'ARP',
  0x8100: '802.1Q Virtual LAN',
  0x86dd: 'IPv6',
};
const IP_PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };
const DSCP_NAMES: Record<number, string> = {
  0: 'Default',
  8: 'CS1',
  10: 'AF11',
  16: 'CS2',
  18: 'AF21',
  24: 'CS3',
  26: 'AF31',
  32: 'CS4',
  34: 'AF41',
  40: 'CS5',
  46: 'EF',
  48: 'CS6',
  56: 'CS7',
};
const ECN_NAMES = [
  'Not ECN-Capable Transport',
  'ECN-Capable Transport codepoint 1',
  'ECN-Capable Transport codepoint 0',
  'Congestion Experienced',
];
const ICMP_TYPES: Record<number, string> = {
  0: 'Echo (ping) reply',
  3: 'Destination unreachable',
  5: 'Redirect',
  8: 'Echo (ping) request',
  11: 'Time-to-live exceeded',
  12: 'Parameter problem',
};
const UNREACH_CODES = [
  'Network unreachable',
  'Host unreachable',
  'Protocol unreachable',
  'Port unreachable',
  'Fragmentation needed',
  'Source route failed',
];
const TCP_FLAG_NAMES: [number, string, string][] = [
  [0x100, 'ns', 'Nonce'],
  [0x80, 'cwr', 'Congestion Window Reduced'],
  [0x40, 'ece', 'ECN-Echo'],
  [0x20, 'urg', 'Urgent'],
  [0x10, 'ack', 'Acknowledgment'],
  [0x08, 'push', 'Push'],
  [0x04, 'reset', 'Reset'],
  [0x02, 'syn', 'Syn'],
  [0x01, 'fin', 'Fin'],
];
const WELL_KNOWN_PORTS: Record<number, string> = {
  53: 'domain',
  80: 'http',
  443: 'https',
  1433: 'ms-sql-s',
  4789: 'vxlan',
  8080: 'http-alt',
};

const scratch = new Dissection();

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

function field(
  name: string,
  abbrev: string,
  offset: number,
  length: number,
  show: string,
  extra: Partial<PageField> = {},
): PageField {
  return { name, abbrev, offset, length, show, ...extra };
}

/** A bit of a flags word as Wireshark prints it: `.1.. .... .... .... = Don't fragment: Set`. */
function bit(
  word: number,
  mask: number,
  bits: number,
  label: string,
  abbrev: string,
  offset: number,
  bytes: number,
): PageField {
  const on = (word & mask) !== 0;
  let pattern = '';
  for (let i = bits - 1; i >= 0; i--) {
    pattern += (mask >> i) & 1 ? (on ? '1' : '0') : '.';
    if (i % 4 === 0 && i > 0) pattern += ' ';
  }
  return field(label, abbrev, offset, bytes, on ? 'Set' : 'Not set', {
    value: on ? 1 : 0,
    meaning: `${pattern} = ${label}: ${on ? 'Set' : 'Not set'}`,
  });
}

function ethernet(buf: Uint8Array, l: Layer, depth: number): PageLayer {
  const e = new EthernetView(buf, l.offset);
  const o = l.offset;
  const dst = macToString(e.dst),
    src = macToString(e.src);
  const type = readU16(buf, o + 12);
  const fields = [
    field('Destination', 'eth.dst', o, 6, dst, {
      value: dst,
      meaning: e.dst === 0xffffffffffff ? 'Broadcast' : (buf[o]! & 1) !== 0 ? 'Multicast' : undefined,
    }),
    field('Source', 'eth.src', o + 6, 6, src, { value: src }),
    field('Type', 'eth.type', o + 12, 2, hex(type, 4), { value: type, meaning: ETHERTYPES[type] ?? 'unknown' }),
  ];
  return { proto: 'eth', title: `Ethernet II, Src: ${src}, Dst: ${dst}`, offset: o, length: l.length, depth, fields };
}

function vlan(buf: Uint8Array, l: Layer, depth: number): PageLayer {
  const o = l.offset;
  const tci = readU16(buf, o);
  const type = readU16(buf, o + 2);
  return {
    proto: 'vlan',
    title: `802.1Q Virtual LAN, PRI: ${tci >>> 13}, DEI: ${(tci >>> 12) & 1}, ID: ${tci & 0xfff}`,
    offset: o,
    length: l.length,
    depth,
    fields: [
      field('Priority', 'vlan.priority', o, 2, String(tci >>> 13), { value: tci >>> 13 }),
      field('DEI', 'vlan.dei', o, 2, String((tci >>> 12) & 1), { value: (tci >>> 12) & 1 }),
      field('ID', 'vlan.id', o, 2, String(tci & 0xfff), { value: tci & 0xfff }),
      field('Type', 'vlan.etype', o + 2, 2, hex(type, 4), { value: type, meaning: ETHERTYPES[type] ?? 'unknown' }),
    ],
  };
}

function arp(buf: Uint8Array, l: Layer, depth: number): PageLayer {
  const a = new ArpView(buf, l.offset);
  const o = l.offset;
  const op = a.op;
  const opName = op === 1 ? 'request' : op === 2 ? 'reply' : 'unknown';
  const htype = readU16(buf, o),
    ptype = readU16(buf, o + 2);
  const smac = macToString(a.senderMac),
    sip = ipv4ToString(a.senderIp),
    tmac = macToString(a.targetMac),
    tip = ipv4ToString(a.targetIp);
  return {
    proto: 'arp',
    title: `Address Resolution Protocol (${opName})`,
    offset: o,
    length: l.length,
    depth,
    fields: [
      field('Hardware type', 'arp.hw.type', o, 2, String(htype), {
        value: htype,
        meaning: htype === 1 ? 'Ethernet' : undefined,
      }),
      field('Protocol type', 'arp.proto.type', o + 2, 2, hex(ptype, 4), { value: ptype, meaning: ETHERTYPES[ptype] }),
      field('Hardware size', 'arp.hw.size', o + 4, 1, String(buf[o + 4]), { value: buf[o + 4]! }),
      field('Protocol size', 'arp.proto.size', o + 5, 1, String(buf[o + 5]), { value: buf[o + 5]! }),
      field('Opcode', 'arp.opcode', o + 6, 2, String(op), { value: op, meaning: opName }),
      field('Sender MAC address', 'arp.src.hw_mac', o + 8, 6, smac, { value: smac }),
      field('Sender IP address', 'arp.src.proto_ipv4', o + 14, 4, sip, { value: sip }),
      field('Target MAC address', 'arp.dst.hw_mac', o + 18, 6, tmac, { value: tmac }),
      field('Target IP address', 'arp.dst.proto_ipv4', o + 24, 4, tip, { value: tip }),
    ],
  };
}

function ipv4(buf: Uint8Array, l: Layer, depth: number): PageLayer {
  const v = new Ipv4View(buf, l.offset);
  const o = l.offset;
  const src = ipv4ToString(v.src),
    dst = ipv4ToString(v.dst);
  const flags = readU16(buf, o + 6);
  const dscp = v.dscp,
    ecn = v.ecn;
  const good = v.checksumValid();
  const fields: PageField[] = [
    field('Version', 'ip.version', o, 1, String(v.version), { value: v.version }),
    field('Header Length', 'ip.hdr_len', o, 1, `${v.headerLength} bytes`, {
      value: v.headerLength,
      meaning: `${v.headerLength >>> 2} × 4-byte words`,
    }),
    field('Differentiated Services Field', 'ip.dsfield', o + 1, 1, hex(buf[o + 1]!, 2), {
      value: buf[o + 1]!,
      meaning: `DSCP: ${DSCP_NAMES[dscp] ?? dscp}, ECN: ${ecn === 0 ? 'Not-ECT' : ecn === 3 ? 'CE' : `ECT(${ecn === 2 ? 0 : 1})`}`,
      children: [
        field('Differentiated Services Codepoint', 'ip.dsfield.dscp', o + 1, 1, String(dscp), {
          value: dscp,
          meaning: DSCP_NAMES[dscp],
        }),
        field('Explicit Congestion Notification', 'ip.dsfield.ecn', o + 1, 1, String(ecn), {
          value: ecn,
          meaning: ECN_NAMES[ecn],
        }),
      ],
    }),
    field('Total Length', 'ip.len', o + 2, 2, String(v.totalLength), { value: v.totalLength }),
    field('Identification', 'ip.id', o + 4, 2, `${hex(v.identification, 4)} (${v.identification})`, {
      value: v.identification,
    }),
    field('Flags', 'ip.flags', o + 6, 2, hex(flags >>> 13, 1), {
      value: flags >>> 13,
      meaning:
        [flags & 0x4000 ? "Don't fragment" : '', flags & 0x2000 ? 'More fragments' : ''].filter(Boolean).join(', ') ||
        'none set',
      children: [
        bit(flags, 0x8000, 16, 'Reserved bit', 'ip.flags.rb', o + 6, 2),
        bit(flags, 0x4000, 16, "Don't fragment", 'ip.flags.df', o + 6, 2),
        bit(flags, 0x2000, 16, 'More fragments', 'ip.flags.mf', o + 6, 2),
      ],
    }),
    field('Fragment Offset', 'ip.frag_offset', o + 6, 2, String(v.fragmentOffset * 8), { value: v.fragmentOffset * 8 }),
    field('Time to Live', 'ip.ttl', o + 8, 1, String(v.ttl), { value: v.ttl }),
    field('Protocol', 'ip.proto', o + 9, 1, String(v.protocol), {
      value: v.protocol,
      meaning: IP_PROTOCOLS[v.protocol] ?? 'unknown',
    }),
    field('Header Checksum', 'ip.checksum', o + 10, 2, hex(v.checksum, 4), {
      value: v.checksum,
      meaning: good ? 'correct' : 'incorrect',
      status: good ? 'good' : 'bad',
    }),
    field('Source Address', 'ip.src', o + 12, 4, src, { value: src }),
    field('Destination Address', 'ip.dst', o + 16, 4, dst, { value: dst }),
  ];
  if (v.headerLength > 20)
    fields.push(field('Options', 'ip.options', o + 20, v.headerLength - 20, `${v.headerLength - 20} bytes`));
  return {
    proto: 'ip',
    title: `Internet Protocol Version 4, Src: ${src}, Dst: ${dst}`,
    offset: o,
    length: l.length,
    depth,
    fields,
  };
}

/** The IPv4 header an L4 layer sits in: the layer just before it. */
function ipBefore(buf: Uint8Array, layers: readonly Layer[], i: number): Ipv4View | undefined {
  const prev = layers[i - 1];
  return prev?.kind === 'ipv4' ? new Ipv4View(buf, prev.offset) : undefined;
}

function portMeaning(p: number): string | undefined {
  return WELL_KNOWN_PORTS[p];
}

function icmp(buf: Uint8Array, l: Layer, depth: number, ip: Ipv4View | undefined): PageLayer {
  const v = new IcmpView(buf, l.offset);
  const o = l.offset;
  const t = v.type,
    c = v.code;
  const good = ip ? v.checksumValid(ip.offset + ip.totalLength - o) : undefined;
  const fields: PageField[] = [
    field('Type', 'icmp.type', o, 1, String(t), { value: t, meaning: ICMP_TYPES[t] ?? 'unknown' }),
    field('Code', 'icmp.code', o + 1, 1, String(c), {
      value: c,
      meaning:
        t === 3
          ? UNREACH_CODES[c]
          : t === 11
            ? c === 0
              ? 'Time to live exceeded in transit'
              : 'Fragment reassembly time exceeded'
            : undefined,
    }),
    field(
      'Checksum',
      'icmp.checksum',
      o + 2,
      2,
      hex(v.checksum, 4),
      good === undefined
        ? { value: v.checksum }
        : { value: v.checksum, meaning: good ? 'correct' : 'incorrect', status: good ? 'good' : 'bad' },
    ),
  ];
  if (icmpIsEcho(t)) {
    fields.push(
      field('Identifier', 'icmp.ident', o + 4, 2, `${v.identifier} (${hex(v.identifier, 4)})`, { value: v.identifier }),
    );
    fields.push(
      field('Sequence Number', 'icmp.seq', o + 6, 2, `${v.sequence} (${hex(v.sequence, 4)})`, { value: v.sequence }),
    );
  } else if (t === 3 && c === 4) {
    fields.push(field('Unused', 'icmp.unused', o + 4, 2, hex(readU16(buf, o + 4), 4)));
    fields.push(field('MTU of next hop', 'icmp.mtu', o + 6, 2, String(v.nextHopMtu), { value: v.nextHopMtu }));
  } else {
    fields.push(field('Rest of header', 'icmp.rest', o + 4, 4, hex(readU32(buf, o + 4), 8)));
  }
  return {
    proto: 'icmp',
    title: `Internet Control Message Protocol${ICMP_TYPES[t] ? ` (${ICMP_TYPES[t]})` : ''}`,
    offset: o,
    length: l.length,
    depth,
    fields,
  };
}

function udp(buf: Uint8Array, l: Layer, depth: number, ip: Ipv4View | undefined): PageLayer {
  const v = new UdpView(buf, l.offset);
  const o = l.offset;
  const absent = v.checksum === 0;
  const good = ip ? v.checksumValidFromAddressSum(ip.addressSum()) : undefined;
  const ck: Partial<PageField> = absent
    ? { value: 0, meaning: 'not present (zero: no checksum, allowed over IPv4 by RFC 768)', status: 'absent' }
    : good === undefined
      ? { value: v.checksum }
      : { value: v.checksum, meaning: good ? 'correct' : 'incorrect', status: good ? 'good' : 'bad' };
  return {
    proto: 'udp',
    title: `User Datagram Protocol, Src Port: ${v.srcPort}, Dst Port: ${v.dstPort}`,
    offset: o,
    length: l.length,
    depth,
    fields: [
      field('Source Port', 'udp.srcport', o, 2, String(v.srcPort), {
        value: v.srcPort,
        meaning: portMeaning(v.srcPort),
      }),
      field('Destination Port', 'udp.dstport', o + 2, 2, String(v.dstPort), {
        value: v.dstPort,
        meaning: portMeaning(v.dstPort),
      }),
      field('Length', 'udp.length', o + 4, 2, String(v.length), { value: v.length }),
      field('Checksum', 'udp.checksum', o + 6, 2, hex(v.checksum, 4), ck),
    ],
  };
}

/** TCP options, each with its kind, length and value (RFC 9293, 7323, 2018). */
function tcpOptions(buf: Uint8Array, start: number, end: number): PageField[] {
  const out: PageField[] = [];
  let p = start;
  while (p < end) {
    const kind = buf[p]!;
    if (kind === 0) {
      out.push(field('End of Option List', 'tcp.option_kind', p, end - p, 'EOL', { value: 0 }));
      break;
    }
    if (kind === 1) {
      out.push(field('No-Operation', 'tcp.option_kind', p, 1, 'NOP', { value: 1 }));
      p++;
      continue;
    }
    const len = p + 1 < end ? buf[p + 1]! : 0;
    if (len < 2 || p + len > end) {
      out.push(field('Malformed option', 'tcp.option_kind', p, end - p, `kind ${kind}`, { value: kind }));
      break;
    }
    if (kind === 2 && len === 4)
      out.push(
        field('Maximum segment size', 'tcp.options.mss_val', p, 4, `${readU16(buf, p + 2)} bytes`, {
          value: readU16(buf, p + 2),
        }),
      );
    else if (kind === 3 && len === 3)
      out.push(
        field('Window scale', 'tcp.options.wscale.shift', p, 3, String(buf[p + 2]), {
          value: buf[p + 2]!,
          meaning: `multiply by ${2 ** buf[p + 2]!}`,
        }),
      );
    else if (kind === 4) out.push(field('SACK permitted', 'tcp.options.sack_perm', p, len, 'yes', { value: 1 }));
    else if (kind === 8 && len === 10)
      out.push(
        field(
          'Timestamps',
          'tcp.options.timestamp.tsval',
          p,
          10,
          `TSval ${readU32(buf, p + 2)}, TSecr ${readU32(buf, p + 6)}`,
          { value: readU32(buf, p + 2) },
        ),
      );
    else out.push(field(`Option kind ${kind}`, 'tcp.option_kind', p, len, `${len} bytes`, { value: kind }));
    p += len;
  }
  return out;
}

function tcp(buf: Uint8Array, l: Layer, depth: number, ip: Ipv4View | undefined): PageLayer {
  const v = new TcpView(buf, l.offset);
  const o = l.offset;
  const flags = v.flags;
  const good = ip ? v.checksumValidFromAddressSum(ip.addressSum(), ip.offset + ip.totalLength - o) : undefined;
  const set = TCP_FLAG_NAMES.filter(([m]) => flags & m).map(([, n]) =>
    n.toUpperCase().replace('PUSH', 'PSH').replace('RESET', 'RST'),
  );
  const fields: PageField[] = [
    field('Source Port', 'tcp.srcport', o, 2, String(v.srcPort), { value: v.srcPort, meaning: portMeaning(v.srcPort) }),
    field('Destination Port', 'tcp.dstport', o + 2, 2, String(v.dstPort), {
      value: v.dstPort,
      meaning: portMeaning(v.dstPort),
    }),
    field('Sequence Number (raw)', 'tcp.seq_raw', o + 4, 4, String(v.seq), { value: v.seq }),
    field('Acknowledgment Number (raw)', 'tcp.ack_raw', o + 8, 4, String(v.ack), {
      value: v.ack,
      meaning: flags & 0x10 ? undefined : 'not used (ACK not set)',
    }),
    field('Header Length', 'tcp.hdr_len', o + 12, 1, `${v.headerLength} bytes`, {
      value: v.headerLength,
      meaning: `${v.dataOffset} × 4-byte words`,
    }),
    field('Flags', 'tcp.flags', o + 12, 2, hex(flags, 3), {
      value: flags,
      meaning: set.length ? set.join(', ') : 'none',
      children: TCP_FLAG_NAMES.map(([m, a, n]) => bit(flags, m, 12, n, `tcp.flags.${a}`, o + 12, 2)),
    }),
    field('Window', 'tcp.window_size_value', o + 14, 2, String(v.window), { value: v.window }),
    field(
      'Checksum',
      'tcp.checksum',
      o + 16,
      2,
      hex(v.checksum, 4),
      good === undefined
        ? { value: v.checksum }
        : { value: v.checksum, meaning: good ? 'correct' : 'incorrect', status: good ? 'good' : 'bad' },
    ),
    field('Urgent Pointer', 'tcp.urgent_pointer', o + 18, 2, String(v.urgentPointer), { value: v.urgentPointer }),
  ];
  if (v.headerLength > 20) {
    fields.push(
      field('Options', 'tcp.options', o + 20, v.headerLength - 20, `${v.headerLength - 20} bytes`, {
        children: tcpOptions(buf, o + 20, o + v.headerLength),
      }),
    );
  }
  const payload = ip ? ip.offset + ip.totalLength - v.payloadOffset : 0;
  return {
    proto: 'tcp',
    title: `Transmission Control Protocol, Src Port: ${v.srcPort}, Dst Port: ${v.dstPort}, Flags: [${set.join(', ') || 'none'}], Len: ${Math.max(0, payload)}`,
    offset: o,
    length: l.length,
    depth,
    fields,
  };
}

function vxlan(buf: Uint8Array, l: Layer, depth: number): PageLayer {
  const v = new VxlanView(buf, l.offset);
  const o = l.offset;
  const f = v.flags;
  return {
    proto: 'vxlan',
    title: `Virtual eXtensible Local Area Network, VNI: ${v.vni}`,
    offset: o,
    length: l.length,
    depth,
    fields: [
      field('Flags', 'vxlan.flags', o, 2, hex(readU16(buf, o), 4), {
        value: readU16(buf, o),
        meaning: f & 0x08 ? 'VXLAN Network ID (VNI) valid' : 'VNI flag not set',
        children: [bit(f, 0x08, 8, 'VXLAN Network ID (VNI)', 'vxlan.flags.i', o, 1)],
      }),
      field('Reserved', 'vxlan.reserved', o + 1, 3, hex((buf[o + 1]! << 16) | readU16(buf, o + 2), 6)),
      field('VXLAN Network Identifier (VNI)', 'vxlan.vni', o + 4, 3, String(v.vni), {
        value: v.vni,
        meaning: hex(v.vni, 6),
      }),
      field('Reserved', 'vxlan.reserved2', o + 7, 1, hex(buf[o + 7]!, 2)),
    ],
  };
}

/** Printable ASCII of a payload's start (HTTP and TLS record lines are useful to read). */
function preview(buf: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + Math.min(length, 48); i++) {
    const c = buf[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : c === 0x0d ? '\\r' : c === 0x0a ? '\\n' : '.';
  }
  return length > 48 ? `${s}…` : s;
}

/** Decode a whole captured frame into layers and fields (never throws: a fault ends the layers it stopped). */
export function describeFrame(buf: Uint8Array): DescribedFrame {
  const d = dissect(buf, 0, buf.length, scratch, { verifyChecksums: true });
  const layers: PageLayer[] = [];
  const raw: Layer[] = [];
  for (let i = 0; i < d.count; i++) raw.push({ ...d.layers[i]! });
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i]!;
    switch (l.kind) {
      case 'eth':
        if (i > 0 && raw[i - 1]!.kind === 'vxlan') depth++;
        layers.push(ethernet(buf, l, depth));
        break;
      case 'vlan':
        layers.push(vlan(buf, l, depth));
        break;
      case 'arp':
        layers.push(arp(buf, l, depth));
        break;
      case 'ipv4':
        layers.push(ipv4(buf, l, depth));
        break;
      case 'icmp':
        layers.push(icmp(buf, l, depth, ipBefore(buf, raw, i)));
        break;
      case 'udp':
        layers.push(udp(buf, l, depth, ipBefore(buf, raw, i)));
        break;
      case 'tcp':
        layers.push(tcp(buf, l, depth, ipBefore(buf, raw, i)));
        break;
      case 'vxlan':
        layers.push(vxlan(buf, l, depth));
        break;
      case 'payload': {
        const quote = d.icmpQuote === l.offset;
        layers.push({
          proto: 'data',
          title: `${quote ? 'Quoted IPv4 header and data' : 'Data'} (${l.length} bytes)`,
          offset: l.offset,
          length: l.length,
          depth,
          fields: [
            field('Length', 'data.len', l.offset, l.length, String(l.length), { value: l.length }),
            field('Text', 'data.text', l.offset, l.length, preview(buf, l.offset, l.length)),
          ],
        });
        break;
      }
      case 'padding':
        layers.push({
          proto: 'padding',
          title: `Ethernet padding (${l.length} bytes)`,
          offset: l.offset,
          length: l.length,
          depth: 0,
          fields: [field('Padding', 'eth.padding', l.offset, l.length, `${l.length} bytes`)],
        });
        break;
    }
  }
  const f = d.fault;
  return f
    ? { layers, fault: `${f.layer}: ${f.code} at byte ${f.offset}${f.detail ? `: ${f.detail}` : ''}` }
    : { layers };
}

/** The dissector's layer kinds and offsets for a frame (what the page's layers must agree with). */
export function dissectorLayers(buf: Uint8Array): { kind: string; offset: number; length: number }[] {
  const d = dissect(buf, 0, buf.length, scratch, { verifyChecksums: true });
  const out = [];
  for (let i = 0; i < d.count; i++) out.push({ ...d.layers[i]! });
  return out;
}

/** Every protocol name and display-filter field name describeFrame can produce (the page's filter knows these). */
export const PAGE_FILTER_NAMES: readonly string[] = [
  'eth',
  'vlan',
  'arp',
  'ip',
  'icmp',
  'udp',
  'tcp',
  'vxlan',
  'data',
  'padding',
  'eth.dst',
  'eth.src',
  'eth.type',
  'eth.padding',
  'vlan.priority',
  'vlan.dei',
  'vlan.id',
  'vlan.etype',
  'arp.hw.type',
  'arp.proto.type',
  'arp.hw.size',
  'arp.proto.size',
  'arp.opcode',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'ip.version',
  'ip.hdr_len',
  'ip.dsfield',
  'ip.dsfield.dscp',
  'ip.dsfield.ecn',
  'ip.len',
  'ip.id',
  'ip.flags',
  'ip.flags.rb',
  'ip.flags.df',
  'ip.flags.mf',
  'ip.frag_offset',
  'ip.ttl',
  'ip.proto',
  'ip.checksum',
  'ip.src',
  'ip.dst',
  'ip.options',
  'icmp.type',
  'icmp.code',
  'icmp.checksum',
  'icmp.ident',
  'icmp.seq',
  'icmp.unused',
  'icmp.mtu',
  'icmp.rest',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.hdr_len',
  'tcp.flags',
  'tcp.flags.ns',
  'tcp.flags.cwr',
  'tcp.flags.ece',
  'tcp.flags.urg',
  'tcp.flags.ack',
  'tcp.flags.push',
  'tcp.flags.reset',
  'tcp.flags.syn',
  'tcp.flags.fin',
  'tcp.window_size_value',
  'tcp.checksum',
  'tcp.urgent_pointer',
  'tcp.options',
  'tcp.option_kind',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.sack_perm',
  'tcp.options.timestamp.tsval',
  'vxlan.flags',
  'vxlan.flags.i',
  'vxlan.reserved',
  'vxlan.vni',
  'vxlan.reserved2',
  'data.len',
  'data.text',
  'frame.number',
  'frame.interface_name',
  'frame.len',
];
