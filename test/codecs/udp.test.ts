import { describe, expect, it } from 'vitest';
import { ipv4, readU16, toHex } from '../../codecs/bytes.js';
import { DecodeError } from '../../codecs/errors.js';
import {
  emitUdp,
  parseUdp,
  udpChecksumUpdate16,
  udpEncodingLength,
  UdpView,
  type UdpHeader,
} from '../../codecs/udp.js';
import { KERNEL_VXLAN, OVS_VXLAN } from './goldens.js';

// Linux vxlan device, outer UDP of KERNEL_VXLAN: a3be (41918) | 12b5 (4789) | 0046 (70) | 9bfe, 192.168.0.4 -> .5.
const K_SRC = ipv4('192.168.0.4'),
  K_DST = ipv4('192.168.0.5');
const K_UDP = 34,
  K_PAYLOAD = KERNEL_VXLAN.subarray(42);
// OVS, inner UDP of OVS_VXLAN: 04d2 (1234) | 162e (5678) | 0048 (72) | e94a, 10.131.0.5 -> 10.129.2.7, data 00..3f.
const O_SRC = ipv4('10.131.0.5'),
  O_DST = ipv4('10.129.2.7');
const O_UDP = 84,
  O_PAYLOAD = OVS_VXLAN.subarray(92);

/** Emit header `h` with `payload` into a fresh buffer at `at`. */
function emitWith(
  h: UdpHeader,
  payload: Uint8Array,
  at = 0,
  src?: number,
  dst?: number,
  size = at + 8 + payload.length,
): Uint8Array {
  const buf = new Uint8Array(size);
  buf.set(payload, at + 8);
  expect(emitUdp(h, buf, at, payload.length, src, dst)).toBe(8);
  return buf;
}

describe('udp', () => {
  it('computes the checksum Linux computed over a whole VXLAN payload', () => {
    const b = emitWith({ srcPort: 41918, dstPort: 4789 }, K_PAYLOAD, 0, K_SRC, K_DST);
    expect(toHex(b, 0, 8)).toBe(toHex(KERNEL_VXLAN, K_UDP, K_UDP + 8));
  });

  it('computes the checksum OVS forwarded for a pod datagram', () => {
    const b = emitWith({ srcPort: 1234, dstPort: 5678 }, O_PAYLOAD, 0, O_SRC, O_DST);
    expect(toHex(b)).toBe(toHex(OVS_VXLAN, O_UDP));
  });

  it('writes checksum 0 ("none") when told to or without addresses, and explicit values as given', () => {
    expect(toHex(emitWith({ srcPort: 33963, dstPort: 4789, checksum: 0 }, K_PAYLOAD, 0, K_SRC, K_DST), 0, 8)).toBe(
      '84ab12b500460000',
    );
    expect(toHex(emitWith({ srcPort: 33963, dstPort: 4789 }, K_PAYLOAD), 0, 8)).toBe('84ab12b500460000');
    const bad = emitWith({ srcPort: 1, dstPort: 2, checksum: 0xbeef }, O_PAYLOAD, 0, O_SRC, O_DST);
    expect(readU16(bad, 6)).toBe(0xbeef);
    expect(new UdpView(bad).checksumValid(O_SRC, O_DST)).toBe(false);
    expect(() => parseUdp(bad, 0, bad.length, O_SRC, O_DST)).toThrow(DecodeError);
    // A zero checksum always verifies: it means "not computed" (RFC 768).
    expect(new UdpView(OVS_VXLAN, K_UDP).checksumValid(1, 2)).toBe(true);
  });

  it('sends a computed checksum of 0 as 0xffff', () => {
    // Choose the first two payload bytes so the ones'-complement sum is 0xffff (checksum 0): if the checksum with
    // that word zero is c, then adding c to the sum gives ~c + c = 0xffff.
    const payload = new Uint8Array(10);
    payload.set([0x12, 0x34, 0x56], 2);
    const c = readU16(emitWith({ srcPort: 1000, dstPort: 2000 }, payload, 0, O_SRC, O_DST), 6);
    payload[0] = c >>> 8;
    payload[1] = c & 0xff;
    const b = emitWith({ srcPort: 1000, dstPort: 2000 }, payload, 0, O_SRC, O_DST);
    expect(readU16(b, 6)).toBe(0xffff);
    expect(new UdpView(b).checksumValid(O_SRC, O_DST)).toBe(true);
    const v = new UdpView(b);
    v.fillChecksum(O_SRC, O_DST);
    expect(v.checksum).toBe(0xffff);
  });

  it('emits identical bytes at a nonzero offset; encodingLength equals bytes written', () => {
    const b = emitWith({ srcPort: 1234, dstPort: 5678 }, O_PAYLOAD, 29, O_SRC, O_DST, 200);
    expect(toHex(b, 29, 29 + 72)).toBe(toHex(OVS_VXLAN, O_UDP));
    expect(udpEncodingLength({ srcPort: 1, dstPort: 2 })).toBe(8);
  });

  it('round trips emit -> parse -> emit', () => {
    const parsed = parseUdp(OVS_VXLAN, O_UDP, OVS_VXLAN.length, O_SRC, O_DST);
    expect(parsed).toEqual({ srcPort: 1234, dstPort: 5678, length: 72, checksum: 0xe94a });
    expect(toHex(emitWith(parsed, O_PAYLOAD))).toBe(toHex(OVS_VXLAN, O_UDP));
  });

  it('view reads fields and payload bounds', () => {
    const v = new UdpView(OVS_VXLAN, O_UDP);
    expect(v.check()).toBeUndefined();
    expect([v.srcPort, v.dstPort, v.length, v.payloadOffset, v.payloadLength]).toEqual([1234, 5678, 72, 92, 64]);
    expect(v.checksumValid(O_SRC, O_DST)).toBe(true);
  });

  it.each([
    ['7 bytes', (b: Uint8Array) => b.subarray(0, 7), 'truncated', 0],
    [
      'length 7',
      (b: Uint8Array) => {
        b[5] = 7;
        return b;
      },
      'bad-length',
      4,
    ],
    ['length past the data', (b: Uint8Array) => b.subarray(0, 71), 'bad-length', 4],
  ] as const)('faults on %s', (_n, mutate, code, offset) => {
    const b = mutate(OVS_VXLAN.slice(O_UDP));
    expect(new UdpView(b).check()).toMatchObject({ layer: 'udp', code, offset });
  });

  it('keeps "no checksum" through incremental updates', () => {
    expect(udpChecksumUpdate16(0, 1234, 4321)).toBe(0);
  });
});
