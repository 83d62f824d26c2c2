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

import { ArpView, ARP_LEN } from './arp.js';
import { readU16, readU24 } from './bytes.js';
import { fault, type Fault } from './errors.js';
import { EthernetView, ETHERNET_HEADER_LEN, ETHERTYPE_VLAN, VLAN_TAG_LEN } from './ethernet.js';
import { IcmpView, ICMP_HEADER_LEN, icmpIsError } from './icmp.js';
import { Ipv4View, IPV4_HEADER_LEN } from './ipv4.js';
import { layerForEthertype, layerForIpProtocol, layerForUdpPort, type LayerKind } from './registry.js';
import { TcpView, TCP_HEADER_LEN } from './tcp.js';
import { UdpView, UDP_HEADER_LEN } from './udp.js';
import { VxlanView, VXLAN_FLAG_I, VXLAN_HEADER_LEN } from './vxlan.js';

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
  readonly layers: Layer[] = Array.from({ length: MAX_LAYERS }, () => ({
    kind: 'payload' as LayerKind,
    offset: 0,
    length: 0,
  }));
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

// The fields the walk reads itself (offsets within each header, as in the views' RFC diagrams).
const ETH_TYPE = 12,
  ETH_INNER_TYPE = 16;
const IP_TOTAL_LEN = 2,
  IP_FLAGS_FRAG = 6,
  IP_PROTO = 9;
/** MF and the fragment offset: any of them set makes a fragment. */
const IP_FRAGMENT_BITS = 0x3fff;
const TCP_DATA_OFFSET = 12;
const UDP_DST_PORT = 2,
  UDP_LENGTH = 4;
const VXLAN_VNI = 4,
  VXLAN_RESERVED2 = 7;

// Padding found at each Ethernet nesting level, pushed as layers when the walk ends (innermost first).
const padStart = new Int32Array(MAX_LAYERS);
const padEnd = new Int32Array(MAX_LAYERS);
let padCount = 0;
// How many layers were recorded when the first fault was met (see verifyChecksums).
let firstFaultAt = 0;

function push(out: Dissection, kind: LayerKind, offset: number, length: number): boolean {
  const n = out.count;
  if (n === MAX_LAYERS) return tooManyLayers(out, kind, offset);
  const l = out.layers[n]!;
  out.count = n + 1;
  l.kind = kind;
  l.offset = offset;
  l.length = length;
  return true;
}

function tooManyLayers(out: Dissection, kind: LayerKind, offset: number): false {
  hard(out, fault(kind, 'unsupported', offset, `more than ${MAX_LAYERS} layers`));
  return false;
}

function soft(out: Dissection, f: Fault): void {
  if (out.fault === undefined) {
    out.fault = f;
    firstFaultAt = out.count;
  }
}

function hard(out: Dissection, f: Fault): void {
  soft(out, f);
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
export function dissect(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Dissection,
  opts?: DissectOptions,
): Dissection {
  out.clear(start, end);
  padCount = 0;
  walk(buf, start, end, out);
  if (opts?.verifyChecksums === true) verifyChecksums(buf, out);
  // Padding sits at the end of each nesting level's bytes, the innermost level's first; it is reported even
  // when the walk stopped early, for the levels it got through.
  for (let i = padCount - 1; i >= 0; i--) if (!push(out, 'padding', padStart[i]!, padEnd[i]! - padStart[i]!)) break;
  return out;
}

/**
 * The walk reads the few fields it needs straight from `buf` and tests each header with exactly the conditions
 * of its view's check(); only a header that fails is handed to its view, so the views stay the one source of
 * every fault's code, offset and detail. Why not the views' getters and checks: V8 inlines at most ~920 bytes of
 * bytecode into one optimized function. The getters, checks and fault strings of seven headers exceeded it, and
 * which of them stayed real calls then depended on the type feedback present when the walk was (re)compiled:
 * after one `verifyChecksums` call the same frames ran 10% slower (and the benchmark's second case with them).
 */
function walk(buf: Uint8Array, start: number, end: number, out: Dissection): void {
  let off = start;
  let limit = end;
  let depth = 0;
  // The innermost payload, pushed once the walk leaves the loop.
  let payloadStart = 0;
  let payloadEnd = 0;
  for (;;) {
    // ---- Ethernet (+ 802.1Q) ----
    const frame = limit - off;
    // A header that fails its fast test goes to its view, which says why (it cannot return undefined then).
    if (frame < ETHERNET_HEADER_LEN) return hard(out, ethView.reset(buf, off).check(limit)!);
    if (!push(out, 'eth', off, ETHERNET_HEADER_LEN)) return;
    if (depth === 0) out.eth = off;
    else if (depth === 1) out.innerEth = off;
    let ethertype = readU16(buf, off + ETH_TYPE);
    let l3 = off + ETHERNET_HEADER_LEN;
    if (ethertype === ETHERTYPE_VLAN) {
      if (frame < ETHERNET_HEADER_LEN + VLAN_TAG_LEN) return hard(out, ethView.reset(buf, off).check(limit)!);
      if (!push(out, 'vlan', l3, VLAN_TAG_LEN)) return;
      ethertype = readU16(buf, off + ETH_INNER_TYPE);
      l3 += VLAN_TAG_LEN;
    }
    const l3Kind = layerForEthertype(ethertype);

    if (l3Kind === 'arp') {
      const f = arpView.reset(buf, l3).check(limit);
      if (f) return hard(out, f);
      if (!push(out, 'arp', l3, ARP_LEN)) return;
      out.arp = l3;
      notePadding(out, l3 + ARP_LEN, limit, depth);
      return;
    }
    if (l3Kind !== 'ipv4') {
      payloadStart = l3;
      payloadEnd = limit;
      break;
    }

    // ---- IPv4 ----
    const room = limit - l3;
    const verIhl = room >= IPV4_HEADER_LEN ? buf[l3]! : 0;
    const ihl = (verIhl & 0x0f) << 2;
    const total = room >= IPV4_HEADER_LEN ? readU16(buf, l3 + IP_TOTAL_LEN) : 0;
    let clamped = false;
    if (verIhl >>> 4 !== 4 || ihl < IPV4_HEADER_LEN || ihl > room || total < ihl || total > room) {
      if (!ipv4Fault(out, buf, l3, limit)) return;
      clamped = true;
    }
    if (!push(out, 'ipv4', l3, ihl)) return;
    if (out.outerIpv4 < 0) out.outerIpv4 = l3;
    if (depth === 1 && out.innerIpv4 < 0) out.innerIpv4 = l3;
    out.ipv4 = l3;
    const l3End = clamped ? limit : l3 + total;
    notePadding(out, l3End, limit, depth);
    const l4 = l3 + ihl;
    const l4Kind =
      (readU16(buf, l3 + IP_FLAGS_FRAG) & IP_FRAGMENT_BITS) !== 0 ? undefined : layerForIpProtocol(buf[l3 + IP_PROTO]!);
    if (l4Kind === undefined) {
      payloadStart = l4;
      payloadEnd = l3End;
      break;
    }
    if (out.outerL4 < 0) out.outerL4 = l4;
    out.l4 = l4;
    out.l4Kind = l4Kind;
    const segment = l3End - l4;

    // ---- ICMP ----
    if (l4Kind === 'icmp') {
      if (segment < ICMP_HEADER_LEN) return hard(out, icmpView.reset(buf, l4).check(l3End)!);
      if (!push(out, 'icmp', l4, ICMP_HEADER_LEN)) return;
      const data = l4 + ICMP_HEADER_LEN;
      if (icmpIsError(buf[l4]!) && l3End - data > 0) out.icmpQuote = data;
      payloadStart = data;
      payloadEnd = l3End;
      break;
    }

    // ---- TCP ----
    if (l4Kind === 'tcp') {
      const thl = segment >= TCP_HEADER_LEN ? (buf[l4 + TCP_DATA_OFFSET]! >>> 4) << 2 : 0;
      if (thl < TCP_HEADER_LEN || thl > segment) return hard(out, tcpView.reset(buf, l4).check(l3End)!);
      if (!push(out, 'tcp', l4, thl)) return;
      payloadStart = l4 + thl;
      payloadEnd = l3End;
      break;
    }

    if (l4Kind !== 'udp') {
      payloadStart = l4;
      payloadEnd = l3End;
      break;
    }

    // ---- UDP ----
    const udpLength = segment >= UDP_HEADER_LEN ? readU16(buf, l4 + UDP_LENGTH) : 0;
    let udpEnd = l4 + udpLength;
    if (udpLength < UDP_HEADER_LEN || udpLength > segment) {
      if (!udpFault(out, buf, l4, l3End)) return;
      udpEnd = l3End;
    }
    if (!push(out, 'udp', l4, UDP_HEADER_LEN)) return;
    const vx = l4 + UDP_HEADER_LEN;
    if (layerForUdpPort(readU16(buf, l4 + UDP_DST_PORT)) !== 'vxlan') {
      payloadStart = vx;
      payloadEnd = udpEnd;
      break;
    }

    // ---- VXLAN, then the inner frame ----
    // Flags exactly I and every reserved byte zero, or the view says what is wrong.
    if (
      udpEnd - vx < VXLAN_HEADER_LEN ||
      buf[vx] !== VXLAN_FLAG_I ||
      buf[vx + 1] !== 0 ||
      buf[vx + 2] !== 0 ||
      buf[vx + 3] !== 0 ||
      buf[vx + VXLAN_RESERVED2] !== 0
    ) {
      if (!vxlanFault(out, buf, vx, udpEnd)) return;
    }
    if (!push(out, 'vxlan', vx, VXLAN_HEADER_LEN)) return;
    if (out.vxlan < 0) {
      out.vxlan = vx;
      out.vni = readU24(buf, vx + VXLAN_VNI);
    }
    off = vx + VXLAN_HEADER_LEN;
    limit = udpEnd;
    depth++;
  }
  payload(out, payloadStart, payloadEnd);
}

// ---- Cold paths: a header that failed its fast test ----

/**
 * Records the IPv4 fault; true when the walk goes on (a datagram longer than the bytes present is decoded over
 * what is there, as Wireshark does).
 */
function ipv4Fault(out: Dissection, buf: Uint8Array, l3: number, limit: number): boolean {
  const ip = ipView.reset(buf, l3);
  const f = ip.check(limit)!;
  if (f.code === 'bad-length' && ip.totalLength > ip.headerLength) {
    soft(out, f);
    return true;
  }
  hard(out, f);
  return false;
}

/** Records the UDP fault; true when the walk goes on (a length past the IP payload: decoded over what is there). */
function udpFault(out: Dissection, buf: Uint8Array, l4: number, l3End: number): boolean {
  const udp = udpView.reset(buf, l4);
  const f = udp.check(l3End)!;
  if (f.code === 'bad-length' && udp.length > UDP_HEADER_LEN) {
    soft(out, f);
    return true;
  }
  hard(out, f);
  return false;
}

/** Records the VXLAN fault; true when the walk goes on (bad flags or reserved bits are soft). */
function vxlanFault(out: Dissection, buf: Uint8Array, vx: number, udpEnd: number): boolean {
  const f = vxlanView.reset(buf, vx).check(udpEnd)!;
  if (f.code === 'truncated') {
    hard(out, f);
    return false;
  }
  soft(out, f);
  return true;
}

/**
 * Checksums are verified after the walk, over the layers it recorded, so the walk's compiled code is the same
 * whether they are asked for or not. A bad checksum is a soft fault met right after its layer was recorded: it
 * only counts when it comes before the walk's first fault, i.e. when its layer's index is below the number of
 * layers recorded at that fault. A layer decoded over fewer bytes than its length says is always preceded by its
 * 'bad-length' fault, so no checksum is ever computed over bytes that are not there.
 */
function verifyChecksums(buf: Uint8Array, out: Dissection): void {
  const before = out.fault === undefined ? out.count : firstFaultAt;
  for (let i = 0; i < before; i++) {
    const f = checksumFault(buf, out, i);
    if (f !== undefined) {
      out.fault = f;
      return;
    }
  }
}

/**
 * The bad-checksum fault of layer i, if it has a checksum and it does not verify. An ICMP, TCP or UDP layer
 * directly follows its IPv4 header's layer, which gives the datagram's end and the pseudo-header's addresses.
 * The addresses are never read as uint32: one >= 2^31 held across a call that is not inlined is a heap number
 * (32 bytes per packet); the checksums take their pseudo-header sum instead.
 */
function checksumFault(buf: Uint8Array, out: Dissection, i: number): Fault | undefined {
  const layer = out.layers[i]!;
  const o = layer.offset;
  const kind = layer.kind;
  if (kind === 'ipv4') {
    const ip = ipView.reset(buf, o);
    return ip.checksumValid()
      ? undefined
      : fault('ipv4', 'bad-checksum', o + 10, `checksum 0x${ip.checksum.toString(16)}`);
  }
  if (kind !== 'icmp' && kind !== 'tcp' && kind !== 'udp') return undefined;
  const ip = ipView.reset(buf, out.layers[i - 1]!.offset);
  const l3End = ip.offset + ip.totalLength;
  if (kind === 'icmp') {
    const icmp = icmpView.reset(buf, o);
    return icmp.checksumValid(l3End - o)
      ? undefined
      : fault('icmp', 'bad-checksum', o + 2, `checksum 0x${icmp.checksum.toString(16)}`);
  }
  if (kind === 'tcp') {
    const tcp = tcpView.reset(buf, o);
    return tcp.checksumValidFromAddressSum(ip.addressSum(), l3End - o)
      ? undefined
      : fault('tcp', 'bad-checksum', o + 16, `checksum 0x${tcp.checksum.toString(16)}`);
  }
  const udp = udpView.reset(buf, o);
  return udp.checksumValidFromAddressSum(ip.addressSum())
    ? undefined
    : fault('udp', 'bad-checksum', o + 6, `checksum 0x${udp.checksum.toString(16)}`);
}
