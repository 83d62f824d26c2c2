import { describe, expect, it } from 'vitest';
import { fromHex, mac, toHex } from '../../codecs/bytes.js';
import { DecodeError, EncodeError } from '../../codecs/errors.js';
import {
  emitEthernet,
  ETHERNET_MIN_FRAME,
  ethernetEncodingLength,
  EthernetView,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  padEthernetFrame,
  parseEthernet,
  type EthernetHeader,
} from '../../codecs/ethernet.js';
import { KERNEL_SYN } from './goldens.js';
import { hasTshark, tsharkFields } from './tshark-helper.js';

const POD_A = mac('0a:58:0a:83:00:28');
const POD_B = mac('0a:58:0a:80:02:18');

// First 14 bytes of the Linux-built SYN: dst 0a:58:0a:80:02:18 | src 0a:58:0a:83:00:28 | type 0x0800.
const UNTAGGED: EthernetHeader = { dst: POD_B, src: POD_A, ethertype: ETHERTYPE_IPV4 };
// Hand-checked against IEEE 802.1Q: TPID 8100, TCI = PCP 5 (101) DEI 1 VID 10 = 1011 0000 0000 1010 = b00a.
const TAGGED: EthernetHeader = {
  dst: POD_B,
  src: POD_A,
  vlan: { pcp: 5, dei: true, vid: 10 },
  ethertype: ETHERTYPE_IPV4,
};
const TAGGED_GOLDEN = '0a580a800218' + '0a580a830028' + '8100' + 'b00a' + '0800';

describe('ethernet', () => {
  it('emits the header of a frame Linux built', () => {
    const buf = new Uint8Array(14);
    expect(emitEthernet(UNTAGGED, buf, 0)).toBe(14);
    expect(toHex(buf)).toBe(toHex(KERNEL_SYN, 0, 14));
  });

  it('emits an 802.1Q tag', () => {
    const buf = new Uint8Array(18);
    expect(emitEthernet(TAGGED, buf, 0)).toBe(18);
    expect(toHex(buf)).toBe(TAGGED_GOLDEN);
  });

  it('emits identical bytes at a nonzero offset; encodingLength equals bytes written', () => {
    for (const h of [UNTAGGED, TAGGED]) {
      const a = new Uint8Array(18);
      const b = new Uint8Array(64);
      const n = emitEthernet(h, a, 0);
      expect(emitEthernet(h, b, 23)).toBe(n);
      expect(ethernetEncodingLength(h)).toBe(n);
      expect(toHex(b, 23, 23 + n)).toBe(toHex(a, 0, n));
      expect(b[22]).toBe(0);
      expect(b[23 + n]).toBe(0);
    }
  });

  it('round trips emit -> parse -> emit', () => {
    for (const h of [UNTAGGED, TAGGED]) {
      const a = new Uint8Array(18);
      const n = emitEthernet(h, a, 0);
      const parsed = parseEthernet(a, 0, n);
      expect(parsed.header).toEqual(h);
      expect(parsed.payloadOffset).toBe(n);
      const b = new Uint8Array(18);
      emitEthernet(parsed.header, b, 0);
      expect(toHex(b)).toBe(toHex(a));
    }
  });

  it('view reads and writes fields in place', () => {
    const buf = fromHex('ff'.repeat(4) + TAGGED_GOLDEN);
    const v = new EthernetView(buf, 4);
    expect(v.check()).toBeUndefined();
    expect(v.tagged).toBe(true);
    expect(v.vlanId).toBe(10);
    expect(v.vlanPcp).toBe(5);
    expect(v.vlanDei).toBe(true);
    expect(v.ethertype).toBe(ETHERTYPE_IPV4);
    expect(v.headerLength).toBe(18);
    expect(v.payloadOffset).toBe(22);
    v.src = mac('02:00:c0:a8:00:05');
    v.ethertype = ETHERTYPE_ARP;
    expect(toHex(buf, 4)).toBe('0a580a800218' + '0200c0a80005' + '8100b00a' + '0806');
    const plain = new EthernetView(KERNEL_SYN, 0);
    expect(plain.vlanId).toBe(-1);
    expect(plain.dst).toBe(POD_B);
    expect(plain.src).toBe(POD_A);
  });

  it('reports padding after the L3 datagram when a short frame is padded to 60 bytes', () => {
    const buf = new Uint8Array(80).fill(0xee);
    buf.set(KERNEL_SYN, 10);
    const end = padEthernetFrame(buf, 10, 10 + KERNEL_SYN.length);
    expect(end).toBe(10 + ETHERNET_MIN_FRAME);
    expect(toHex(buf, 10 + 54, end)).toBe('000000000000');
    expect(buf[end]).toBe(0xee);
    expect(parseEthernet(buf, 10, end).padding).toBe(6);
    expect(parseEthernet(KERNEL_SYN).padding).toBe(0);
    // Long enough frames are left alone; no room to pad is an error.
    expect(padEthernetFrame(buf, 0, 70)).toBe(70);
    expect(() => padEthernetFrame(new Uint8Array(54), 0, 54)).toThrow(EncodeError);
  });

  it('faults on truncation of the header and of the tag', () => {
    expect(new EthernetView(new Uint8Array(13)).check()).toMatchObject({ layer: 'eth', code: 'truncated', offset: 0 });
    const tagged = fromHex(TAGGED_GOLDEN).subarray(0, 16);
    expect(new EthernetView(tagged).check()).toMatchObject({ layer: 'vlan', code: 'truncated', offset: 14 });
    expect(() => parseEthernet(tagged)).toThrow(DecodeError);
  });

  it.skipIf(!hasTshark)('tshark reads the 802.1Q tag as emitted', () => {
    const frame = new Uint8Array(60);
    emitEthernet({ ...TAGGED, ethertype: 0x88b5 }, frame, 0); // 0x88b5: IEEE local experimental, shown as data
    const [row] = tsharkFields([frame], ['vlan.id', 'vlan.priority', 'vlan.dei', 'vlan.etype', 'eth.src', 'eth.dst']);
    expect(row).toEqual({
      'vlan.id': '10',
      'vlan.priority': '5',
      'vlan.dei': '1',
      'vlan.etype': '0x88b5',
      'eth.src': '0a:58:0a:83:00:28',
      'eth.dst': '0a:58:0a:80:02:18',
    });
  });
});
