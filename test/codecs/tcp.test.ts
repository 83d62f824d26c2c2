import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, mac, readU16, toHex } from '../../codecs/bytes.js';
import { DecodeError } from '../../codecs/errors.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import { emitIpv4, IPPROTO_TCP } from '../../codecs/ipv4.js';
import {
  emitTcp,
  parseTcp,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_NS,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  tcpEncodingLength,
  tcpFlagsToString,
  TcpView,
  type TcpHeader,
} from '../../codecs/tcp.js';
import { KERNEL_NAT_REPLY_SENT, KERNEL_SYN } from './goldens.js';
import { hasTshark, tsharkFields } from './tshark-helper.js';

const POD_A = ipv4('10.131.0.40'),
  POD_B = ipv4('10.128.2.24'),
  MASQ = ipv4('198.51.100.1');
// Linux SYN (KERNEL_SYN from byte 34): a028 (41000) | 0599 (1433) | seq 000003e8 | ack 0 | 50 (off 5) | 02 SYN
// | faf0 (64240) | f405 | urg 0
const SYN: TcpHeader = { srcPort: 41000, dstPort: 1433, seq: 1000, ack: 0, flags: TCP_SYN, window: 64240 };
// Linux server's SYN-ACK (KERNEL_NAT_REPLY_SENT from byte 34), 10.128.2.24 -> 198.51.100.1:
// 0599 | a028 | seq 5eed0001 | ack 000003e9 | 50 | 12 SYN+ACK | ffff | 706d | 0
const SYN_ACK: TcpHeader = {
  srcPort: 1433,
  dstPort: 41000,
  seq: 0x5eed0001,
  ack: 1001,
  flags: TCP_SYN | TCP_ACK,
  window: 65535,
};

function emitWith(h: TcpHeader, payload: Uint8Array, src: number, dst: number, at = 0, size?: number): Uint8Array {
  const hl = tcpEncodingLength(h);
  const buf = new Uint8Array(size ?? at + hl + payload.length);
  buf.set(payload, at + hl);
  expect(emitTcp(h, buf, at, payload.length, src, dst)).toBe(hl);
  return buf;
}

describe('tcp', () => {
  it('emits the SYN Linux built, checksum included', () => {
    expect(toHex(emitWith(SYN, new Uint8Array(0), POD_A, POD_B))).toBe(toHex(KERNEL_SYN, 34));
  });

  it('emits the SYN-ACK a Linux server sent, checksum included', () => {
    expect(toHex(emitWith(SYN_ACK, new Uint8Array(0), POD_B, MASQ))).toBe(toHex(KERNEL_NAT_REPLY_SENT, 34));
  });

  it('pads options to 4 bytes, computes the data offset and carries NS in the offset byte', () => {
    // MSS 1460 (02 04 05b4) + SACK permitted (04 02) = 6 bytes -> 8 with padding, data offset 7.
    const h: TcpHeader = { ...SYN, flags: TCP_SYN | TCP_ECE | TCP_CWR | TCP_NS, options: fromHex('020405b40402') };
    const b = emitWith(h, new Uint8Array(0), POD_A, POD_B);
    expect(b.length).toBe(28);
    expect(toHex(b, 12, 14)).toBe('71c2');
    expect(toHex(b, 20, 28)).toBe('020405b404020000');
    const v = new TcpView(b);
    expect([v.dataOffset, v.headerLength, v.flags, v.payloadOffset]).toEqual([
      7,
      28,
      TCP_SYN | TCP_ECE | TCP_CWR | TCP_NS,
      28,
    ]);
    expect(v.checksumValid(POD_A, POD_B, 28)).toBe(true);
  });

  it('writes an explicit checksum and data offset as given', () => {
    const b = emitWith({ ...SYN, checksum: 0xdead, dataOffset: 4 }, new Uint8Array(0), POD_A, POD_B);
    expect(readU16(b, 16)).toBe(0xdead);
    expect(b[12]).toBe(0x40);
    expect(new TcpView(b).check()).toMatchObject({ layer: 'tcp', code: 'bad-data-offset', offset: 12 });
  });

  it('emits identical bytes at a nonzero offset; encodingLength equals bytes written', () => {
    const payload = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    const h: TcpHeader = { ...SYN_ACK, flags: TCP_PSH | TCP_ACK, options: fromHex('0101080a0000000100000002') };
    const a = emitWith(h, payload, POD_B, MASQ);
    const b = emitWith(h, payload, POD_B, MASQ, 41, 200);
    expect(toHex(b, 41, 41 + a.length)).toBe(toHex(a));
    expect(tcpEncodingLength(h)).toBe(32);
  });

  it('round trips emit -> parse -> emit', () => {
    const payload = Buffer.from('hello');
    for (const h of [
      SYN,
      SYN_ACK,
      { ...SYN, flags: TCP_FIN | TCP_ACK | TCP_NS, urgentPointer: 3, options: fromHex('01010402') },
    ]) {
      const a = emitWith(h, payload, POD_A, POD_B);
      const parsed = parseTcp(a, 0, a.length, POD_A, POD_B);
      expect(toHex(emitWith(parsed, payload, POD_A, POD_B))).toBe(toHex(a));
    }
  });

  it('view setters patch fields and fillChecksum repairs the checksum', () => {
    const b = KERNEL_SYN.slice(34);
    const v = new TcpView(b);
    v.flags = TCP_SYN | TCP_ACK;
    v.seq = 0xfffffffe;
    expect(v.seq).toBe(0xfffffffe);
    expect(v.checksumValid(POD_A, POD_B, 20)).toBe(false);
    v.fillChecksum(POD_A, POD_B, 20);
    expect(v.checksumValid(POD_A, POD_B, 20)).toBe(true);
    expect(() => parseTcp(KERNEL_SYN, 34, 54, POD_A, POD_A)).toThrow(DecodeError);
  });

  it.each([
    ['19 bytes', 19, 0x50, 'truncated', 0],
    ['data offset 4', 20, 0x40, 'bad-data-offset', 12],
    ['data offset 0', 20, 0x00, 'bad-data-offset', 12],
    ['data offset 6 in a 20-byte segment', 20, 0x60, 'bad-data-offset', 12],
    ['data offset 15', 40, 0xf0, 'bad-data-offset', 12],
  ] as const)('faults on %s', (_n, len, offByte, code, offset) => {
    const b = new Uint8Array(40);
    b.set(KERNEL_SYN.subarray(34), 0);
    b[12] = offByte;
    expect(new TcpView(b).check(len)).toMatchObject({ layer: 'tcp', code, offset });
  });

  it("prints flags with tcpdump's letters in tcpdump's order", () => {
    expect(tcpFlagsToString(TCP_SYN)).toBe('S');
    expect(tcpFlagsToString(TCP_SYN | TCP_ACK)).toBe('S.');
    expect(tcpFlagsToString(TCP_PSH | TCP_ACK)).toBe('P.');
    expect(tcpFlagsToString(TCP_FIN | TCP_ACK)).toBe('F.');
    expect(tcpFlagsToString(TCP_RST)).toBe('R');
    expect(tcpFlagsToString(0xff)).toBe('FSRP.UEW');
    expect(tcpFlagsToString(TCP_URG | TCP_ACK)).toBe('.U');
    expect(tcpFlagsToString(0)).toBe('none');
  });

  it.skipIf(!hasTshark)('tshark validates the emitted checksum, options and flags', () => {
    const payload = Buffer.from('0123456789');
    const h: TcpHeader = { ...SYN, flags: TCP_SYN | TCP_ECE | TCP_CWR | TCP_NS, options: fromHex('020405b40402') };
    const hl = tcpEncodingLength(h);
    const f = new Uint8Array(34 + hl + payload.length);
    emitEthernet({ dst: mac('0a:58:0a:80:02:18'), src: mac('0a:58:0a:83:00:28'), ethertype: ETHERTYPE_IPV4 }, f, 0);
    emitIpv4({ protocol: IPPROTO_TCP, src: POD_A, dst: POD_B, dontFragment: true }, f, 14, hl + payload.length);
    f.set(payload, 34 + hl);
    emitTcp(h, f, 34, payload.length, POD_A, POD_B);
    const [row] = tsharkFields(
      [f],
      ['tcp.checksum.status', 'tcp.hdr_len', 'tcp.options.mss_val', 'tcp.flags.ae', 'tcp.flags.str', 'tcp.len'],
    );
    expect(row).toMatchObject({
      'tcp.checksum.status': '1',
      'tcp.hdr_len': '28',
      'tcp.options.mss_val': '1460',
      'tcp.flags.ae': '1',
      'tcp.len': '10',
    });
  });
});
