import { afterEach, describe, expect, it } from 'vitest';
import { ipv4, mac, MAC_BROADCAST, writeU16 } from '../../codecs/bytes.js';
import { ARP_REQUEST, emitArp } from '../../codecs/arp.js';
import { dissect, Dissection, type DissectOptions } from '../../codecs/dissect.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, padEthernetFrame } from '../../codecs/ethernet.js';
import { emitIcmp, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../../codecs/icmp.js';
import { emitIpv4, IPPROTO_ICMP } from '../../codecs/ipv4.js';
import {
  bindUdpPort,
  ethertypeFor,
  ipProtocolFor,
  layerForEthertype,
  layerForIpProtocol,
  layerForUdpPort,
  udpPortFor,
  unbindUdpPort,
} from '../../codecs/registry.js';
import { summarize } from '../../codecs/summary.js';
import { VxlanEncapTemplate } from '../../codecs/vxlan-encap.js';
import { prng, randInt } from '../helpers/prng.js';
import { KERNEL_SYN, KERNEL_VXLAN, OVS_VXLAN } from './goldens.js';

const FULL_OVS = 'eth:ipv4:udp:vxlan:eth:ipv4:udp:payload';
const FULL_KERNEL = 'eth:ipv4:udp:vxlan:eth:ipv4:tcp';
const VERIFY: DissectOptions = { verifyChecksums: true };

function run(b: Uint8Array, opts: DissectOptions = VERIFY, start = 0, end = b.length): Dissection {
  return dissect(b, start, end, new Dissection(), opts);
}

/** A 42-byte ARP request frame (unpadded). */
function arpFrame(): Uint8Array {
  const f = new Uint8Array(42);
  emitEthernet({ dst: MAC_BROADCAST, src: mac('0a:58:0a:83:00:28'), ethertype: ETHERTYPE_ARP }, f, 0);
  emitArp(
    {
      op: ARP_REQUEST,
      senderMac: mac('0a:58:0a:83:00:28'),
      senderIp: ipv4('10.131.0.40'),
      targetMac: 0,
      targetIp: ipv4('10.128.2.24'),
    },
    f,
    14,
  );
  return f;
}

describe('dissect: well-formed frames', () => {
  it('walks the OVS VXLAN frame and fills the convenience offsets', () => {
    const d = run(OVS_VXLAN);
    expect(d.fault).toBeUndefined();
    expect(d.stopped).toBe(false);
    expect(d.protocols).toBe(FULL_OVS);
    expect(d.layers.slice(0, d.count).map((l) => [l.offset, l.length])).toEqual([
      [0, 14],
      [14, 20],
      [34, 8],
      [42, 8],
      [50, 14],
      [64, 20],
      [84, 8],
      [92, 64],
    ]);
    expect({
      eth: d.eth,
      outerIpv4: d.outerIpv4,
      outerL4: d.outerL4,
      vxlan: d.vxlan,
      vni: d.vni,
      innerEth: d.innerEth,
      innerIpv4: d.innerIpv4,
      ipv4: d.ipv4,
      l4: d.l4,
      l4Kind: d.l4Kind,
      payload: d.payload,
      payloadLength: d.payloadLength,
      padding: d.padding,
    }).toEqual({
      eth: 0,
      outerIpv4: 14,
      outerL4: 34,
      vxlan: 42,
      vni: 0,
      innerEth: 50,
      innerIpv4: 64,
      ipv4: 64,
      l4: 84,
      l4Kind: 'udp',
      payload: 92,
      payloadLength: 64,
      padding: 0,
    });
  });

  it('verifies every checksum of the Linux VXLAN frame, the outer UDP one included', () => {
    const d = run(KERNEL_VXLAN);
    expect(d.fault).toBeUndefined();
    expect(d.protocols).toBe(FULL_KERNEL);
    expect(d.vni).toBe(7);
    expect(d.l4).toBe(84);
    expect(d.payload).toBe(-1);
  });

  it('dissects at an offset inside a larger buffer', () => {
    const b = new Uint8Array(300);
    b.set(KERNEL_VXLAN, 77);
    const d = run(b, VERIFY, 77, 77 + KERNEL_VXLAN.length);
    expect(d.protocols).toBe(FULL_KERNEL);
    expect(d.fault).toBeUndefined();
    expect([d.outerIpv4, d.vxlan, d.innerIpv4, d.l4]).toEqual([91, 119, 141, 161]);
  });

  it('reports Ethernet padding of short frames as a padding layer, not payload', () => {
    const syn = new Uint8Array(60);
    syn.set(KERNEL_SYN);
    padEthernetFrame(syn, 0, 54);
    const d = run(syn);
    expect(d.protocols).toBe('eth:ipv4:tcp:padding');
    expect(d.padding).toBe(6);
    expect(d.layers[3]).toEqual({ kind: 'padding', offset: 54, length: 6 });
    const arp = new Uint8Array(60);
    arp.set(arpFrame());
    const da = run(arp);
    expect(da.protocols).toBe('eth:arp:padding');
    expect([da.arp, da.padding]).toEqual([14, 18]);
  });

  it('orders inner padding before outer padding when a padded frame is encapsulated and padded again', () => {
    const buf = new Uint8Array(200);
    buf.set(arpFrame(), 100);
    const innerEnd = padEthernetFrame(buf, 100, 142); // inner ARP frame padded to 60
    const t = new VxlanEncapTemplate({ srcMac: 1, dstMac: 2, srcIp: ipv4('192.168.0.4'), dstIp: ipv4('192.168.0.5') });
    const start = t.encapsulate(buf, 100, innerEnd, 5, 40000, 9);
    buf.fill(0, innerEnd, innerEnd + 4); // a 4-byte outer trailer
    const d = run(buf, VERIFY, start, innerEnd + 4);
    expect(d.fault).toBeUndefined();
    expect(d.protocols).toBe('eth:ipv4:udp:vxlan:eth:arp:padding:padding');
    expect(d.layers.slice(6, 8)).toEqual([
      { kind: 'padding', offset: 142, length: 18 },
      { kind: 'padding', offset: 160, length: 4 },
    ]);
    expect(d.padding).toBe(4);
    // Only the inner frame padded: the outer frame has no padding of its own.
    const inner = run(buf, VERIFY, start, innerEnd);
    expect(inner.protocols).toBe('eth:ipv4:udp:vxlan:eth:arp:padding');
    expect(inner.padding).toBe(0);
  });

  it('walks an 802.1Q tag', () => {
    const f = new Uint8Array(58);
    emitEthernet({ dst: 1, src: 2, vlan: { pcp: 0, dei: false, vid: 42 }, ethertype: ETHERTYPE_IPV4 }, f, 0);
    f.set(KERNEL_SYN.subarray(14), 18);
    const d = run(f);
    expect(d.protocols).toBe('eth:vlan:ipv4:tcp');
    expect(d.layers[1]).toEqual({ kind: 'vlan', offset: 14, length: 4 });
    expect([d.ipv4, d.l4]).toEqual([18, 38]);
  });

  it('does not recurse into the header an ICMP error quotes', () => {
    const quote = KERNEL_SYN.subarray(14, 42);
    const f = new Uint8Array(34 + 8 + quote.length);
    emitEthernet({ dst: 1, src: 2, ethertype: ETHERTYPE_IPV4 }, f, 0);
    emitIpv4({ protocol: IPPROTO_ICMP, src: ipv4('10.131.0.1'), dst: ipv4('10.131.0.40') }, f, 14, 8 + quote.length);
    f.set(quote, 42);
    emitIcmp({ type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, nextHopMtu: 1450 }, f, 34, quote.length);
    const d = run(f);
    expect(d.fault).toBeUndefined();
    expect(d.protocols).toBe('eth:ipv4:icmp:payload');
    expect([d.icmpQuote, d.payload, d.payloadLength, d.l4Kind]).toEqual([42, 42, 28, 'icmp']);
  });

  it('treats fragment data and unknown protocols as payload', () => {
    const frag = KERNEL_SYN.slice();
    writeU16(frag, 20, 0x2000); // MF
    new DataView(frag.buffer).setUint16(24, 0); // checksum no longer matters without verification
    expect(run(frag, {}).protocols).toBe('eth:ipv4:payload');
    const ipv6 = KERNEL_SYN.slice();
    writeU16(ipv6, 12, 0x86dd);
    const d = run(ipv6);
    expect([d.protocols, d.fault, d.payload]).toEqual(['eth:payload', undefined, 14]);
  });

  it('reuses one Dissection without stale results', () => {
    const d = new Dissection();
    dissect(OVS_VXLAN, 0, OVS_VXLAN.length, d);
    dissect(KERNEL_SYN, 0, 20, d);
    expect([d.protocols, d.fault?.code, d.vxlan, d.innerIpv4, d.l4, d.payload]).toEqual([
      'eth',
      'truncated',
      -1,
      -1,
      -1,
      -1,
    ]);
    dissect(KERNEL_SYN, 0, KERNEL_SYN.length, d);
    expect([d.protocols, d.fault, d.stopped]).toEqual(['eth:ipv4:tcp', undefined, false]);
  });
});

/**
 * Expected walk of OVS_VXLAN cut to n bytes, derived from its header layout (eth 0, ip 14, udp 34, vxlan 42,
 * eth 50, ip 64, udp 84, data 92): the first fault, the protocols kept and the fault that stopped the walk.
 */
function expectedCut(n: number): { first: string; protocols: string; stoppedBy: string | undefined } {
  if (n < 14) return { first: 'eth truncated 0', protocols: '', stoppedBy: 'eth truncated 0' };
  if (n < 34) return { first: 'ipv4 truncated 14', protocols: 'eth', stoppedBy: 'ipv4 truncated 14' };
  // From here the outer IPv4 total length (142) exceeds the bytes: recorded first, then decoding goes on.
  const first = 'ipv4 bad-length 16';
  if (n < 42) return { first, protocols: 'eth:ipv4', stoppedBy: 'udp truncated 34' };
  if (n < 50) return { first, protocols: 'eth:ipv4:udp', stoppedBy: 'vxlan truncated 42' };
  if (n < 64) return { first, protocols: 'eth:ipv4:udp:vxlan', stoppedBy: 'eth truncated 50' };
  if (n < 84) return { first, protocols: 'eth:ipv4:udp:vxlan:eth', stoppedBy: 'ipv4 truncated 64' };
  if (n < 92) return { first, protocols: 'eth:ipv4:udp:vxlan:eth:ipv4', stoppedBy: 'udp truncated 84' };
  return { first, protocols: n === 92 ? 'eth:ipv4:udp:vxlan:eth:ipv4:udp' : FULL_OVS, stoppedBy: undefined };
}

const faultText = (f: { layer: string; code: string; offset: number } | undefined) =>
  f && `${f.layer} ${f.code} ${f.offset}`;

describe('dissect: malformed frames', () => {
  it('never throws and keeps the good outer layers when a VXLAN frame is cut at every byte boundary', () => {
    for (let n = 0; n < OVS_VXLAN.length; n++) {
      const d = run(OVS_VXLAN, VERIFY, 0, n);
      const e = expectedCut(n);
      expect(
        { first: faultText(d.fault), protocols: d.protocols, stoppedBy: faultText(d.stoppedBy) },
        `cut at ${n}`,
      ).toEqual(e);
      expect(d.stopped).toBe(e.stoppedBy !== undefined);
    }
    for (let n = 0; n < KERNEL_VXLAN.length; n++) {
      const d = run(KERNEL_VXLAN, VERIFY, 0, n);
      expect(d.fault, `cut at ${n}`).toBeDefined();
      expect(FULL_KERNEL.startsWith(d.protocols), `cut at ${n}: ${d.protocols}`).toBe(true);
    }
  });

  const set =
    (at: number, ...bytes: number[]) =>
    (b: Uint8Array) => {
      b.set(bytes, at);
      return b;
    };
  const flip = (at: number) => (b: Uint8Array) => {
    b[at]! ^= 0x01;
    return b;
  };

  it.each([
    // [name, frame, mutation, options, layer, code, offset, protocols kept]
    ['outer IHL 4', OVS_VXLAN, set(14, 0x44), VERIFY, 'ipv4', 'bad-ihl', 14, 'eth'],
    ['inner IHL 3', OVS_VXLAN, set(64, 0x43), VERIFY, 'ipv4', 'bad-ihl', 64, 'eth:ipv4:udp:vxlan:eth'],
    ['IPv4 version 6', KERNEL_SYN, set(14, 0x65), VERIFY, 'ipv4', 'bad-version', 14, 'eth'],
    ['outer total length past the buffer', OVS_VXLAN, set(16, 0x00, 0xc8), {}, 'ipv4', 'bad-length', 16, FULL_OVS],
    ['total length below the header', KERNEL_SYN, set(16, 0x00, 0x13), VERIFY, 'ipv4', 'bad-length', 16, 'eth'],
    ['a bad outer IPv4 checksum', OVS_VXLAN, flip(25), VERIFY, 'ipv4', 'bad-checksum', 24, FULL_OVS],
    ['a bad inner IPv4 checksum', OVS_VXLAN, flip(75), VERIFY, 'ipv4', 'bad-checksum', 74, FULL_OVS],
    [
      'a bad inner UDP checksum (outer UDP checksum 0)',
      OVS_VXLAN,
      flip(100),
      VERIFY,
      'udp',
      'bad-checksum',
      90,
      FULL_OVS,
    ],
    [
      'a bad inner TCP checksum under a computed outer UDP checksum',
      KERNEL_VXLAN,
      flip(101),
      VERIFY,
      'udp',
      'bad-checksum',
      40,
      FULL_KERNEL,
    ],
    ['a bad TCP checksum', KERNEL_SYN, flip(51), VERIFY, 'tcp', 'bad-checksum', 50, 'eth:ipv4:tcp'],
    [
      'a bad TCP checksum is not checked without verifyChecksums',
      KERNEL_SYN,
      flip(51),
      {},
      undefined,
      undefined,
      undefined,
      'eth:ipv4:tcp',
    ],
    ['the VXLAN I bit clear', OVS_VXLAN, set(42, 0x00), VERIFY, 'vxlan', 'bad-flags', 42, FULL_OVS],
    ['a reserved VXLAN byte nonzero', OVS_VXLAN, set(49, 0x01), VERIFY, 'vxlan', 'reserved-nonzero', 49, FULL_OVS],
    ['a reserved VXLAN flag set', OVS_VXLAN, set(42, 0x88), VERIFY, 'vxlan', 'reserved-nonzero', 42, FULL_OVS],
    ['TCP data offset 4', KERNEL_VXLAN, set(96, 0x40), {}, 'tcp', 'bad-data-offset', 96, 'eth:ipv4:udp:vxlan:eth:ipv4'],
    ['TCP data offset past the segment', KERNEL_SYN, set(46, 0x60), VERIFY, 'tcp', 'bad-data-offset', 46, 'eth:ipv4'],
    ['UDP length 7', OVS_VXLAN, set(38, 0x00, 0x07), VERIFY, 'udp', 'bad-length', 38, 'eth:ipv4'],
    ['ARP hardware type 6', arpFrame(), set(14, 0x00, 0x06), VERIFY, 'arp', 'bad-hardware', 14, 'eth'],
    ['ARP cut to 27 bytes', arpFrame().subarray(0, 41), (b: Uint8Array) => b, VERIFY, 'arp', 'truncated', 14, 'eth'],
  ] as const)('%s', (_name, frame, mutate, opts, layer, code, offset, protocols) => {
    const b = mutate(Uint8Array.from(frame));
    let d: Dissection | undefined;
    expect(() => (d = run(b, opts))).not.toThrow();
    expect(d!.fault && { layer: d!.fault.layer, code: d!.fault.code, offset: d!.fault.offset }).toEqual(
      layer === undefined ? undefined : { layer, code, offset },
    );
    expect(d!.protocols).toBe(protocols);
  });

  it('never throws on randomly corrupted and cut frames (fuzz, 5000 cases), and summarize neither', () => {
    const rand = prng(0xf00d);
    const d = new Dissection();
    for (let i = 0; i < 5000; i++) {
      const src = [OVS_VXLAN, KERNEL_VXLAN, KERNEL_SYN][i % 3]!;
      const b = Uint8Array.from(src);
      for (let k = randInt(rand, 6); k >= 0; k--) b[randInt(rand, b.length)] = randInt(rand, 256);
      const end = rand() < 0.5 ? b.length : randInt(rand, b.length + 1);
      expect(() => dissect(b, 0, end, d, VERIFY)).not.toThrow();
      for (let j = 0; j < d.count; j++) expect(d.layers[j]!.offset + d.layers[j]!.length).toBeLessThanOrEqual(end);
      expect(() => summarize(b, 0, end)).not.toThrow();
    }
  });

  it('stops at 16 layers', () => {
    // VXLAN in VXLAN in VXLAN in VXLAN: 4 x (eth ipv4 udp vxlan) = 16 layers before the innermost frame.
    const t = new VxlanEncapTemplate({ srcMac: 1, dstMac: 2, srcIp: 3, dstIp: 4 });
    const buf = new Uint8Array(400);
    buf.set(KERNEL_SYN, 300);
    let start = 300;
    for (let i = 0; i < 4; i++) start = t.encapsulate(buf, start, 354, i, 40000, 0);
    const d = run(buf, VERIFY, start, 354);
    expect(d.count).toBe(16);
    expect(d.fault).toMatchObject({ code: 'unsupported', offset: 300 });
  });
});

describe('layer registry', () => {
  afterEach(() => unbindUdpPort(8472));

  it('maps both directions', () => {
    expect([
      layerForEthertype(0x0800),
      layerForEthertype(0x0806),
      layerForEthertype(0x8100),
      layerForEthertype(0x86dd),
    ]).toEqual(['ipv4', 'arp', 'vlan', undefined]);
    expect([layerForIpProtocol(1), layerForIpProtocol(6), layerForIpProtocol(17), layerForIpProtocol(47)]).toEqual([
      'icmp',
      'tcp',
      'udp',
      undefined,
    ]);
    expect([layerForUdpPort(4789), layerForUdpPort(8472)]).toEqual(['vxlan', undefined]);
    expect([
      ethertypeFor('ipv4'),
      ethertypeFor('arp'),
      ipProtocolFor('udp'),
      ipProtocolFor('tcp'),
      udpPortFor('vxlan'),
      udpPortFor('tcp'),
    ]).toEqual([0x0800, 0x0806, 17, 6, 4789, undefined]);
  });

  it('dissects VXLAN on another port once bound (like tshark -d udp.port==8472,vxlan)', () => {
    const b = Uint8Array.from(OVS_VXLAN);
    writeU16(b, 36, 8472);
    expect(run(b, {}).protocols).toBe('eth:ipv4:udp:payload');
    bindUdpPort(8472, 'vxlan');
    expect(run(b, {}).protocols).toBe(FULL_OVS);
    expect(udpPortFor('vxlan')).toBe(4789);
  });
});
