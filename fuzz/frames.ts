/**
 * Frames for fuzzing, as fast-check arbitraries: well-formed frames built with the codecs' emitters (Ethernet,
 * optionally VLAN-tagged; ARP; IPv4 with options or fragments; ICMP echo and errors; UDP; TCP with options; VXLAN
 * carrying an inner frame), random bytes, and well-formed frames mutated (bits flipped, bytes overwritten,
 * truncated, extended). Addresses, MACs and ports are drawn mostly from a `Vocabulary` — the real pods, services,
 * nodes and MACs of the cluster being fuzzed — so that mutated frames get deep into a walk, not only to the first
 * MAC check.
 */

import fc from 'fast-check';
import { MAC_BROADCAST } from '../codecs/bytes.js';
import { emitArp } from '../codecs/arp.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../codecs/ethernet.js';
import { emitIcmp } from '../codecs/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../codecs/ipv4.js';
import { emitTcp } from '../codecs/tcp.js';
import { emitUdp } from '../codecs/udp.js';
import { emitVxlan } from '../codecs/vxlan.js';

/** Values worth using in frames for one cluster. */
export interface Vocabulary {
  ips: number[];
  macs: number[];
  ports: number[];
}

/** Everything a frame builder needs, drawn up front (fast-check shrinks these). */
interface FrameParts {
  dstMac: number;
  srcMac: number;
  vlan: boolean;
  kind: 'arp' | 'tcp' | 'udp' | 'icmp' | 'vxlan' | 'ip-other';
  src: number;
  dst: number;
  sport: number;
  dport: number;
  ttl: number;
  df: boolean;
  fragment: number;
  ipOptions: number;
  tcpFlags: number;
  tcpOptions: number;
  icmpType: number;
  icmpCode: number;
  badChecksum: boolean;
  payload: Uint8Array;
  inner: FrameParts | null;
}

/** True one time in five. */
const rarely = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mac48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });

function partsArb(v: Vocabulary, depth: number): fc.Arbitrary<FrameParts> {
  const ip = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...v.ips) }, { weight: 1, arbitrary: u32 });
  const mac = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...v.macs) },
    { weight: 1, arbitrary: fc.constant(MAC_BROADCAST) },
    { weight: 1, arbitrary: mac48 },
  );
  const port = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...v.ports, 4789) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) },
  );
  const kinds =
    depth > 0
      ? (['arp', 'tcp', 'udp', 'icmp', 'vxlan', 'ip-other'] as const)
      : (['arp', 'tcp', 'udp', 'icmp', 'ip-other'] as const);
  return fc.record({
    dstMac: mac,
    srcMac: mac,
    vlan: rarely,
    kind: fc.constantFrom(...kinds),
    src: ip,
    dst: ip,
    sport: port,
    dport: port,
    ttl: fc.oneof(fc.constant(64), fc.integer({ min: 0, max: 255 })),
    df: fc.boolean(),
    fragment: fc.oneof(
      { weight: 5, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 0x3fff }) },
    ),
    ipOptions: fc.oneof(
      { weight: 5, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) },
    ),
    tcpFlags: fc.oneof(fc.constantFrom(0x02, 0x10, 0x12, 0x18, 0x11, 0x04, 0x14), fc.integer({ min: 0, max: 0x1ff })),
    tcpOptions: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) },
    ),
    icmpType: fc.oneof(fc.constantFrom(0, 3, 8, 11), fc.integer({ min: 0, max: 255 })),
    icmpCode: fc.oneof(fc.constantFrom(0, 1, 3, 4), fc.integer({ min: 0, max: 255 })),
    badChecksum: rarely,
    payload: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1300, maxLength: 1600 }) },
    ),
    inner: depth > 0 ? fc.option(partsArb(v, depth - 1), { nil: null, freq: 2 }) : fc.constant(null),
  });
}

/** Build the frame `p` describes into a fresh buffer (header fields the codecs compute are computed). */
export function buildFrame(p: FrameParts): Uint8Array {
  const buf = new Uint8Array(4096);
  const n = writeFrame(p, buf, 0);
  return buf.slice(0, n);
}

function writeFrame(p: FrameParts, buf: Uint8Array, o: number): number {
  const ethLen = emitEthernet(
    {
      dst: p.dstMac,
      src: p.srcMac,
      ethertype: p.kind === 'arp' ? ETHERTYPE_ARP : ETHERTYPE_IPV4,
      vlan: p.vlan ? { pcp: 0, dei: false, vid: 5 } : undefined,
    },
    buf,
    o,
  );
  const l3 = o + ethLen;
  if (p.kind === 'arp') {
    emitArp(
      { op: p.icmpType & 1 ? 1 : 2, senderMac: p.srcMac, senderIp: p.src, targetMac: 0, targetIp: p.dst },
      buf,
      l3,
    );
    return l3 + 28 - o;
  }
  const options = p.ipOptions ? optionBytes(p.ipOptions, 0x01) : undefined;
  const ipLen = 20 + (options ? (options.length + 3) & ~3 : 0);
  const l4 = l3 + ipLen;
  let l4Len: number;
  let proto: number;
  switch (p.kind) {
    case 'tcp': {
      proto = IPPROTO_TCP;
      const opts = p.tcpOptions ? optionBytes(p.tcpOptions, 0x01) : undefined;
      const hl = 20 + (opts ? (opts.length + 3) & ~3 : 0);
      buf.set(p.payload, l4 + hl);
      emitTcp(
        {
          srcPort: p.sport,
          dstPort: p.dport,
          seq: p.src ^ p.dst,
          ack: p.dst,
          flags: p.tcpFlags,
          window: 502,
          options: opts,
          checksum: p.badChecksum ? 0x1234 : undefined,
        },
        buf,
        l4,
        p.payload.length,
        p.src,
        p.dst,
      );
      l4Len = hl + p.payload.length;
      break;
    }
    case 'udp':
    case 'vxlan': {
      proto = IPPROTO_UDP;
      let payLen = p.payload.length;
      if (p.kind === 'vxlan') {
        emitVxlan({ vni: p.sport & 0xffffff }, buf, l4 + 8);
        payLen = 8 + (p.inner ? writeFrame(p.inner, buf, l4 + 16) : 0);
      } else buf.set(p.payload, l4 + 8);
      const dport = p.kind === 'vxlan' ? 4789 : p.dport;
      emitUdp(
        { srcPort: p.sport, dstPort: dport, checksum: p.kind === 'vxlan' ? 0 : p.badChecksum ? 0x1234 : undefined },
        buf,
        l4,
        payLen,
        p.src,
        p.dst,
      );
      l4Len = 8 + payLen;
      break;
    }
    case 'icmp': {
      proto = IPPROTO_ICMP;
      // An error quotes an inner IPv4 header + 8 bytes (RFC 792); an echo carries the payload.
      let payLen = p.payload.length;
      if ((p.icmpType === 3 || p.icmpType === 11) && p.inner && p.inner.kind !== 'arp') {
        const innerLen = writeFrame(p.inner, buf, l4 + 8 - 14) - 14; // write the inner frame so its IPv4 header lands at l4+8
        payLen = Math.min(innerLen, 28 + (p.inner.ipOptions ? 40 : 0));
      } else buf.set(p.payload, l4 + 8);
      emitIcmp(
        {
          type: p.icmpType,
          code: p.icmpCode,
          identifier: p.sport,
          sequence: 1,
          checksum: p.badChecksum ? 0x1234 : undefined,
        },
        buf,
        l4,
        payLen,
      );
      l4Len = 8 + payLen;
      break;
    }
    default:
      proto = 47; // GRE: a protocol nobody here handles
      buf.set(p.payload, l4);
      l4Len = p.payload.length;
  }
  emitIpv4(
    {
      protocol: proto,
      src: p.src,
      dst: p.dst,
      ttl: p.ttl,
      dontFragment: p.df,
      moreFragments: p.fragment > 0 && (p.fragment & 1) === 1,
      fragmentOffset: p.fragment >> 1,
      identification: p.sport,
      options,
    },
    buf,
    l3,
    l4Len,
  );
  return l4 + l4Len - o;
}

/** `n` bytes of IP/TCP options: NOPs (`fill`) and an end-of-list, as a sender pads them. */
function optionBytes(n: number, fill: number): Uint8Array {
  const b = new Uint8Array(n).fill(fill);
  b[n - 1] = 0;
  return b;
}

/** One mutation of a frame. */
type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.constantFrom(0, 0xff, 0x45, 0x46, 0x4f, 0x08, 0x06, 0x11, 0x12, 0x80),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
  },
);

/** Apply mutations to a copy of `frame` (offsets wrap around its length). */
export function mutate(frame: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let f = Uint8Array.from(frame);
  for (const m of muts) {
    if (f.length === 0) break;
    if (m.op === 'flip') f[m.at % f.length]! ^= 1 << m.bit;
    else if (m.op === 'set') f[m.at % f.length] = m.value;
    else if (m.op === 'truncate') f = f.slice(0, m.at % f.length);
    else {
      const g = new Uint8Array(f.length + m.bytes.length);
      g.set(f);
      g.set(m.bytes, f.length);
      f = g;
    }
  }
  return f;
}

/** Well-formed frames for a vocabulary (VXLAN nests one inner frame). */
export function wellFormedFrame(v: Vocabulary): fc.Arbitrary<Uint8Array> {
  return partsArb(v, 1).map(buildFrame);
}

/** Fuzz input: a well-formed frame (1 in 4), a mutated one (2 in 4), or random bytes (1 in 4). */
export function fuzzFrame(v: Vocabulary): fc.Arbitrary<Uint8Array> {
  const wf = wellFormedFrame(v);
  return fc.oneof(
    { weight: 1, arbitrary: wf },
    {
      weight: 2,
      arbitrary: fc.tuple(wf, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([f, m]) => mutate(f, m)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  );
}
