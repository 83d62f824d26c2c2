import { describe, expect, it } from 'vitest';
import { ipv4, mac, readU16, toHex, writeU16 } from '../../codecs/bytes.js';
import { internetChecksum } from '../../codecs/checksum.js';
import { EncodeError } from '../../codecs/errors.js';
import {
  decapsulate,
  flowHash5,
  VxlanDecapResult,
  VxlanEncapTemplate,
  vxlanSourcePort,
} from '../../codecs/vxlan-encap.js';
import { KERNEL_SYN, KERNEL_VXLAN, OVS_VXLAN } from './goldens.js';
import { prng, randInt } from '../helpers/prng.js';

const OVS_TUNNEL = {
  srcMac: mac('02:00:c0:a8:00:05'),
  dstMac: mac('02:00:c0:a8:00:06'),
  srcIp: ipv4('192.168.0.5'),
  dstIp: ipv4('192.168.0.6'),
};

/** Put `inner` at `at` in a fresh buffer of `size` bytes and encapsulate it; returns [buf, start, end]. */
function encap(
  t: VxlanEncapTemplate,
  inner: Uint8Array,
  at: number,
  vni: number,
  sport: number,
  id: number,
  size = at + inner.length + 16,
): [Uint8Array, number, number] {
  const buf = new Uint8Array(size).fill(0xa5);
  buf.set(inner, at);
  const start = t.encapsulate(buf, at, at + inner.length, vni, sport, id);
  return [buf, start, at + inner.length];
}

describe('VxlanEncapTemplate', () => {
  it('reproduces the frame Open vSwitch tnl_push wrote, byte for byte', () => {
    const t = new VxlanEncapTemplate(OVS_TUNNEL); // ttl 64, DF, port 4789 by default: OVS's own defaults
    const [buf, start, end] = encap(t, OVS_VXLAN.subarray(50), 128, 0, 33963, 0);
    expect(start).toBe(78);
    expect(toHex(buf, start, end)).toBe(toHex(OVS_VXLAN));
  });

  it('reproduces the outer headers a Linux vxlan device wrote (DF unset), except its UDP checksum', () => {
    const t = new VxlanEncapTemplate({
      srcMac: mac('02:00:c0:a8:00:04'),
      dstMac: mac('02:00:c0:a8:00:05'),
      srcIp: ipv4('192.168.0.4'),
      dstIp: ipv4('192.168.0.5'),
      df: false,
    });
    const [buf, start, end] = encap(t, KERNEL_SYN, 60, 7, 41918, 0xea4f);
    const expected = KERNEL_VXLAN.slice();
    writeU16(expected, 40, 0); // Linux computed the outer UDP checksum (udpcsum); OpenShift's OVS sends 0
    expect(toHex(buf, start, end)).toBe(toHex(expected));
  });

  it('writes nothing outside [innerStart - 50, innerStart) and never touches the inner frame', () => {
    const t = new VxlanEncapTemplate(OVS_TUNNEL);
    const [buf, start, end] = encap(t, KERNEL_SYN, 100, 1, 40000, 1, 300);
    expect(buf[start - 1]).toBe(0xa5);
    expect(buf[end]).toBe(0xa5);
    expect(toHex(buf, start + 50, end)).toBe(toHex(KERNEL_SYN));
  });

  it('throws without 50 bytes of headroom', () => {
    const t = new VxlanEncapTemplate(OVS_TUNNEL);
    expect(() => t.encapsulate(new Uint8Array(200), 49, 100, 0, 40000, 0)).toThrow(EncodeError);
  });

  it('patches the outer IPv4 checksum to what a full recompute gives (property, 5000 packets)', () => {
    const rand = prng(0x5eed);
    for (let i = 0; i < 5000; i++) {
      const t = new VxlanEncapTemplate({
        srcMac: randInt(rand, 2 ** 48),
        dstMac: randInt(rand, 2 ** 48),
        srcIp: randInt(rand, 2 ** 32),
        dstIp: randInt(rand, 2 ** 32),
        ttl: randInt(rand, 256),
        df: rand() < 0.5,
        tos: randInt(rand, 256),
      });
      const innerLen = 14 + randInt(rand, 1500);
      const [buf, start] = encap(
        t,
        new Uint8Array(innerLen),
        50 + randInt(rand, 8),
        randInt(rand, 1 << 24),
        randInt(rand, 65536),
        randInt(rand, 65536),
      );
      const ip = start + 14;
      const got = readU16(buf, ip + 10);
      writeU16(buf, ip + 10, 0);
      expect(got).toBe(internetChecksum(buf, ip, 20));
      expect(readU16(buf, ip + 2)).toBe(innerLen + 36);
      expect(readU16(buf, ip + 24)).toBe(innerLen + 16);
    }
  });
});

/** The kernel's udp_flow_src_port arithmetic in BigInt u32/u64, as an independent reference. */
function kernelSrcPort(hash: number, min: number, max: number): number {
  let h = BigInt(hash >>> 0);
  h = (h ^ (h << 16n)) & 0xffffffffn;
  return Number(((h * BigInt(max - min)) >> 32n) + BigInt(min));
}

describe('vxlanSourcePort and flowHash5', () => {
  it('follows udp_flow_src_port exactly', () => {
    expect(vxlanSourcePort(0)).toBe(32768);
    // 0xffffffff ^ 0xffff0000 = 0x0000ffff: a tiny product, so the minimum again.
    expect(vxlanSourcePort(0xffffffff)).toBe(32768);
    // 0x0000ffff ^ 0xffff0000 = 0xffffffff: the top of the range.
    expect(vxlanSourcePort(0x0000ffff)).toBe(60999);
    const rand = prng(7);
    for (let i = 0; i < 5000; i++) {
      const h = randInt(rand, 2 ** 32);
      expect(vxlanSourcePort(h)).toBe(kernelSrcPort(h, 32768, 61000));
      expect(vxlanSourcePort(h, 32768, 60999)).toBe(kernelSrcPort(h, 32768, 60999));
    }
  });

  it('hashes a flow deterministically and symmetrically, and spreads flows over the port range', () => {
    const a = ipv4('10.131.0.40'),
      b = ipv4('10.128.2.24');
    expect(flowHash5(a, b, 6, 41000, 1433)).toBe(flowHash5(a, b, 6, 41000, 1433));
    expect(flowHash5(a, b, 6, 41000, 1433)).toBe(flowHash5(b, a, 6, 1433, 41000));
    expect(flowHash5(a, b, 6, 41000, 1433)).not.toBe(flowHash5(a, b, 6, 41001, 1433));
    expect(flowHash5(a, b, 6, 41000, 1433)).not.toBe(flowHash5(a, b, 17, 41000, 1433));
    expect(flowHash5(a, b, 6, 41000, 1433, 1)).not.toBe(flowHash5(a, b, 6, 41000, 1433, 2));
    // 20 000 flows differing only in source port into 16 buckets: each near 1250.
    const buckets = new Array<number>(16).fill(0);
    for (let p = 20000; p < 40000; p++) buckets[(vxlanSourcePort(flowHash5(a, b, 6, p, 1433)) - 32768) >>> 11]! += 1;
    for (const n of buckets.slice(0, 13)) expect(Math.abs(n - 1450)).toBeLessThan(250); // 28232/2048 ≈ 13.8 buckets
  });
});

describe('decapsulate', () => {
  it('finds the inner frame, VNI and tunnel addresses of the OVS and Linux frames', () => {
    const out = new VxlanDecapResult();
    expect(decapsulate(OVS_VXLAN, 0, OVS_VXLAN.length, out)).toBe(50);
    expect(out).toMatchObject({
      innerStart: 50,
      innerEnd: 156,
      vni: 0,
      tunSrc: ipv4('192.168.0.5'),
      tunDst: ipv4('192.168.0.6'),
      srcPort: 33963,
      code: undefined,
    });
    // Linux's nonzero outer UDP checksum is verified too.
    expect(decapsulate(KERNEL_VXLAN, 0, KERNEL_VXLAN.length, out)).toBe(50);
    expect(out).toMatchObject({ innerEnd: 104, vni: 7, srcPort: 41918, code: undefined });
  });

  it('round trips encapsulate -> decapsulate at an offset', () => {
    const t = new VxlanEncapTemplate(OVS_TUNNEL);
    const [buf, start, end] = encap(t, KERNEL_SYN, 128, 0x00abcd, 50000, 77, 400);
    const out = new VxlanDecapResult();
    expect(decapsulate(buf, start, end, out)).toBe(128);
    expect([out.innerEnd, out.vni, out.srcPort]).toEqual([end, 0xabcd, 50000]);
  });

  it.each([
    ['a short frame', (b: Uint8Array) => b.subarray(0, 10), 'eth', 'truncated', 0],
    [
      'an ARP ethertype',
      (b: Uint8Array) => {
        b[13] = 0x06;
        return b;
      },
      'eth',
      'unsupported',
      12,
    ],
    [
      'IPv4 version 6',
      (b: Uint8Array) => {
        b[14] = 0x65;
        return b;
      },
      'ipv4',
      'bad-version',
      14,
    ],
    [
      'IHL 4',
      (b: Uint8Array) => {
        b[14] = 0x44;
        return b;
      },
      'ipv4',
      'bad-ihl',
      14,
    ],
    ['total length past the frame', (b: Uint8Array) => b.subarray(0, 155), 'ipv4', 'bad-length', 16],
    [
      'a fragment',
      (b: Uint8Array) => {
        b[20] = 0x20;
        return b;
      },
      'ipv4',
      'unsupported',
      20,
    ],
    [
      'TCP',
      (b: Uint8Array) => {
        b[23] = 6;
        return b;
      },
      'ipv4',
      'unsupported',
      23,
    ],
    [
      'a bad IPv4 checksum',
      (b: Uint8Array) => {
        b[25]! ^= 1;
        return b;
      },
      'ipv4',
      'bad-checksum',
      24,
    ],
    [
      'UDP port 8472',
      (b: Uint8Array) => {
        writeU16(b, 36, 8472);
        return b;
      },
      'udp',
      'unsupported',
      36,
    ],
    [
      'UDP length 7',
      (b: Uint8Array) => {
        writeU16(b, 38, 7);
        return b;
      },
      'udp',
      'bad-length',
      38,
    ],
    [
      'a bad nonzero UDP checksum',
      (b: Uint8Array) => {
        writeU16(b, 40, 0x1234);
        return b;
      },
      'udp',
      'bad-checksum',
      40,
    ],
    [
      'the I bit clear',
      (b: Uint8Array) => {
        b[42] = 0;
        return b;
      },
      'vxlan',
      'bad-flags',
      42,
    ],
    [
      'a reserved flag',
      (b: Uint8Array) => {
        b[42] = 0x88;
        return b;
      },
      'vxlan',
      'reserved-nonzero',
      42,
    ],
    [
      'the last reserved byte',
      (b: Uint8Array) => {
        b[49] = 1;
        return b;
      },
      'vxlan',
      'reserved-nonzero',
      49,
    ],
  ] as const)('rejects %s', (_n, mutate, layer, code, offset) => {
    const b = mutate(OVS_VXLAN.slice());
    const out = new VxlanDecapResult();
    expect(decapsulate(b, 0, b.length, out)).toBe(-1);
    expect(out.toFault()).toEqual({ layer, code, offset });
  });

  it('rejects a VXLAN payload too short for an inner Ethernet header', () => {
    const t = new VxlanEncapTemplate(OVS_TUNNEL);
    const [buf, start, end] = encap(t, new Uint8Array(13), 64, 1, 40000, 0);
    const out = new VxlanDecapResult();
    expect(decapsulate(buf, start, end, out)).toBe(-1);
    expect(out.toFault()).toEqual({ layer: 'eth', code: 'truncated', offset: 64 });
  });
});
