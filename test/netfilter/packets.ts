/**
 * Test packets built with the codecs (which compute checksums independently of src/netfilter), behind a 14-byte
 * Ethernet header so every netfilter call works at a nonzero IPv4 offset. Checks use the codecs' parsers, which
 * verify every checksum by full recomputation.
 */

import { ipv4, toHex, writeU16 } from '../../codecs/bytes.js';
import { emitIcmp, parseIcmp } from '../../codecs/icmp.js';
import { emitIpv4, Ipv4View, parseIpv4 } from '../../codecs/ipv4.js';
import { emitTcp, parseTcp } from '../../codecs/tcp.js';
import { emitUdp, parseUdp } from '../../codecs/udp.js';
import { PacketBuffer } from '../../src/buffer/packet-buffer.js';

export const ETH = 14;
export const SYN = 0x02,
  ACK = 0x10,
  FIN = 0x01,
  RST = 0x04,
  PSH = 0x08;

export interface Ends {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

function frame(ipLen: number): { pkt: PacketBuffer; l3: number } {
  const pkt = new PacketBuffer();
  const s = pkt.setFrame(ETH + ipLen);
  pkt.data.fill(0, s, s + ETH);
  writeU16(pkt.data, s + 12, 0x0800);
  return { pkt, l3: s + ETH };
}

export function tcp(
  e: Ends,
  flags: number,
  o: { seq?: number; ack?: number; payload?: number; ttl?: number; id?: number } = {},
): { pkt: PacketBuffer; l3: number } {
  const payload = o.payload ?? 0;
  const { pkt, l3 } = frame(20 + 20 + payload);
  const src = ipv4(e.src),
    dst = ipv4(e.dst);
  for (let i = 0; i < payload; i++) pkt.data[l3 + 40 + i] = (i * 7 + 3) & 0xff;
  emitTcp(
    { srcPort: e.sport, dstPort: e.dport, seq: o.seq ?? 1000, ack: o.ack ?? 0, flags, window: 0xfaf0 },
    pkt.data,
    l3 + 20,
    payload,
    src,
    dst,
  );
  emitIpv4(
    { identification: o.id ?? 0x1234, dontFragment: true, ttl: o.ttl ?? 64, protocol: 6, src, dst },
    pkt.data,
    l3,
    20 + payload,
  );
  return { pkt, l3 };
}

export function udp(e: Ends, o: { payload?: number; noChecksum?: boolean } = {}): { pkt: PacketBuffer; l3: number } {
  const payload = o.payload ?? 4;
  const { pkt, l3 } = frame(20 + 8 + payload);
  const src = ipv4(e.src),
    dst = ipv4(e.dst);
  for (let i = 0; i < payload; i++) pkt.data[l3 + 28 + i] = (i * 13 + 1) & 0xff;
  emitUdp(
    o.noChecksum ? { srcPort: e.sport, dstPort: e.dport, checksum: 0 } : { srcPort: e.sport, dstPort: e.dport },
    pkt.data,
    l3 + 20,
    payload,
    src,
    dst,
  );
  emitIpv4({ ttl: 64, protocol: 17, src, dst }, pkt.data, l3, 8 + payload);
  return { pkt, l3 };
}

export function echo(src: string, dst: string, type: 8 | 0, id: number, seq = 1): { pkt: PacketBuffer; l3: number } {
  const { pkt, l3 } = frame(20 + 8 + 8);
  pkt.data.fill(0xab, l3 + 28, l3 + 36);
  emitIcmp({ type, code: 0, identifier: id, sequence: seq }, pkt.data, l3 + 20, 8);
  emitIpv4({ ttl: 64, protocol: 1, src: ipv4(src), dst: ipv4(dst) }, pkt.data, l3, 16);
  return { pkt, l3 };
}

/** An ICMP error from `src` to `dst` quoting the first `quote` bytes of the IPv4 packet at `orig`. */
export function icmpError(
  src: string,
  dst: string,
  type: number,
  code: number,
  orig: { pkt: PacketBuffer; l3: number },
  quote = 28,
): { pkt: PacketBuffer; l3: number } {
  const total = new Ipv4View(orig.pkt.data, orig.l3).totalLength;
  const q = Math.min(quote, total);
  const { pkt, l3 } = frame(20 + 8 + q);
  pkt.data.set(orig.pkt.data.subarray(orig.l3, orig.l3 + q), l3 + 28);
  emitIcmp({ type, code }, pkt.data, l3 + 20, q);
  emitIpv4({ ttl: 64, protocol: 1, src: ipv4(src), dst: ipv4(dst) }, pkt.data, l3, 8 + q);
  return { pkt, l3 };
}

/** Addresses, ports and validity of every checksum, by full recomputation in the codecs. */
export function inspect(p: { pkt: PacketBuffer; l3: number }): {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  valid: boolean;
} {
  const b = p.pkt.data;
  const ip = new Ipv4View(b, p.l3);
  const src = ip.src,
    dst = ip.dst;
  const s = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  let valid = ip.checksumValid();
  let sport = 0,
    dport = 0;
  const l4 = p.l3 + ip.headerLength;
  const end = p.l3 + ip.totalLength;
  try {
    parseIpv4(b, p.l3, end);
    if (ip.protocol === 6) ({ srcPort: sport, dstPort: dport } = parseTcp(b, l4, end, src, dst));
    else if (ip.protocol === 17) ({ srcPort: sport, dstPort: dport } = parseUdp(b, l4, end, src, dst));
    else if (ip.protocol === 1) sport = parseIcmp(b, l4, end).identifier ?? 0;
  } catch {
    valid = false;
  }
  return { src: s(src), dst: s(dst), sport, dport, valid };
}

/** Hex of the IPv4 packet (without Ethernet). */
export function ipHex(p: { pkt: PacketBuffer; l3: number }): string {
  const len = new Ipv4View(p.pkt.data, p.l3).totalLength;
  return toHex(p.pkt.data, p.l3, p.l3 + len);
}

export const SEC = 1_000_000_000;
