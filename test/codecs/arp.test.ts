import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, mac, MAC_BROADCAST, toHex } from '../../codecs/bytes.js';
import {
  ARP_LEN,
  ARP_REPLY,
  ARP_REQUEST,
  arpEncodingLength,
  ArpView,
  emitArp,
  parseArp,
  type ArpHeader,
} from '../../codecs/arp.js';
import { DecodeError } from '../../codecs/errors.js';
import { emitEthernet, ETHERTYPE_ARP } from '../../codecs/ethernet.js';
import { hasTshark, tsharkFields } from './tshark-helper.js';

const REQUEST: ArpHeader = {
  op: ARP_REQUEST,
  senderMac: mac('0a:58:0a:83:00:28'),
  senderIp: ipv4('10.131.0.40'),
  targetMac: 0,
  targetIp: ipv4('10.128.2.24'),
};

// Hand-checked against RFC 826: hrd 1 (Ethernet) | pro 0800 | hln 6 | pln 4 | op 1 (request)
// | sha 0a:58:0a:83:00:28 | spa 10.131.0.40 | tha 00:00:00:00:00:00 | tpa 10.128.2.24
const GOLDEN = '0001 0800 06 04 0001 0a580a830028 0a830028 000000000000 0a800218'.replace(/ /g, '');

describe('arp', () => {
  it('emits the RFC 826 golden request', () => {
    const buf = new Uint8Array(28);
    expect(emitArp(REQUEST, buf, 0)).toBe(ARP_LEN);
    expect(toHex(buf)).toBe(GOLDEN);
  });

  it('emits identical bytes at a nonzero offset; encodingLength equals bytes written', () => {
    const b = new Uint8Array(64);
    const n = emitArp(REQUEST, b, 19);
    expect(n).toBe(arpEncodingLength(REQUEST));
    expect(toHex(b, 19, 19 + n)).toBe(GOLDEN);
  });

  it('round trips emit -> parse -> emit', () => {
    const reply: ArpHeader = {
      op: ARP_REPLY,
      senderMac: mac('0a:58:0a:80:02:18'),
      senderIp: ipv4('10.128.2.24'),
      targetMac: mac('0a:58:0a:83:00:28'),
      targetIp: ipv4('10.131.0.40'),
    };
    for (const h of [REQUEST, reply]) {
      const a = new Uint8Array(28);
      emitArp(h, a, 0);
      expect(parseArp(a)).toEqual(h);
      const b = new Uint8Array(28);
      emitArp(parseArp(a), b, 0);
      expect(toHex(b)).toBe(toHex(a));
    }
  });

  it('view setters turn a request into a reply in place', () => {
    const buf = fromHex(GOLDEN);
    const v = new ArpView(buf, 0);
    v.op = ARP_REPLY;
    v.targetMac = v.senderMac;
    v.targetIp = v.senderIp;
    v.senderMac = mac('0a:58:0a:80:02:18');
    v.senderIp = ipv4('10.128.2.24');
    expect(toHex(buf)).toBe('0001080006040002' + '0a580a800218' + '0a800218' + '0a580a830028' + '0a830028');
  });

  it.each([
    ['hardware type 6 (IEEE 802)', 0, '0006', 0],
    ['protocol type IPv6', 2, '86dd', 2],
    ['hardware size 8', 4, '0804', 4],
    ['protocol size 16', 4, '0610', 4],
  ])('faults bad-hardware on %s', (_name, at, hex, offset) => {
    const buf = fromHex('00'.repeat(6) + GOLDEN);
    buf.set(fromHex(hex), 6 + at);
    expect(new ArpView(buf, 6).check()).toMatchObject({ layer: 'arp', code: 'bad-hardware', offset: 6 + offset });
    expect(() => parseArp(buf, 6)).toThrow(DecodeError);
  });

  it('faults on truncation at every byte boundary', () => {
    const buf = fromHex(GOLDEN);
    for (let n = 0; n < 28; n++) expect(new ArpView(buf, 0).check(n)).toMatchObject({ code: 'truncated', offset: 0 });
  });

  it.skipIf(!hasTshark)('tshark decodes the emitted request', () => {
    const frame = new Uint8Array(42);
    emitEthernet({ dst: MAC_BROADCAST, src: REQUEST.senderMac, ethertype: ETHERTYPE_ARP }, frame, 0);
    emitArp(REQUEST, frame, 14);
    const [row] = tsharkFields(
      [frame],
      ['frame.protocols', 'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', '_ws.malformed'],
    );
    expect(row).toEqual({
      'frame.protocols': 'eth:ethertype:arp',
      'arp.opcode': '1',
      'arp.src.hw_mac': '0a:58:0a:83:00:28',
      'arp.src.proto_ipv4': '10.131.0.40',
      'arp.dst.proto_ipv4': '10.128.2.24',
      '_ws.malformed': '',
    });
  });
});
