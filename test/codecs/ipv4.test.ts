import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, toHex } from '../../codecs/bytes.js';
import { DecodeError } from '../../codecs/errors.js';
import {
  decrementIpv4Ttl,
  emitIpv4,
  ipv4EncodingLength,
  Ipv4View,
  parseIpv4,
  type Ipv4Header,
} from '../../codecs/ipv4.js';
import { KERNEL_SYN, OVS_VXLAN } from './goldens.js';

// Hand-checked against RFC 791: 45 00 | total 0x0054 (84) | id 0x1c46 | DF | ttl 64 | ICMP | csum | 10.131.0.40 -> 10.128.2.24
const GOLDEN = fromHex('4500 0054 1c46 4000 4001 0000 0a83 0028 0a80 0218');

describe('ipv4', () => {
  const h: Ipv4Header = {
    identification: 0x1c46,
    dontFragment: true,
    ttl: 64,
    protocol: 1,
    src: ipv4('10.131.0.40'),
    dst: ipv4('10.128.2.24'),
  };

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

  it('decrementIpv4Ttl at an offset equals a full recompute for every TTL and identification', () => {
    const a = new Uint8Array(7 + 20);
    const full = new Uint8Array(20);
    for (let ttl = 2; ttl <= 255; ttl++) {
      for (let id = 0; id < 0x10000; id += 0x0fff) {
        emitIpv4({ ...h, ttl, identification: id }, a, 7, 64);
        decrementIpv4Ttl(a, 7);
        emitIpv4({ ...h, ttl: ttl - 1, identification: id }, full, 0, 64);
        expect(a.subarray(7)).toEqual(full);
      }
    }
  });

  it('emits the headers Linux and OVS built, checksums included', () => {
    // Linux SYN: 45 00 | 0028 | 1234 | 4000 DF | 40 06 | 115a | 10.131.0.40 -> 10.128.2.24
    const a = new Uint8Array(20);
    emitIpv4(
      { identification: 0x1234, dontFragment: true, protocol: 6, src: ipv4('10.131.0.40'), dst: ipv4('10.128.2.24') },
      a,
      0,
      20,
    );
    expect(toHex(a)).toBe(toHex(KERNEL_SYN, 14, 34));
    // OVS outer header: 45 00 | 008e | 0000 | 4000 DF | 40 11 | b903 | 192.168.0.5 -> 192.168.0.6
    emitIpv4({ dontFragment: true, protocol: 17, src: ipv4('192.168.0.5'), dst: ipv4('192.168.0.6') }, a, 0, 122);
    expect(toHex(a)).toBe(toHex(OVS_VXLAN, 14, 34));
  });

  it('writes options padded to 4 bytes and round trips them', () => {
    const withOptions: Ipv4Header = { ...h, options: Uint8Array.from([0x94, 0x04, 0x00]) }; // router alert, 3 of 4 bytes
    const a = new Uint8Array(40);
    expect(emitIpv4(withOptions, a, 3, 0)).toBe(24);
    expect(a[3]).toBe(0x46);
    expect(toHex(a, 23, 27)).toBe('94040000');
    const v = new Ipv4View(a, 3);
    expect(v.check(27)).toBeUndefined();
    expect(v.checksumValid()).toBe(true);
    const b = new Uint8Array(40);
    emitIpv4(parseIpv4(a, 3, 27), b, 3, 0);
    expect(toHex(b)).toBe(toHex(a));
  });

  it.each([
    ['version 6', 0, 0x65, 'bad-version', 0],
    ['total length below the header', 3, 19, 'bad-length', 2],
    ['total length past the buffer', 3, 85, 'bad-length', 2],
  ] as const)('faults on %s', (_n, at, value, code, offset) => {
    const a = new Uint8Array(84);
    emitIpv4(h, a, 0, 64);
    a[at] = value;
    expect(new Ipv4View(a).check()).toMatchObject({ layer: 'ipv4', code, offset });
  });
});
