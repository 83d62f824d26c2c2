/**
 * The dissector: walks a frame eth -> (vlan) -> ipv4 | arp -> icmp | udp | tcp -> (vxlan -> eth -> ...) ->
 * payload, recording each layer's kind, offset and length into a reusable Dissection, like gopacket's
 * DecodingLayerParser. It never throws and allocates nothing per packet on the success path (a Fault object is
 * built only when something is wrong).
 *
 * Faults. A hard fault (truncated header, bad IHL or version, bad TCP data offset, ...) stops the walk; the good
 * outer layers stay. A soft fault is recorded and the walk goes on, as Wireshark does: bad checksums (only with
 * `verifyChecksums`), VXLAN 'bad-flags' / 'reserved-nonzero', and an IPv4 total length or UDP length larger than
 * the bytes present ('bad-length'; the layer is then decoded over the bytes that are there and its L4 checksum
 * is not verified). `fault` is the first fault met; `stopped`/`stoppedBy` say whether and which one ended the walk.
 *
 * ICMP errors quote the offending IPv4 header; the quote is reported as 'payload' (not as ordinary layers) and
 * its offset is `icmpQuote`. IPv4 fragments carry no decodable L4 header past the first, and the first cannot
 * be checksummed alone: the whole fragment data is 'payload'.
 */

import { ArpView } from './arp.js';
import { fault, type Fault } from './errors.js';
import { EthernetView } from './ethernet.js';
import { IcmpView, ICMP_HEADER_LEN, icmpIsError } from './icmp.js';
import { Ipv4View } from './ipv4.js';
import { layerForEthertype, layerForIpProtocol, layerForUdpPort, type LayerKind } from './registry.js';
import { TcpView } from './tcp.js';
import { UdpView, UDP_HEADER_LEN } from './udp.js';
import { VxlanView, VXLAN_HEADER_LEN } from './vxlan.js';

export type { LayerKind } from './registry.js';

/** Most layers one Dissection records (three VXLAN nestings' worth). */
export const MAX_LAYERS = 16;

/** One decoded layer: its kind and the absolute byte range of its header (payload/padding: of its bytes). */
export interface Layer {
  kind: LayerKind;
  offset: number;
  length: number;
}

export interface DissectOptions {
  /** Verify IPv4, ICMP, UDP and TCP checksums (a failure is a soft 'bad-checksum' fault). Default false. */
  verifyChecksums?: boolean;
}

/** A reusable dissection result. All offsets are absolute in the dissected buffer; -1 means absent. */
export class Dissection {
  /** MAX_LAYERS preallocated entries; only the first `count` are meaningful. */
  readonly layers: Layer[] = Array.from({ length: MAX_LAYERS }, () => ({ kind: 'payload' as LayerKind, offset: 0, length: 0 }));
  count = 0;
  start = 0;
  end = 0;
  /** The first fault met, or undefined for a clean frame. */
  fault: Fault | undefined = undefined;
  /** True when a (hard) fault ended the walk before the last layer. */
  stopped = false;
  /** The fault that ended the walk (may differ from `fault` when a soft fault came first). */
  stoppedBy: Fault | undefined = undefined;

  /** The outermost Ethernet header. */
  eth = -1;
  /** The first IPv4 header (the underlay's for a VXLAN frame, the only one otherwise). */
  outerIpv4 = -1;
  /** The first L4 header (the outer UDP of a VXLAN frame). */
  outerL4 = -1;
  /** The first VXLAN header and its VNI. */
  vxlan = -1;
  vni = -1;
  /** The Ethernet and IPv4 headers inside the first VXLAN payload. */
  innerEth = -1;
  innerIpv4 = -1;
  /** The innermost IPv4 header, ARP packet and L4 header (what a flow key is built from). */
  ipv4 = -1;
  arp = -1;
  l4 = -1;
  l4Kind: LayerKind | undefined = undefined;
  /** The innermost payload (-1 and 0 when empty). */
  payload = -1;
  payloadLength = 0;
  /** The IPv4 header quoted by an ICMP error. */
  icmpQuote = -1;
  /** Bytes after the outer frame's L3 datagram (Ethernet padding up to 60 bytes, or a trailer). */
  padding = 0;

  /** Forget the previous frame (no allocation). */
  clear(start: number, end: number): this {
    this.count = 0;
    this.start = start;
    this.end = end;
    this.fault = undefined;
    this.stopped = false;
    this.stoppedBy = undefined;
    this.eth = this.outerIpv4 = this.outerL4 = this.vxlan = this.vni = this.innerEth = this.innerIpv4 = -1;
    this.ipv4 = this.arp = this.l4 = this.payload = this.icmpQuote = -1;
    this.l4Kind = undefined;
    this.payloadLength = this.padding = 0;
    return this;
  }

  /** The index of the first layer of `kind` at or after `from`, or -1. */
  indexOf(kind: LayerKind, from = 0): number {
    for (let i = from; i < this.count; i++) if (this.layers[i]!.kind === kind) return i;
    return -1;
  }

  has(kind: LayerKind): boolean {
    return this.indexOf(kind) >= 0;
  }

  /** Layer kinds joined with ':' like tshark's frame.protocols, e.g. `eth:ipv4:udp:vxlan:eth:ipv4:tcp` (allocates). */
  get protocols(): string {
    let s = '';
    for (let i = 0; i < this.count; i++) s += (i ? ':' : '') + this.layers[i]!.kind;
    return s;
  }
}

// Views shared by every dissect() call: dissect never re-enters, so one set suffices and nothing is allocated.
const ethView = new EthernetView(new Uint8Array(0));
const ipView = new Ipv4View(new Uint8Array(0));
const arpView = new ArpView(new Uint8Array(0));
const icmpView = new IcmpView(new Uint8Array(0));
const udpView = new UdpView(new Uint8Array(0));
const tcpView = new TcpView(new Uint8Array(0));
const vxlanView = new VxlanView(new Uint8Array(0));

// Padding found at each Ethernet nesting level, pushed as layers when the walk ends (innermost first).
const padStart = new Int32Array(MAX_LAYERS);
const padEnd = new Int32Array(MAX_LAYERS);
let padCount = 0;

function push(out: Dissection, kind: LayerKind, offset: number, length: number): boolean {
  if (out.count === MAX_LAYERS) {
    hard(out, fault(kind, 'unsupported', offset, `more than ${MAX_LAYERS} layers`));
    return false;
  }
  const l = out.layers[out.count++]!;
  l.kind = kind;
  l.offset = offset;
  l.length = length;
  return true;
}

function soft(out: Dissection, f: Fault): void {
  if (out.fault === undefined) out.fault = f;
}

function hard(out: Dissection, f: Fault): void {
  if (out.fault === undefined) out.fault = f;
  out.stopped = true;
  out.stoppedBy = f;
}

function payload(out: Dissection, offset: number, end: number): void {
  if (end <= offset) return;
  if (!push(out, 'payload', offset, end - offset)) return;
  out.payload = offset;
  out.payloadLength = end - offset;
}

function notePadding(out: Dissection, l3End: number, limit: number, depth: number): void {
  if (l3End >= limit) return;
  if (depth === 0) out.padding = limit - l3End;
  padStart[padCount] = l3End;
  padEnd[padCount] = limit;
  padCount++;
}

/**
 * Dissect buf[start, end) into `out` (cleared first) and return it. Never throws.
 */
export function dissect(buf: Uint8Array, start: number, end: number, out: Dissection, opts?: DissectOptions): Dissection {
  out.clear(start, end);
  padCount = 0;
  walk(buf, start, end, out, opts?.verifyChecksums === true);
  // Padding sits at the end of each nesting level's bytes, the innermost level's first; it is reported even
  // when the walk stopped early, for the levels it got through.
  for (let i = padCount - 1; i >= 0; i--) if (!push(out, 'padding', padStart[i]!, padEnd[i]! - padStart[i]!)) break;
  return out;
}

function walk(buf: Uint8Array, start: number, end: number, out: Dissection, verify: boolean): void {
  let off = start;
  let limit = end;
  let depth = 0;
  for (;;) {
    // ---- Ethernet (+ 802.1Q) ----
    const eth = ethView.reset(buf, off);
    const ef = eth.check(limit);
    if (ef && ef.layer === 'eth') return hard(out, ef);
    if (!push(out, 'eth', off, 14)) return;
    if (depth === 0) out.eth = off;
    else if (depth === 1) out.innerEth = off;
    if (ef) return hard(out, ef);
    if (eth.tagged && !push(out, 'vlan', off + 14, 4)) return;
    const l3 = eth.payloadOffset;
    const l3Kind = layerForEthertype(eth.ethertype);

    if (l3Kind === 'arp') {
      const arp = arpView.reset(buf, l3);
      const f = arp.check(limit);
      if (f) return hard(out, f);
      if (!push(out, 'arp', l3, 28)) return;
      out.arp = l3;
      notePadding(out, l3 + 28, limit, depth);
      return;
    }
    if (l3Kind !== 'ipv4') return payload(out, l3, limit);

    // ---- IPv4 ----
    const ip = ipView.reset(buf, l3);
    let clamped = false;
    const f = ip.check(limit);
    if (f) {
      // A datagram longer than the bytes present is decoded over what is there (as Wireshark does).
      if (f.code === 'bad-length' && ip.totalLength > ip.headerLength) {
        soft(out, f);
        clamped = true;
      } else {
        return hard(out, f);
      }
    }
    const ihl = ip.headerLength;
    if (!push(out, 'ipv4', l3, ihl)) return;
    if (out.outerIpv4 < 0) out.outerIpv4 = l3;
    if (depth === 1 && out.innerIpv4 < 0) out.innerIpv4 = l3;
    out.ipv4 = l3;
    if (verify && !ip.checksumValid()) soft(out, fault('ipv4', 'bad-checksum', l3 + 10, `checksum 0x${ip.checksum.toString(16)}`));
    const l3End = clamped ? limit : l3 + ip.totalLength;
    notePadding(out, l3End, limit, depth);
    const l4 = l3 + ihl;
    if (ip.isFragment) return payload(out, l4, l3End);
    // The addresses are never read as uint32 here: one >= 2^31 held across a call that is not inlined is a
    // heap number (32 bytes per packet). The checksums take their pseudo-header sum instead.
    const l4Kind = layerForIpProtocol(ip.protocol);
    if (l4Kind === undefined) return payload(out, l4, l3End);
    if (out.outerL4 < 0) out.outerL4 = l4;
    out.l4 = l4;
    out.l4Kind = l4Kind;

    // ---- ICMP ----
    if (l4Kind === 'icmp') {
      const icmp = icmpView.reset(buf, l4);
      const f4 = icmp.check(l3End);
      if (f4) return hard(out, f4);
      if (!push(out, 'icmp', l4, ICMP_HEADER_LEN)) return;
      if (verify && !clamped && !icmp.checksumValid(l3End - l4)) soft(out, fault('icmp', 'bad-checksum', l4 + 2, `checksum 0x${icmp.checksum.toString(16)}`));
      if (icmpIsError(icmp.type) && l3End - icmp.payloadOffset > 0) out.icmpQuote = icmp.payloadOffset;
      return payload(out, icmp.payloadOffset, l3End);
    }

    // ---- TCP ----
    if (l4Kind === 'tcp') {
      const tcp = tcpView.reset(buf, l4);
      const f4 = tcp.check(l3End);
      if (f4) return hard(out, f4);
      if (!push(out, 'tcp', l4, tcp.headerLength)) return;
      if (verify && !clamped && !tcp.checksumValidFromAddressSum(ip.addressSum(), l3End - l4)) soft(out, fault('tcp', 'bad-checksum', l4 + 16, `checksum 0x${tcp.checksum.toString(16)}`));
      return payload(out, tcp.payloadOffset, l3End);
    }

    if (l4Kind !== 'udp') return payload(out, l4, l3End);

    // ---- UDP ----
    const udp = udpView.reset(buf, l4);
    const f4 = udp.check(l3End);
    let udpEnd = l4 + UDP_HEADER_LEN;
    if (f4) {
      if (f4.code === 'bad-length' && udp.length > UDP_HEADER_LEN) {
        soft(out, f4);
        clamped = true;
        udpEnd = l3End;
      } else {
        return hard(out, f4);
      }
    } else {
      udpEnd = l4 + udp.length;
    }
    if (!push(out, 'udp', l4, UDP_HEADER_LEN)) return;
    if (verify && !clamped && !udp.checksumValidFromAddressSum(ip.addressSum())) soft(out, fault('udp', 'bad-checksum', l4 + 6, `checksum 0x${udp.checksum.toString(16)}`));
    const vx = l4 + UDP_HEADER_LEN;
    if (layerForUdpPort(udp.dstPort) !== 'vxlan') return payload(out, vx, udpEnd);

    // ---- VXLAN, then the inner frame ----
    const vxlan = vxlanView.reset(buf, vx);
    const f5 = vxlan.check(udpEnd);
    if (f5) {
      if (f5.code === 'truncated') return hard(out, f5);
      soft(out, f5);
    }
    if (!push(out, 'vxlan', vx, VXLAN_HEADER_LEN)) return;
    if (out.vxlan < 0) {
      out.vxlan = vx;
      out.vni = vxlan.vni;
    }
    off = vx + VXLAN_HEADER_LEN;
    limit = udpEnd;
    depth++;
  }
}
