import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../codecs/bytes.js';
import { DecodeError } from '../../codecs/errors.js';
import {
  emitVxlan,
  parseVxlan,
  VXLAN_HEADER_LEN,
  VXLAN_OVERHEAD,
  vxlanEncodingLength,
  VxlanView,
} from '../../codecs/vxlan.js';
import { KERNEL_VXLAN, OVS_VXLAN } from './goldens.js';

// RFC 7348: flags 08 (I) | reserved 000000 | VNI (24 bits) | reserved 00. Linux sent VNI 7, OVS VNI 0.
const KERNEL_HDR = toHex(KERNEL_VXLAN, 42, 50); // 0800000000000700
const OVS_HDR = toHex(OVS_VXLAN, 42, 50); // 0800000000000000

describe('vxlan', () => {
  it('emits the headers Linux and OVS sent', () => {
    const b = new Uint8Array(8);
    expect(emitVxlan({ vni: 7 }, b, 0)).toBe(VXLAN_HEADER_LEN);
    expect(toHex(b)).toBe(KERNEL_HDR);
    expect(KERNEL_HDR).toBe('0800000000000700');
    emitVxlan({ vni: 0 }, b, 0);
    expect(toHex(b)).toBe(OVS_HDR);
    emitVxlan({ vni: 0xabcdef }, b, 0);
    expect(toHex(b)).toBe('08000000abcdef00');
  });

  it('clears reserved bytes left over in a reused buffer, and writes explicit flags as given', () => {
    const b = new Uint8Array(8).fill(0xff);
    emitVxlan({ vni: 7 }, b, 0);
    expect(toHex(b)).toBe('0800000000000700');
    emitVxlan({ flags: 0x0c, vni: 7 }, b, 0);
    expect(toHex(b)).toBe('0c00000000000700');
  });

  it('emits identical bytes at a nonzero offset; encodingLength equals bytes written', () => {
    const b = new Uint8Array(40);
    expect(emitVxlan({ vni: 7 }, b, 13)).toBe(vxlanEncodingLength({ vni: 7 }));
    expect(toHex(b, 13, 21)).toBe(KERNEL_HDR);
    expect(VXLAN_OVERHEAD).toBe(14 + 20 + 8 + 8);
  });

  it('round trips emit -> parse -> emit', () => {
    const h = parseVxlan(KERNEL_VXLAN, 42);
    expect(h).toEqual({ flags: 0x08, vni: 7 });
    const b = new Uint8Array(8);
    emitVxlan(h, b, 0);
    expect(toHex(b)).toBe(KERNEL_HDR);
  });

  it('view patches the VNI in place', () => {
    const b = KERNEL_VXLAN.slice();
    const v = new VxlanView(b, 42);
    expect(v.vni).toBe(7);
    expect(v.payloadOffset).toBe(50);
    v.vni = 0x123456;
    expect(toHex(b, 42, 50)).toBe('0800000012345600');
  });

  it.each([
    ['I bit clear', '0000000000000700', 'bad-flags', 0],
    ['a reserved flag bit', '0c00000000000700', 'reserved-nonzero', 0],
    ['GBP-style reserved bytes', '0800001200000700', 'reserved-nonzero', 3],
    ['the last reserved byte', '0800000000000701', 'reserved-nonzero', 7],
  ] as const)('faults on %s', (_n, hex, code, offset) => {
    const b = fromHex('ffff' + hex);
    expect(new VxlanView(b, 2).check()).toMatchObject({ layer: 'vxlan', code, offset: 2 + offset });
    expect(() => parseVxlan(b, 2)).toThrow(DecodeError);
  });

  it('faults on truncation at every byte boundary', () => {
    for (let n = 0; n < 8; n++)
      expect(new VxlanView(KERNEL_VXLAN, 42).check(42 + n)).toMatchObject({ code: 'truncated', offset: 42 });
  });
});
